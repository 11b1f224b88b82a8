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

from perception.core.sensor_points import depth_cloud, depth_scale, feet_on_floor
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


def test_depth_cloud_is_in_the_base_frame():
    mount = Mount(x=0.3, z=1.0)  # looking straight ahead
    intrinsics = (100.0, 100.0, 39.5, 29.5)
    depth = np.full((60, 80), 2.0, np.float32)
    cloud = depth_cloud(depth, intrinsics, mount, stride=1)
    assert cloud.shape == (60 * 80, 3) and np.allclose(cloud[:, 0], 2.3)
    # The image centre row looks level: its points are at the camera's height.
    centre = cloud.reshape(60, 80, 3)[29, 40]
    assert centre[2] == pytest.approx(1.0 + 0.5 * 2.0 / 100.0)
    mm = depth_cloud(np.full((60, 80), 2000, np.uint16), intrinsics, mount, stride=4,
                     scale=0.001)
    assert np.allclose(mm[:, 0], 2.3) and len(mm) == 15 * 20
    assert depth_cloud(np.full((60, 80), np.nan, np.float32), intrinsics, mount).shape == (0, 3)
    assert len(depth_cloud(depth, intrinsics, mount, max_range=1.5)) == 0
    with pytest.raises(MalformedReading, match='uncalibrated'):
        depth_cloud(depth, (0.0, 0.0, 0.0, 0.0), mount)


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
