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

"""The one rule for detections: which count as what, and where they stand."""

import math

import pytest

from perception.core.floor_objects import BoxDetection, floor_objects
from perception.core.sensor_points import Mount

MOUNT = Mount(x=0.3, z=1.0, pitch=math.radians(10))
INTRINSICS = (415.7, 415.7, 319.5, 239.5)
KINDS = {'person': 'person', 'forklift': 'forklift'}


def det(*hypotheses, cy=300.0, height=100.0):
    return BoxDetection(319.5, cy, 60.0, height, tuple(hypotheses))


def test_any_hypothesis_at_or_above_the_score_counts():
    found = floor_objects([det(('box', 0.5), ('person', 0.45))], KINDS, 0.4, 480, INTRINSICS,
                          MOUNT)
    assert [(o.kind, o.score) for o in found] == [('person', 0.45)]


def test_below_the_score_nothing_counts():
    assert floor_objects([det(('person', 0.39))], KINDS, 0.4, 480, INTRINSICS, MOUNT) == []


def test_a_detection_can_count_for_several_kinds():
    found = floor_objects([det(('person', 0.6), ('forklift', 0.5), ('person', 0.7))], KINDS,
                          0.4, 480, INTRINSICS, MOUNT)
    assert sorted((o.kind, o.score) for o in found) == [('forklift', 0.5), ('person', 0.7)]
    assert found[0].point == found[1].point


def test_the_floor_point_is_under_the_middle_of_the_bottom_edge():
    (person,) = floor_objects([det(('person', 0.9), cy=189.5, height=100.0)], KINDS, 0.4, 480,
                              INTRINSICS, MOUNT)
    # The bottom edge is on the image centre row: the optical axis meets the floor there.
    assert person.point[0] == pytest.approx(0.3 + 1 / math.tan(math.radians(10)))
    assert person.point[1] == pytest.approx(0.0) and not person.cut_off


def test_a_box_reaching_the_bottom_edge_is_cut_off():
    (person,) = floor_objects([det(('person', 0.9), cy=400.0, height=160.0)], KINDS, 0.4, 480,
                              INTRINSICS, MOUNT)
    assert person.cut_off and person.point is None


def test_without_intrinsics_objects_count_without_a_place():
    (person,) = floor_objects([det(('person', 0.9))], KINDS, 0.4, 0, None, MOUNT)
    assert person.point is None and not person.cut_off
