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

"""What happened in a simulated run: figures and a top-down picture, from its ground truth."""

import json
import math
import os
from typing import Dict, List, Optional

import cv2
import numpy as np

from perception.sim.actors import ACTOR_TYPES, by_class

COLORS = {  # BGR, by class
    'rack': (150, 90, 40), 'pallet': (60, 120, 170), 'box': (90, 160, 210),
    'wall': (120, 120, 120),
    **{t.detection_class: t.plan_color for t in ACTOR_TYPES.values()},
}
#: What a robot must not touch: actors, pallets and loose boxes.
WATCHED = {t.detection_class for t in ACTOR_TYPES.values()} | {'pallet', 'box'}


def stops(steps: List[dict], speed: float = 0.05, hold: float = 0.5) -> List[dict]:
    """List when the robot came to rest after moving (below `speed` for `hold` seconds)."""
    out, moving, since = [], False, None
    for record in steps:
        v = abs(record['robot']['v'])
        if v > 2 * speed:
            moving, since = True, None
        elif moving and v < speed:
            since = record['t'] if since is None else since
            if record['t'] - since >= hold:
                out.append({'t': since, 'x': record['robot']['x'], 'y': record['robot']['y']})
                moving, since = False, None
    return out


def summarize(records: List[dict]) -> dict:
    """Figures of a run: route, stops, clearances to people and forklifts, collisions."""
    scenario = next(r for r in records if r['type'] == 'scenario')
    steps = [r for r in records if r['type'] == 'step']
    summary = next((r for r in records if r['type'] == 'summary'), {})
    collisions = [r for r in records if r['type'] == 'collision']
    frames = [r for r in records if r['type'] == 'frame']
    travelled = sum(math.hypot(b['robot']['x'] - a['robot']['x'], b['robot']['y'] -
                               a['robot']['y']) for a, b in zip(steps, steps[1:]))
    # Clearance to what a robot must not touch (cartons on shelves sit inside their rack's
    # footprint).
    watched = {name for name, kind in scenario['objects'].items()
               if kind in WATCHED and '~' not in name}
    clearance = {name: min((s['objects'][name]['distance'] for s in steps), default=None)
                 for name in sorted(watched)}
    seen: Dict[str, int] = {}
    for frame in frames:
        for box in frame['boxes']:
            seen[box['class']] = seen.get(box['class'], 0) + 1
    return {
        'scenario': scenario['name'],
        'sim_time_s': steps[-1]['t'] if steps else 0.0,
        'distance_travelled_m': round(travelled, 3),
        'final_pose': steps[-1]['robot'] if steps else None,
        'max_speed_mps': round(max((abs(s['robot']['v']) for s in steps), default=0.0), 3),
        'stops': stops(steps),
        'collisions': collisions,
        'min_clearance_m': clearance,
        'camera_frames': len(frames),
        'frames_with_class': seen,
        'realtime_factor': summary.get('realtime_factor'),
    }


