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

"""Planar geometry on convex polygons: footprints, overlaps, distances."""

import math

import pytest

from perception.core.geometry import circle_polygon, point_segment_distance
from perception.core.geometry import polygon_distance, polygons_overlap, rectangle


def test_rectangle_corners_are_counter_clockwise_and_rotated():
    corners = rectangle((1.0, 2.0), 2.0, 1.0)
    assert corners == [(2.0, 2.5), (0.0, 2.5), (0.0, 1.5), (2.0, 1.5)]
    turned = rectangle((0.0, 0.0), 2.0, 1.0, math.pi / 2)
    assert turned[0] == pytest.approx((-0.5, 1.0))


def test_overlap_by_separating_axes():
    a = rectangle((0.0, 0.0), 1.0, 1.0)
    assert polygons_overlap(a, rectangle((0.9, 0.0), 1.0, 1.0))
    assert not polygons_overlap(a, rectangle((1.2, 0.0), 1.0, 1.0))
    # Rotated by 45 degrees the corner reaches further than the axis-aligned edge.
    assert polygons_overlap(a, rectangle((1.15, 0.0), 1.0, 1.0, math.pi / 4))
    assert polygons_overlap(a, rectangle((1.05, 0.0), 1.0, 1.0), margin=0.1)


def test_distances():
    assert point_segment_distance((0.0, 1.0), (-1.0, 0.0), (1.0, 0.0)) == pytest.approx(1.0)
    assert point_segment_distance((3.0, 0.0), (-1.0, 0.0), (1.0, 0.0)) == pytest.approx(2.0)
    assert point_segment_distance((1.0, 1.0), (0.0, 0.0), (0.0, 0.0)) == pytest.approx(2 ** .5)
    a = rectangle((0.0, 0.0), 1.0, 1.0)
    assert polygon_distance(a, rectangle((3.0, 0.0), 1.0, 1.0)) == pytest.approx(2.0)
    assert polygon_distance(a, rectangle((0.5, 0.5), 1.0, 1.0)) == 0.0


def test_circle_polygon_contains_its_circle():
    polygon = circle_polygon((1.0, 1.0), 0.5, sides=8)
    assert len(polygon) == 8
    # Its edges lie at the radius or beyond: a conservative footprint.
    for a, b in zip(polygon, polygon[1:] + polygon[:1]):
        mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        assert math.hypot(mid[0] - 1.0, mid[1] - 1.0) == pytest.approx(0.5)
