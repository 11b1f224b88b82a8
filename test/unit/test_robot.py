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

"""The robot description: strict loading, what each sensor sees, and the blind zone."""

import math
import os
import re

import numpy as np
import pytest

from perception.core.robot import blind_zone, Camera, Lidar, load_robot, parse_robot
from perception.core.robot import RobotError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ROBOT = load_robot(os.path.join(ROOT, 'config', 'robot.yaml'))


def minimal(**sensor):
    lidar = {'type': 'lidar', 'frame_id': 'laser', 'z': 0.25}
    lidar.update(sensor)
    return {'name': 'r', 'footprint': {'length': 0.7, 'width': 0.5}, 'sensors': {'lidar': lidar}}


def test_the_shipped_robot():
    assert (ROBOT.footprint.length, ROBOT.footprint.width) == (0.7, 0.5)
    lidar, camera = ROBOT.sensor('lidar', Lidar), ROBOT.sensor('camera', Camera)
    assert lidar.frame_id == 'laser' and camera.frame_id == 'camera_optical_frame'
    assert camera.mount.pitch == pytest.approx(math.radians(10))
    fx, fy, cx, cy = camera.intrinsics()
    assert fy == pytest.approx(240 / math.tan(math.radians(30))) and (cx, cy) == (319.5, 239.5)


@pytest.mark.parametrize('change,message', [
    (lambda d: d.pop('footprint'), 'missing field footprint'),
    (lambda d: d['sensors']['lidar'].update(fov=3), 'unknown key fov in sensors.lidar'),
    (lambda d: d['sensors']['lidar'].update(type='sonar'), 'must be one of lidar'),
    (lambda d: d['sensors']['lidar'].update(range_min=20.0), 'range_min must be below'),
    (lambda d: d['footprint'].update(length=-1.0), r'footprint.length: must be within'),
    (lambda d: d['sensors'].clear(), 'at least one sensor'),
    (lambda d: d['sensors'].update(two={'type': 'lidar', 'frame_id': 'laser'}),
     'share the frame laser'),
])
def test_bad_descriptions_name_the_key(change, message):
    data = minimal()
    change(data)
    with pytest.raises(RobotError, match=message):
        parse_robot(data, 'robot.yaml')


def test_asking_for_a_missing_sensor_lists_what_exists():
    with pytest.raises(RobotError, match="no rgbd named 'front'; it has: camera"):
        ROBOT.sensor('front', Camera)


def test_what_the_sensors_see():
    lidar, camera = ROBOT.sensors['lidar'], ROBOT.sensors['camera']
    points = np.array([[2.0, 0.0, 0.25], [2.0, 0.0, 0.1], [-2.0, 0.0, 0.25]])
    assert lidar.sees(points).tolist() == [True, False, True]
    # The camera sees the floor from 1.19 m ahead of it (40 degrees down), not behind.
    floor = np.array([[0.3 + 1.15, 0, 0.0], [0.3 + 1.25, 0, 0.0], [-1.0, 0, 0.0]])
    assert camera.sees(floor).tolist() == [False, True, False]


def test_the_blind_zone_of_low_objects():
    low = blind_zone(ROBOT, 0.1)
    assert low.seen_by == ('camera',)
    # Seen from where the camera's lowest ray meets the top of the object.
    expected = (1.0 - 0.1) / math.tan(math.radians(40)) + 0.3 - 0.35
    assert low.seen_ahead_from == pytest.approx(expected, abs=0.02)
    tall = blind_zone(ROBOT, 0.5)
    assert tall.seen_by == ('lidar', 'camera') and tall.seen_ahead_from == pytest.approx(0.0)
    assert not tall.blind.any()
    # Right beside the robot a low object is seen by nothing.
    row = np.argmin(np.abs(low.ys - 0.4))
    column = np.argmin(np.abs(low.xs))
    assert low.blind[row, column]


def test_the_readme_states_the_blind_zone_of_the_default_robot():
    readme = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()
    rows = re.findall(r'\| ([0-9.]+) m \| ([0-9.]+) m \| (lidar[^|]*|camera[^|]*) \|', readme)
    assert len(rows) >= 3, 'the README has no blind-zone table'
    for height, ahead, seen_by in rows:
        zone = blind_zone(ROBOT, float(height))
        assert float(ahead) == pytest.approx(zone.seen_ahead_from, abs=0.005), height
        assert seen_by.strip() == ', '.join(zone.seen_by), height