def draw_plan(records: List[dict], path: str, scale: float = 40.0) -> None:
    """Draw the warehouse from above: layout, the robot's path, its stops, people, collisions."""
    scenario = next(r for r in records if r['type'] == 'scenario')
    steps = [r for r in records if r['type'] == 'step']
    (x0, x1), (y0, y1) = scenario['floor']
    margin = 20
    width = int((x1 - x0) * scale) + 2 * margin
    height = int((y1 - y0) * scale) + 2 * margin + 60

    def px(x, y):
        return (int(margin + (x - x0) * scale), int(margin + (y1 - y) * scale))

    image = np.full((height, width, 3), 255, np.uint8)
    cv2.rectangle(image, px(x0, y1), px(x1, y0), (225, 225, 225), -1)
    for name, corners in scenario['footprints'].items():
        kind = scenario['objects'][name]
        if by_class(kind):
            continue  # actors move: drawn below
        cv2.fillPoly(image, [np.array([px(*c) for c in corners], np.int32)], COLORS[kind])
    # Actors over time: a faint trail, and where each was at the robot's stops.
    stop_times = [s['t'] for s in stops(steps)]
    for name, kind in scenario['objects'].items():
        if not by_class(kind):
            continue
        trail = [px(s['objects'][name]['x'], s['objects'][name]['y']) for s in steps]
        for a, b in zip(trail, trail[1:]):
            cv2.line(image, a, b, tuple(int(c * 0.5 + 127) for c in COLORS[kind]), 2)
        for t in stop_times + ([steps[-1]['t']] if steps else []):
            record = min(steps, key=lambda s: abs(s['t'] - t))
            cv2.circle(image, px(record['objects'][name]['x'], record['objects'][name]['y']),
                       int(0.3 * scale), COLORS[kind], -1)
        if trail:
            cv2.putText(image, name, (trail[-1][0] + 8, trail[-1][1] - 8),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    path_px = [px(s['robot']['x'], s['robot']['y']) for s in steps]
    for a, b in zip(path_px, path_px[1:]):
        cv2.line(image, a, b, (60, 160, 60), 3)
    length, width_m = scenario['robot']['length'], scenario['robot']['width']
    for stop in stops(steps):
        record = min(steps, key=lambda s: abs(s['t'] - stop['t']))
        r = record['robot']
        c, s_ = math.cos(r['yaw']), math.sin(r['yaw'])
        corners = [(r['x'] + c * dx - s_ * dy, r['y'] + s_ * dx + c * dy)
                   for dx, dy in ((length / 2, width_m / 2), (-length / 2, width_m / 2),
                                  (-length / 2, -width_m / 2), (length / 2, -width_m / 2))]
        cv2.polylines(image, [np.array([px(*p) for p in corners], np.int32)], True,
                      (0, 0, 0), 2)
        cv2.putText(image, f'stop t={stop["t"]:.1f}s', px(r['x'] - 0.8, r['y'] + 0.6),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for event in (r for r in records if r['type'] == 'collision'):
        record = min(steps, key=lambda s: abs(s['t'] - event['t']))
        x, y = px(record['robot']['x'], record['robot']['y'])
        cv2.drawMarker(image, (x, y), (0, 0, 255), cv2.MARKER_TILTED_CROSS, 28, 4)
    if path_px:
        cv2.circle(image, path_px[0], 6, (60, 160, 60), -1)
    legend = ', '.join(['robot path (green)', 'stops (black outline)', 'collisions (red X)']
                       + [t.plan_legend for t in ACTOR_TYPES.values()]
                       + ['racks (blue)', 'pallets (brown)'])
    legend = f'{scenario["name"]}: {legend}'
    cv2.putText(image, legend, (margin, height - 30), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(path, image)


def write_report(records: List[dict], directory: str, extra: Optional[dict] = None) -> dict:
    """Write report.json, report.md and plan.png into directory; return the figures."""
    os.makedirs(directory, exist_ok=True)
    figures = summarize(records)
    figures.update(extra or {})
    draw_plan(records, os.path.join(directory, 'plan.png'))
    with open(os.path.join(directory, 'report.json'), 'w', encoding='utf-8') as stream:
        json.dump(figures, stream, indent=2)
    stop_text = ', '.join(f't={s["t"]:.1f} s at ({s["x"]:.2f}, {s["y"]:.2f})'
                          for s in figures['stops']) or 'none'
    collision_text = ', '.join(f'{c["name"]} ({c["class"]}) at t={c["t"]:.2f} s, '
                               f'{c["speed"]:.2f} m/s' for c in figures['collisions']) or 'none'
    clearance_text = ', '.join(f'{name} {d:.2f} m' for name, d in
                               figures['min_clearance_m'].items()) or 'nothing watched'
    seen_text = ', '.join(f'{k}: {v}' for k, v in
                          sorted(figures['frames_with_class'].items())) or 'nothing'
    lines = [f'# Simulated run: {figures["scenario"]}', '', '![plan](plan.png)', '',
             f'- simulated time: {figures["sim_time_s"]:.1f} s, distance travelled '
             f'{figures["distance_travelled_m"]:.1f} m, top speed {figures["max_speed_mps"]} m/s',
             f'- real-time factor: {figures["realtime_factor"]}',
             f'- stops: {stop_text}',
             f'- collisions: {collision_text}',
             f'- closest approach: {clearance_text}',
             f'- camera frames with ground truth: {figures["camera_frames"]}; frames showing '
             f'{seen_text}']
    for key, value in (extra or {}).items():
        lines.append(f'- {key}: {value}')
    with open(os.path.join(directory, 'report.md'), 'w', encoding='utf-8') as stream:
        stream.write('\n'.join(lines) + '\n')
    return figures
