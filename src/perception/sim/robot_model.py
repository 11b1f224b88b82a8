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

"""
The simulated robot, from the one robot description and the simulator's parameters.

The footprint and the sensors come from config/robot.yaml (or the description given), the drive
limits and the scan noise from config/simulator.yaml: no number of either is written here.
"""

import dataclasses
from dataclasses import dataclass
import functools
import math
from typing import Dict, Tuple

from perception.config import config_path, load_defaults
from perception.core.robot import Camera, Lidar, load_robot, RobotDescription, RobotError
from perception.sim.layout import ROBOT_MASS


@dataclass(frozen=True)
class RobotSpec:
    """
    The simulated robot: its footprint and its drive limits.

    The footprint comes from the robot description (config/robot.yaml), the limits from the
    simulator's parameters (config/simulator.yaml): perception.sim.robot_model.robot_spec().
    """

    length: float
    width: float
    height: float
    max_speed: float
    max_yaw_rate: float
    max_accel: float
    max_decel: float
    mass: float = ROBOT_MASS
    max_yaw_accel: float = 3.0


def check_mountable(robot: RobotDescription, lidar: str, camera: str) -> Tuple[Lidar, Camera]:
    """Return the lidar and the camera the simulator can mount; RobotError says why not."""
    chosen = robot.sensor(lidar, Lidar), robot.sensor(camera, Camera)
    source = robot.source or 'robot description'
    # The simulated robot carries its sensors on its centre line, looking ahead.
    for name, sensor in zip((lidar, camera), chosen):
        mount = sensor.mount
        off = [key for key, value in (('y', mount.y), ('roll_deg', mount.roll),
                                      ('yaw_deg', mount.yaw)) if abs(value) > 1e-9]
        if off:
            raise RobotError(f'{source}: sensors.{name}: the simulator mounts sensors on the '
                             f'centre line, facing ahead; it cannot simulate {", ".join(off)} '
                             'other than 0')
    if not chosen[1].depth:
        raise RobotError(f'{source}: sensors.{camera}: the simulator renders depth with every '
                         'camera (set depth: true)')
    return chosen


def drive_limits(params: Dict[str, object]) -> Dict[str, float]:
    """Return the drive limits of a RobotSpec from the simulator's parameters."""
    return {'max_speed': params['robot_max_speed'], 'max_yaw_rate': params['robot_max_yaw_rate'],
            'max_accel': params['robot_max_accel'], 'max_decel': params['robot_max_decel']}


@functools.lru_cache(maxsize=1)
def _defaults():
    params = load_defaults('simulator.yaml')
    robot = load_robot(config_path('robot.yaml'))
    lidar, camera = check_mountable(robot, params['lidar'], params['camera'])
    return params, robot, lidar, camera


def robot_spec(**changes) -> RobotSpec:
    """Return the default simulated robot, with any field changed."""
    params, robot, _, _ = _defaults()
    fp = robot.footprint
    spec = RobotSpec(length=fp.length, width=fp.width, height=fp.height, **drive_limits(params))
    return dataclasses.replace(spec, **changes)


def camera(pitch_deg=None, **changes) -> Camera:
    """Return the default robot's camera, with any field (and its pitch in degrees) changed."""
    cam = _defaults()[3]
    if pitch_deg is not None:
        changes['mount'] = dataclasses.replace(cam.mount, pitch=math.radians(pitch_deg))
    return dataclasses.replace(cam, **changes)


def lidar(**changes) -> Lidar:
    """Return the default robot's lidar, with any field changed."""
    return dataclasses.replace(_defaults()[2], **changes)


def scan_noise() -> float:
    """Return the simulator's default scan noise (m)."""
    return _defaults()[0]['scan_noise_std']
