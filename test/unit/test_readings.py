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

"""Range-sensor readings: obstacles, coverage and what they see through."""

import math

import numpy as np
import pytest

from perception.core.readings import CloudReading, DepthReading, ScanReading
from perception.core.robot import Lidar, PointCloudSensor
from perception.core.sensor_points import MalformedReading, Mount
from support import render_depth

LIDAR = Lidar('lidar', 'laser', Mount(x=0.2, z=0.25), fov_deg=360.0, beams=360)
CAMERA = Mount(x=0.3, z=1.0, pitch=math.radians(10))
INTRINSICS = (103.9, 103.9, 79.5, 59.5)  # 160x120 with the simulator's 60 degree fovy


def scan(ranges, lidar=LIDAR, **kwargs):
    ranges = np.asarray(ranges, float)
    inc = 2 * math.pi / 360
    return ScanReading(ranges, -math.pi, -math.pi + (len(ranges) - 1) * inc, inc, 0.1, 15.0,
                       lidar, **kwargs)


def columns(*xyz):
    points = np.array(xyz, float).reshape(-1, 4)
    return points[:, :2], points[:, 2], points[:, 3]


def test_scan_points_are_in_the_base_frame_at_the_lidar_height():
    ranges = np.full(360, np.inf)
    ranges[180] = 1.0        # straight ahead
    ranges[0] = -np.inf      # something too close to measure, behind
    ranges[90] = np.nan      # an invalid beam: no point
    ranges[270] = 0.05       # below range_min: invalid, no point
    reading = scan(ranges)
    assert reading.points.shape == (2, 3)
    np.testing.assert_allclose(sorted(reading.points[:, 0]), [0.2 - 0.1, 1.2], atol=1e-9)
    assert np.all(reading.points[:, 2] == 0.25)


@pytest.mark.parametrize('args,message', [
    (([], -1.0, 1.0, 0.01), 'no ranges'),
    (([1.0] * 10, 0.0, 0.09, 0.0), 'angle_increment is 0'),
    (([1.0] * 10, 0.0, float('nan'), 0.01), 'not finite'),
    (([1.0] * 180, -math.pi, math.pi - 2 * math.pi / 360, 2 * math.pi / 360), 'needs 360'),
    (([1.0] * 1000, 0.0, 99.9, 0.1), 'more than a full turn'),
])
def test_malformed_scans_are_refused(args, message):
    ranges, angle_min, angle_max, inc = args
    with pytest.raises(MalformedReading, match=message):
        ScanReading(np.array(ranges), angle_min, angle_max, inc, 0.1, 15.0, LIDAR)


def test_one_beam_more_or_less_than_the_angles_say_is_accepted():
    inc = 2 * math.pi / 360
    for count in (359, 360, 361):
        ScanReading(np.ones(count), -math.pi, -math.pi + 359 * inc, inc, 0.1, 15.0, LIDAR)


def test_a_scan_covers_only_its_own_angles_and_valid_beams():
    ahead, behind, left = np.array([[1.0, 0.0]]), np.array([[-1.0, 0.0]]), np.array([[0.2, 1]])
    full = scan(np.full(360, np.inf))
    assert full.covers(np.vstack([ahead, behind, left])).all()
    inc = 2 * math.pi / 360
    # A lidar that sees only the front half (-90 to +90 degrees).
    half = ScanReading(np.full(181, np.inf), -math.pi / 2, math.pi / 2, inc, 0.1, 15.0, LIDAR)
    assert half.covers(ahead)[0] and not half.covers(behind)[0]
    assert half.span_deg == pytest.approx(181)
    # A run of invalid beams wider than the tolerated gap leaves its sector uncovered.
    ranges = np.full(360, np.inf)
    ranges[170:191] = np.nan
    assert not scan(ranges, max_gap_deg=3.0).covers(ahead)[0]
    ranges = np.full(360, np.inf)
    ranges[179:182] = np.nan
    assert scan(ranges, max_gap_deg=3.0).covers(ahead)[0]
    # Beyond the range nothing is covered.
    assert not full.covers(np.array([[20.0, 0.0]]))[0]


def test_a_270_degree_scan_reaches_round_to_its_ends():
    lidar = Lidar('front', 'laser', Mount(x=0.2, z=0.25), fov_deg=270.0, beams=271)
    inc = math.radians(1.0)
    reading = ScanReading(np.full(271, np.inf), -math.radians(135), math.radians(135), inc,
                          0.1, 15.0, lidar)
    bearings = np.radians([-130.0, 0.0, 120.0, 140.0, 180.0])
    xy = np.column_stack([0.2 + np.cos(bearings), np.sin(bearings)])
    assert reading.covers(xy).tolist() == [True, True, True, False, False]


