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

"""
Detections as objects standing on the floor: the one rule the safety gate and the mapper share.

The rule: a detection is an object of a kind (person, forklift, ...) when any of its hypotheses
names a class of that kind with a score of at least min_score, not only its best one: a box the
detector thinks is a person at 0.45 and a carton at 0.5 is treated as a person, because for
safety a likely person counts. A detection can so count for several kinds. Below min_score a
hypothesis counts for nothing. The object stands where the middle of the box's bottom edge meets
the floor through the camera; a box that reaches the image's bottom edge is cut off: its feet
are out of view and the object is nearer than the floor the camera sees, which each consumer
handles in its own documented way.
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from perception.core.sensor_points import feet_on_floor, Mount


@dataclass(frozen=True)
class BoxDetection:
    """A detection in pixels: box centre and size, and its (class, score) hypotheses."""

    cx: float
    cy: float
    width: float
    height: float
    hypotheses: Tuple[Tuple[str, float], ...]


@dataclass(frozen=True)
class FloorObject:
    """A detection that counts as an object of some kind, and where it stands."""

    kind: str
    score: float
    point: Optional[Tuple[float, float]]   # base frame; None when cut off or above the horizon
    cut_off: bool


def floor_objects(detections: Sequence[BoxDetection], kinds: Dict[str, str],
                  min_score: float, image_height: int,
                  intrinsics: Optional[Tuple[float, float, float, float]],
                  mount: Mount) -> List[FloorObject]:
    """
    Apply the rule to a frame's detections.

    kinds maps class labels to the kind they count as (e.g. {'person': 'person'}); labels not
    in it are ignored. Without intrinsics (no camera_info yet) objects still count, with no
    floor position.
    """
    out = []
    for det in detections:
        best: Dict[str, float] = {}
        for label, score in det.hypotheses:
            kind = kinds.get(label)
            if kind is not None and score >= min_score:
                best[kind] = max(best.get(kind, 0.0), score)
        if not best:
            continue
        point, cut_off = (None, False) if intrinsics is None else feet_on_floor(
            det.cx, det.cy + det.height / 2, image_height, intrinsics, mount)
        out.extend(FloorObject(kind, score, point, cut_off) for kind, score in best.items())
    return out
