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

"""Planar geometry on convex polygons: footprints, overlaps and distances."""

import math
from typing import List, Sequence, Tuple

Point = Tuple[float, float]


def rectangle(center: Point, length: float, width: float, yaw: float = 0.0) -> List[Point]:
    """Corners (counter-clockwise) of a rectangle centred at center, rotated by yaw."""
    c, s = math.cos(yaw), math.sin(yaw)
    half = ((length / 2, width / 2), (-length / 2, width / 2), (-length / 2, -width / 2),
            (length / 2, -width / 2))
    return [(center[0] + c * x - s * y, center[1] + s * x + c * y) for x, y in half]


def _project(polygon: Sequence[Point], axis: Point) -> Tuple[float, float]:
    values = [p[0] * axis[0] + p[1] * axis[1] for p in polygon]
    return min(values), max(values)


def _axes(polygon: Sequence[Point]):
    for a, b in zip(polygon, list(polygon[1:]) + [polygon[0]]):
        edge = (b[0] - a[0], b[1] - a[1])
        norm = math.hypot(*edge)
        if norm > 0:
            yield (-edge[1] / norm, edge[0] / norm)


def polygons_overlap(a: Sequence[Point], b: Sequence[Point], margin: float = 0.0) -> bool:
    """Tell whether two convex polygons overlap by more than -margin (separating axes)."""
    for axis in list(_axes(a)) + list(_axes(b)):
        a0, a1 = _project(a, axis)
        b0, b1 = _project(b, axis)
        if a1 < b0 - margin or b1 < a0 - margin:
            return False
    return True


def point_segment_distance(p: Point, a: Point, b: Point) -> float:
    """Distance from a point to a segment."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    along = (p[0] - a[0]) * dx + (p[1] - a[1]) * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, along / length2))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def polygon_distance(a: Sequence[Point], b: Sequence[Point]) -> float:
    """Distance between two convex polygons; 0 when they touch or overlap."""
    if polygons_overlap(a, b):
        return 0.0
    edges_a = list(zip(a, list(a[1:]) + [a[0]]))
    edges_b = list(zip(b, list(b[1:]) + [b[0]]))
    return min(min(point_segment_distance(p, *e) for p in a for e in edges_b),
               min(point_segment_distance(p, *e) for p in b for e in edges_a))


def circle_polygon(center: Point, radius: float, sides: int = 12) -> List[Point]:
    """Return a regular polygon around a circle (a conservative round footprint)."""
    r = radius / math.cos(math.pi / sides)
    return [(center[0] + r * math.cos(2 * math.pi * i / sides),
             center[1] + r * math.sin(2 * math.pi * i / sides)) for i in range(sides)]
