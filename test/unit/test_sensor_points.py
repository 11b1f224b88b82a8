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

"""Sensor readings as points on the floor plane of the robot's base frame."""

import math

import numpy as np
import pytest

from perception.core.sensor_points import depth_points, depth_scale, feet_on_floor
from perception.core.sensor_points import ground_point, MalformedReading, Mount
from perception.core.sensor_points import scan_points


def test_scan_points_drop_bad_beams_one_by_one():
    ranges = np.array([1.0, np.nan, np.inf, 0.01, 50.0, 2.0])
    points = scan_points(ranges, 0.0, math.pi / 4, 0.1, 30.0, Mount(x=0.2))
    last = 5 * math.pi / 4
    np.testing.assert_allclose(
        points, [[1.2, 0.0], [0.2 + 2.0 * math.cos(last), 2.0 * math.sin(last)]], atol=1e-9)


@pytest.mark.parametrize('args,message', [
    (([], 0.0, 0.01, 0.1, 10.0), 'no ranges'),
    (([1.0] * 10, 0.0, 0.0, 0.1, 10.0), 'angle_increment'),
    (([1.0] * 10, 0.0, float('nan'), 0.1, 10.0), 'angle_increment'),
    (([1.0] * 1000, 0.0, 0.1, 0.1, 10.0), 'more than a full turn'),
    (([1.0] * 10, 0.0, 0.01, 0.1, float('nan')), 'range_max'),
])
def test_malformed_scans_are_refused(args, message):
    with pytest.raises(MalformedReading, match=message):
        scan_points(np.array(args[0], dtype=float), *args[1:], Mount())


def test_depth_points_keep_the_height_band():
    mount = Mount(x=0.3, z=1.0)  # looking straight ahead
    intrinsics = (100.0, 100.0, 39.5, 29.5)
    depth = np.full((60, 80), 2.0, np.float32)
    points = depth_points(depth, intrinsics, mount, stride=1, min_height=0.05, max_height=1.5)
    assert len(points) and np.allclose(points[:, 0], 2.3)
    # Rows far below the centre see the floor at 2 m: a floor has no points below 0.05 m.
    floor = depth_points(np.full((60, 80), 2.0, np.float32), intrinsics,
                         Mount(x=0.3, z=0.0), stride=1, min_height=0.05)
    heights_ok = depth_points(depth, intrinsics, mount, stride=1, min_height=1.2)
    assert len(heights_ok) < len(points)
    assert floor.shape[1] == 2
    mm = depth_points(np.full((60, 80), 2000, np.uint16), intrinsics, mount, stride=4,
                      scale=0.001)
    assert np.allclose(mm[:, 0], 2.3)
    nothing = depth_points(np.full((60, 80), np.nan, np.float32), intrinsics, mount)
    assert nothing.shape == (0, 2)
    with pytest.raises(MalformedReading, match='uncalibrated'):
        depth_points(depth, (0.0, 0.0, 0.0, 0.0), mount)


def test_a_flat_floor_never_marks():
    # A camera 1 m up pitched 30 degrees down sees only floor: every point is dropped.
    mount = Mount(x=0.0, z=1.0, pitch=math.radians(30))
    fx = fy = 100.0
    rows, cols = np.mgrid[0:60, 0:80]
    ray_z = np.zeros((60, 80))
    depth = np.full((60, 80), np.nan)
    for r in range(60):
        for c in range(80):
            point = ground_point(c, r, (fx, fy, 39.5, 29.5), mount)
            if point is not None:
                # z-depth of the floor point along the optical axis
                d = np.array([point[0], point[1], -1.0])
                axis = np.array([math.cos(math.radians(30)), 0, -math.sin(math.radians(30))])
                ray_z[r, c] = d @ axis
                depth[r, c] = ray_z[r, c]
    assert np.isfinite(depth).sum() > 1000
    points = depth_points(depth.astype(np.float32), (fx, fy, 39.5, 29.5), mount, stride=1)
    assert len(points) == 0


def test_ground_point_of_a_box_bottom():
    mount = Mount(x=0.3, z=1.0, pitch=math.radians(10))
    x, y = ground_point(319.5, 239.5, (415.7, 415.7, 319.5, 239.5), mount)
    assert x == pytest.approx(0.3 + 1 / math.tan(math.radians(10))) and y == pytest.approx(0)
    assert ground_point(319.5, 0.0, (415.7, 415.7, 319.5, 239.5), mount) is None  # sky


def test_depth_scales_and_unknown_encodings():
    assert depth_scale('32FC1') == 1.0 and depth_scale('16UC1') == 0.001
    with pytest.raises(MalformedReading, match="encoding 'rgb8'"):
        depth_scale('rgb8')


def test_feet_cut_off_by_the_bottom_edge():
    mount = Mount(x=0.3, z=1.0, pitch=math.radians(10))
    intrinsics = (415.7, 415.7, 319.5, 239.5)
    assert feet_on_floor(319.5, 479.0, 480, intrinsics, mount) == (None, True)
    point, cut_off = feet_on_floor(319.5, 239.5, 480, intrinsics, mount)
    assert not cut_off and point[0] == pytest.approx(0.3 + 1 / math.tan(math.radians(10)))


def test_mount_rotation_is_roll_pitch_yaw():
    forward = Mount(yaw=math.pi / 2).rotation() @ np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(forward, [0.0, 1.0, 0.0], atol=1e-12)
    down = Mount(pitch=math.radians(30)).rotation() @ np.array([1.0, 0.0, 0.0])
    assert down[2] == pytest.approx(-0.5)  # a positive pitch tilts the sensor down
