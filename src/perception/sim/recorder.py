# Copyright 2026 The perception authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Ground truth of a simulated run, as JSON lines a test or a report can read."""

import json
import os
from typing import Dict, List, Optional

from perception.sim.world import World


class GroundTruthRecorder:
    """
    Writes the ground truth of a run, one JSON object per line.

    Records: 'scenario' (layout), 'step' (poses, distances), 'frame' (boxes in a camera frame),
    'collision', 'safety' (the gate's state as the simulator heard it change), and a final
    'summary'.
    """

    def __init__(self, path: str, world: World):
        self.path = path
        self.world = world
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        self._stream = open(path, 'w', encoding='utf-8')
        self._collisions_written = 0
        self.min_distance: Dict[str, float] = {}
        self.frames = 0
        self.steps = 0
        self._write({'type': 'scenario', 'name': world.scenario.name,
                     'source': world.scenario.source, 'floor': world.scenario.floor,
                     'objects': world.classes,
                     'footprints': {k: [list(p) for p in v]
                                    for k, v in world.object_footprints().items()},
                     'robot': {'length': world.robot.length, 'width': world.robot.width}})

    def _write(self, record: dict) -> None:
        self._stream.write(json.dumps(record, separators=(',', ':')) + '\n')

    def step(self) -> dict:
        """Record the state now; return it."""
        record = self.world.ground_truth()
        for name, entry in record['objects'].items():
            self.min_distance[name] = min(self.min_distance.get(name, float('inf')),
                                          entry['distance'])
        self._write(dict(type='step', **record))
        self.steps += 1
        for event in self.world.collisions[self._collisions_written:]:
            self._write({'type': 'collision', 't': round(event.time, 4), 'name': event.name,
                         'class': event.kind, 'speed': round(event.speed, 3)})
        self._collisions_written = len(self.world.collisions)
        return record

    def event(self, kind: str, **values) -> None:
        """Record something that happened now (kind 'safety': the gate's state changed)."""
        self._write({'type': kind, 't': round(self.world.time, 4), **values})

    def frame(self, stamp_ns: int, boxes: List[dict]) -> None:
        """Record the ground-truth boxes of a published camera frame."""
        self._write({'type': 'frame', 't': round(self.world.time, 4), 'stamp_ns': stamp_ns,
                     'boxes': boxes})
        self.frames += 1

    def close(self, extra: Optional[dict] = None) -> dict:
        """Write the summary and close the file; return the summary."""
        summary = {'type': 'summary', 'scenario': self.world.scenario.name,
                   'sim_time': round(self.world.time, 4),
                   'collisions': [{'t': round(e.time, 4), 'name': e.name, 'class': e.kind,
                                   'speed': round(e.speed, 3)} for e in self.world.collisions],
                   'min_distance': {k: round(v, 4) for k, v in self.min_distance.items()},
                   'steps': self.steps, 'frames': self.frames}
        summary.update(extra or {})
        self._write(summary)
        self._stream.close()
        return summary


def read_ground_truth(path: str, cut_short_ok: bool = False) -> List[dict]:
    """
    Read every record of a ground-truth file.

    With cut_short_ok, a last line that is not whole (a simulator killed while writing it) is
    left out instead of raising ValueError.
    """
    with open(path, encoding='utf-8') as stream:
        lines = [line for line in stream if line.strip()]
    records = []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except ValueError:
            if cut_short_ok and i == len(lines) - 1:
                break
            raise
    return records