def test_clockwise_scans_are_read_the_right_way_round():
    inc = -math.radians(1.0)
    ranges = np.full(181, np.inf)
    ranges[45] = 2.0  # 45 degrees clockwise from angle_min = +90: bearing +45
    reading = ScanReading(ranges, math.pi / 2, -math.pi / 2, inc, 0.1, 15.0, LIDAR)
    point = reading.points[0]
    assert math.degrees(math.atan2(point[1], point[0] - 0.2)) == pytest.approx(45.0)
    assert reading.covers(np.array([[0.2, 1.0]]))[0]
    assert not reading.covers(np.array([[-1.0, 0.0]]))[0]


def test_a_scan_clears_only_columns_that_cross_its_plane_and_it_sees_past():
    ranges = np.full(360, np.inf)
    ranges[90] = 1.0  # a post to the right, 1 m from the lidar
    reading = scan(ranges)
    xy, zmin, zmax = columns(
        (1.2, 0.0, 0.25, 0.25),   # a scan point ahead, gone now: clear
        (1.2, 0.0, 0.05, 1.70),   # a person's column ahead, gone: clear
        (1.2, 0.0, 0.05, 0.20),   # a low box ahead: the plane passes over it, keep
        (0.2, -1.0, 0.25, 0.25),  # the post itself: keep
        (0.2, -2.0, 0.25, 0.25),  # behind the post: not seen, keep
        (20.0, 0.0, 0.25, 0.25),  # beyond the range: keep
    )
    expected = [True, True, False, False, False, False]
    assert reading.sees_free(xy, zmin, zmax).tolist() == expected


def test_depth_of_a_low_box_in_view_and_the_floor_clearing_it():
    box = (1.8, 2.1, -0.2, 0.2, 0.0, 0.15)
    depth = render_depth(CAMERA, INTRINSICS, 160, 120, [box])
    reading = DepthReading(depth, INTRINSICS, CAMERA, stride=2)
    assert len(reading.points) > 10
    assert reading.points[:, 0].min() == pytest.approx(1.8, abs=0.03)
    assert reading.points[:, 2].max() == pytest.approx(0.15, abs=0.03)
    xy, zmin, zmax = columns((1.85, 0.0, 0.05, 0.15))
    assert not reading.sees_free(xy, zmin, zmax)[0]  # the box is still there
    empty = DepthReading(render_depth(CAMERA, INTRINSICS, 160, 120), INTRINSICS, CAMERA)
    assert len(empty.points) == 0                     # a floor has no obstacle points
    assert empty.sees_free(xy, zmin, zmax)[0]          # gone: the camera sees the floor there


def test_depth_points_keep_the_height_band():
    mount = Mount(x=0.3, z=1.0)  # looking straight ahead at a wall 2 m away
    intrinsics = (100.0, 100.0, 39.5, 29.5)
    depth = np.full((60, 80), 2.0, np.float32)
    wide = DepthReading(depth, intrinsics, mount, stride=1, min_height=0.05, max_height=1.5)
    narrow = DepthReading(depth, intrinsics, mount, stride=1, min_height=1.2, max_height=1.5)
    assert len(narrow.points) < len(wide.points)
    assert wide.points[:, 2].min() >= 0.05 and wide.points[:, 2].max() <= 1.5
    assert narrow.points[:, 2].min() >= 1.2


def test_depth_neither_covers_nor_clears_what_is_out_of_view():
    depth = render_depth(CAMERA, INTRINSICS, 160, 120)
    reading = DepthReading(depth, INTRINSICS, CAMERA)
    near_low = columns((0.6, 0.0, 0.05, 0.15))   # right in front of the bumper, low
    behind = columns((-1.0, 0.0, 0.05, 1.5))
    for xy, zmin, zmax in (near_low, behind):
        assert not reading.sees_free(xy, zmin, zmax)[0]
    assert reading.covers(np.array([[2.0, 0.0]]))[0]
    assert not reading.covers(np.array([[-1.0, 0.0]]))[0]
    # Invalid pixels (NaN) neither cover nor clear.
    blank = DepthReading(np.full((120, 160), np.nan, np.float32), INTRINSICS, CAMERA)
    assert not blank.covers(np.array([[2.0, 0.0]]))[0]
    assert not blank.sees_free(*columns((2.0, 0.0, 0.05, 0.2)))[0]


def test_a_point_cloud_clears_before_its_nearest_return_in_its_band():
    sensor = PointCloudSensor('tof', 'tof', Mount(x=0.3, z=0.5), fov_deg=90.0, range_max=5.0,
                              min_height=0.05, max_height=1.0)
    cloud = np.array([[2.0, 0.0, 0.3], [2.0, 0.02, 0.5], [1.0, 0.0, 3.0]])
    reading = CloudReading(cloud, sensor)
    assert len(reading.points) == 2  # 3 m high is outside the band
    xy, zmin, zmax = columns((1.0, 0.0, 0.05, 0.3), (2.5, 0.0, 0.05, 0.3),
                             (1.0, 0.0, 1.5, 1.8), (-1.0, 0.0, 0.1, 0.5))
    assert reading.sees_free(xy, zmin, zmax).tolist() == [True, False, False, False]
    assert reading.covers(np.array([[2.0, 0.0], [-1.0, 0.0]])).tolist() == [True, False]
