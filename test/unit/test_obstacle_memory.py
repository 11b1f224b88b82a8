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

"""The obstacle memory: columns in odom, forgotten only when seen through."""

import math

import numpy as np
import pytest

from perception.core.obstacle_memory import MemoryConfig, ObstacleMemory, to_base, to_odom


def never(xy, zmin, zmax):
    return np.zeros(len(xy), bool)


def test_points_become_columns_in_odom_cells():
    memory = ObstacleMemory(MemoryConfig(resolution=0.1, radius=6.0))
    points = np.array([[1.01, 0.01, 0.1], [1.02, 0.02, 0.3], [2.0, 0.0, 0.25]])
    memory.update(points, (5.0, 1.0, 0.0), 1.0, never, origin=3)
    assert len(memory) == 2
    order = np.argsort(memory.xy[:, 0])
    np.testing.assert_allclose(memory.xy[order], [[6.015, 1.015], [7.0, 1.0]])
    assert memory.zmin[order].tolist() == pytest.approx([0.1, 0.25])
    assert memory.zmax[order].tolist() == pytest.approx([0.3, 0.25])
    assert memory.count[order].tolist() == [2, 1] and memory.origin.tolist() == [3, 3]


def test_columns_stay_put_in_odom_as_the_robot_moves():
    memory = ObstacleMemory()
    memory.update(np.array([[2.0, 0.0, 0.1]]), (0.0, 0.0, 0.0), 0.0, never)
    xy, counts = memory.in_base((1.5, 0.0, 0.0))
    assert xy[0] == pytest.approx([0.5, 0.0]) and counts.tolist() == [1]
    xy, _ = memory.in_base((2.0, -1.0, math.pi / 2))  # facing +y, 1 m short of it
    assert xy[0] == pytest.approx([1.0, 0.0])


def test_a_reading_forgets_what_it_sees_through_and_keeps_the_rest():
    memory = ObstacleMemory()
    memory.update(np.array([[1.0, 0.0, 0.1], [1.0, 1.0, 0.1]]), (0.0, 0.0, 0.0), 0.0, never)
    asked = []

    def left_is_free(xy, zmin, zmax):
        asked.append(xy.copy())
        return xy[:, 1] > 0.5

    forgotten = memory.update(np.zeros((0, 3)), (0.0, 0.0, 0.0), 0.1, left_is_free)
    assert forgotten == 1 and len(memory) == 1 and memory.xy[0, 1] < 0.5
    assert len(asked[0]) == 2  # the reading was asked in the robot's frame at its time


def test_a_column_seen_again_grows_and_is_stamped_anew():
    memory = ObstacleMemory(MemoryConfig(resolution=0.1))
    memory.update(np.array([[1.0, 0.0, 0.1]]), (0.0, 0.0, 0.0), 0.0, never, origin=0)
    memory.update(np.array([[1.0, 0.0, 1.2]]), (0.0, 0.0, 0.0), 0.5, never, origin=1)
    assert len(memory) == 1
    assert (memory.zmin[0], memory.zmax[0], memory.stamp[0], memory.origin[0]) == \
        pytest.approx((0.1, 1.2, 0.5, 1))


def test_far_columns_are_forgotten():
    memory = ObstacleMemory(MemoryConfig(radius=3.0))
    memory.update(np.array([[2.0, 0.0, 0.1]]), (0.0, 0.0, 0.0), 0.0, never)
    memory.update(np.zeros((0, 3)), (4.0, 0.0, 0.0), 1.0, never)
    assert len(memory) == 1  # 2 m away
    memory.update(np.zeros((0, 3)), (-1.5, 0.0, 0.0), 2.0, never)
    assert len(memory) == 0  # 3.5 m away


def test_frames_round_trip():
    points = np.random.default_rng(1).uniform(-3, 3, (20, 2))
    pose = (1.0, -2.0, 0.7)
    np.testing.assert_allclose(to_base(to_odom(points, pose), pose), points, atol=1e-12)


def test_cells_anywhere_merge_as_rows_do():
    # Cells are packed into one integer for np.unique: negative and large indices, and the
    # order of the cells, are those of the rows.
    from perception.core.obstacle_memory import _codes, _keys
    rng = np.random.default_rng(5)
    keys = np.vstack([rng.integers(-10 ** 6, 10 ** 6, (500, 2)),
                      [[-1, -1], [-1, 0], [0, -1], [0, 0], [-1, 5], [3, -7]]])
    keys = np.vstack([keys, keys[:50]])
    codes = _codes(keys)
    assert np.array_equal(_keys(codes), keys)
    assert np.array_equal(_keys(np.unique(codes)), np.unique(keys, axis=0))
