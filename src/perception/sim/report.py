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

from dataclasses import dataclass
import json
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

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

FONT = cv2.FONT_HERSHEY_SIMPLEX
LABEL_SCALE = 0.45
Rect = Tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, ends excluded


@dataclass(frozen=True)
class Label:
    """A text placed on the plan: where it is drawn and the pixels it covers."""

    text: str
    anchor: Tuple[int, int]  # the pixel it names
    origin: Tuple[int, int]  # cv2.putText's origin: the left end of the baseline
    rect: Rect  # the pixels the text covers, with a pixel of padding
    leader: bool  # placed away from its anchor: a line joins them


def _disjoint(a: Rect, b: Rect) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def _nearest_point(rect: Rect, point: Tuple[int, int]) -> Tuple[int, int]:
    return (min(max(point[0], rect[0]), rect[2] - 1), min(max(point[1], rect[1]), rect[3] - 1))


def _candidates(anchor: Tuple[int, int], box: Tuple[int, int], offset: int, reach: float):
    """Yield top-left corners for a label, best first, and whether each is beside the anchor."""
    (ax, ay), (box_w, box_h) = anchor, box
    # The four sides of the anchor, and centred above and below it.
    for x, y in ((ax + offset, ay - offset - box_h), (ax - offset - box_w, ay - offset - box_h),
                 (ax + offset, ay + offset), (ax - offset - box_w, ay + offset),
                 (ax - box_w // 2, ay - offset - box_h), (ax - box_w // 2, ay + offset)):
        yield x, y, True
    # Then rings around it, one label height apart, out to `reach`.
    step = box_h + 2
    for ring in range(1, int(reach / step) + 2):
        radius = offset + ring * step
        turns = max(8, int(2 * math.pi * radius / step))
        for k in range(turns):
            angle = -math.pi / 2 + 2 * math.pi * k / turns
            cx, cy = ax + radius * math.cos(angle), ay + radius * math.sin(angle)
            yield int(round(cx - box_w / 2)), int(round(cy - box_h / 2)), False


def place_labels(labels: Sequence[Tuple[str, Tuple[int, int]]], size: Tuple[int, int],
                 taken: Sequence[Rect] = (), scale: float = LABEL_SCALE, thickness: int = 1,
                 offset: int = 8) -> List[Label]:
    """
    Place texts near their anchors so that no two overlap, nor any rectangle in taken.

    Greedy, in the order given: beside the anchor (above right first), then on rings around it
    further and further out, over the whole picture (a leader line then joins label and
    anchor). A label that finds no room in the picture (width, height) goes in a row below it,
    so none is ever dropped or drawn over another; the caller makes room there.
    """
    width, height = size
    placed: List[Rect] = list(taken)
    # No label hides a point another one names.
    anchors = [(ax - 2, ay - 2, ax + 3, ay + 3) for _text, (ax, ay) in labels]
    out: List[Label] = []
    overflow_y = height
    for text, anchor in labels:
        (w, h), base = cv2.getTextSize(text, FONT, scale, thickness)
        box = (w + 2, h + base + 2)  # a pixel of padding around the ink
        blocked = placed + anchors
        rect, beside = None, False
        for x, y, near in _candidates(anchor, box, offset, math.hypot(width, height)):
            candidate = (x, y, x + box[0], y + box[1])
            if (x >= 0 and y >= 0 and candidate[2] <= width and candidate[3] <= height and
                    all(_disjoint(candidate, r) for r in blocked)):
                rect, beside = candidate, near
                break
        if rect is None:  # no room in the picture: a row below it
            rect = (0, overflow_y, box[0], overflow_y + box[1])
            overflow_y += box[1]
        placed.append(rect)
        out.append(Label(text, anchor, (rect[0] + 1, rect[3] - 1 - base), rect, not beside))
    return out


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


def final_stop(steps: List[dict], watched, speed: float = 0.05) -> Optional[dict]:
    """
    Say whether the robot ended the run standing still, since when, and how close to what.

    The stop counts from the last moment the robot moved; the clearance is, at the end, the
    distance from its footprint to the nearest object it must not touch.
    """
    if not steps or abs(steps[-1]['robot']['v']) >= speed:
        return None
    since = steps[0]['t']
    for record in reversed(steps):
        if abs(record['robot']['v']) >= speed:
            since = record['t']
            break
    distances = {name: steps[-1]['objects'][name]['distance'] for name in watched}
    nearest = min(distances, key=distances.get, default=None)
    return {'since_t': round(since, 2), 'held_s': round(steps[-1]['t'] - since, 2),
            'nearest': nearest,
            'clearance_m': None if nearest is None else round(distances[nearest], 3),
            'x': steps[-1]['robot']['x'], 'y': steps[-1]['robot']['y']}


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
        'stopped_at_end': final_stop(steps, watched),
        'collisions': collisions,
        'min_clearance_m': clearance,
        'camera_frames': len(frames),
        'frames_with_class': seen,
        'realtime_factor': summary.get('realtime_factor'),
    }


def draw_plan(records: List[dict], path: str, scale: float = 40.0) -> List[Label]:
    """
    Draw the warehouse from above: layout, the robot's path, its stops, people, collisions.

    Return the labels as placed (none overlaps another, see place_labels).
    """
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
    labels = []  # (text, anchor), placed once everything else is drawn
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
            labels.append((name, trail[-1]))
    path_px = [px(s['robot']['x'], s['robot']['y']) for s in steps]
    for a, b in zip(path_px, path_px[1:]):
        cv2.line(image, a, b, (60, 160, 60), 3)
    length, width_m = scenario['robot']['length'], scenario['robot']['width']
    outlines: List[Rect] = []  # labels keep off the stopped robot's outlines
    for stop in stops(steps):
        record = min(steps, key=lambda s: abs(s['t'] - stop['t']))
        r = record['robot']
        c, s_ = math.cos(r['yaw']), math.sin(r['yaw'])
        corners = [(r['x'] + c * dx - s_ * dy, r['y'] + s_ * dx + c * dy)
                   for dx, dy in ((length / 2, width_m / 2), (-length / 2, width_m / 2),
                                  (-length / 2, -width_m / 2), (length / 2, -width_m / 2))]
        outline = np.array([px(*p) for p in corners], np.int32)
        cv2.polylines(image, [outline], True, (0, 0, 0), 2)
        x_min, y_min = outline.min(axis=0)
        x_max, y_max = outline.max(axis=0)
        outlines.append((int(x_min) - 1, int(y_min) - 1, int(x_max) + 2, int(y_max) + 2))
        # Named at the top of its outline, so the label sits beside the robot, not on it.
        top = ((int(x_min) + int(x_max)) // 2, int(y_min) - 1)
        labels.append((f'stop t={stop["t"]:.1f}s', top))
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
    cv2.putText(image, legend, (margin, height - 30), FONT, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    (legend_w, legend_h), base = cv2.getTextSize(legend, FONT, 0.42, 1)
    legend_rect = (margin - 1, height - 30 - legend_h - 1, margin + legend_w + 1,
                   height - 30 + base + 1)
    placed = place_labels(labels, (width, height), taken=[legend_rect] + outlines)
    bottom = max([height] + [label.rect[3] for label in placed])
    if bottom > height:  # labels that found no room go in rows below the legend
        image = np.vstack([image, np.full((bottom - height, width, 3), 255, np.uint8)])
    for label in placed:
        if label.leader:
            cv2.line(image, label.anchor, _nearest_point(label.rect, label.anchor),
                     (90, 90, 90), 1, cv2.LINE_AA)
    for label in placed:
        # A pale box under the text keeps it legible over lines and leader lines.
        x0, y0, x1, y1 = label.rect
        image[y0:y1, x0:x1] = (image[y0:y1, x0:x1] * 0.3 + 255 * 0.7).astype(np.uint8)
        cv2.putText(image, label.text, label.origin, FONT, LABEL_SCALE, (0, 0, 0), 1,
                    cv2.LINE_AA)
    cv2.imwrite(path, image)
    return placed


def _final_text(final: Optional[dict]) -> str:
    if final is None:
        return 'moving'
    where = (f', {final["clearance_m"]:.2f} m from {final["nearest"]}' if final['nearest']
             else '')
    return (f'stopped since t={final["since_t"]:.1f} s and stayed stopped to the end '
            f'({final["held_s"]:.1f} s){where}')


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
             f'- at the end: {_final_text(figures["stopped_at_end"])}',
             f'- collisions: {collision_text}',
             f'- closest approach: {clearance_text}',
             f'- camera frames with ground truth: {figures["camera_frames"]}; frames showing '
             f'{seen_text}']
    for key, value in (extra or {}).items():
        lines.append(f'- {key}: {value}')
    with open(os.path.join(directory, 'report.md'), 'w', encoding='utf-8') as stream:
        stream.write('\n'.join(lines) + '\n')
    return figures
