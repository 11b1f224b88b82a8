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

"""The robot description's sensors as the simulated world builds them."""

import math

from perception.core.robot import Camera, Lidar, RobotDescription, RobotError
from perception.sim.world import CameraSpec, LidarSpec


class SimulatedSensors:
    """A lidar and an rgbd camera of the description, checked against what MuJoCo can mount."""

    def __init__(self, robot: RobotDescription, lidar: str, camera: str):
        self.lidar = robot.sensor(lidar, Lidar)
        self.camera = robot.sensor(camera, Camera)
        source = robot.source or 'robot description'
        # The simulated robot carries its sensors on its centre line, looking ahead.
        for name, mount in ((lidar, self.lidar.mount), (camera, self.camera.mount)):
            off = [key for key, value in (('y', mount.y), ('roll_deg', mount.roll),
                                          ('yaw_deg', mount.yaw)) if abs(value) > 1e-9]
            if off:
                raise RobotError(f'{source}: sensors.{name}: the simulator mounts sensors on '
                                 f'the centre line, facing ahead; it cannot simulate '
                                 f'{", ".join(off)} other than 0')
        if not self.camera.depth:
            raise RobotError(f'{source}: sensors.{camera}: the simulator renders depth with '
                             'every camera (set depth: true)')

    def camera_spec(self) -> CameraSpec:
        """Return the camera as the world renders it."""
        c = self.camera
        return CameraSpec(width=c.width, height=c.height, fovy_deg=c.fovy_deg, x=c.mount.x,
                          z=c.mount.z, pitch_deg=math.degrees(c.mount.pitch),
                          max_depth=c.depth_range_max)

    def lidar_spec(self, noise_std: float) -> LidarSpec:
        """Return the lidar as the world casts its rays."""
        lidar = self.lidar
        return LidarSpec(beams=lidar.beams, fov_deg=lidar.fov_deg, range_min=lidar.range_min,
                         range_max=lidar.range_max, noise_std=noise_std, x=lidar.mount.x,
                         z=lidar.mount.z)
