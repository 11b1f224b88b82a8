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

"""Where the robot's lidar and camera sit (parameters) and what the camera sees (camera_info)."""

import math

from sensor_msgs.msg import CameraInfo

from perception.conversions import intrinsics_of
from perception.core.sensor_points import feet_on_floor, Mount
from perception.params import ParamSpec
from perception.qos import SENSOR_QOS

#: The mounting parameters every node that turns sensor readings into floor points declares.
MOUNT_PARAMS = [
    ParamSpec('scan_x', 'Lidar position ahead of base_link (m).', min_value=-10.0,
              max_value=10.0),
    ParamSpec('scan_y', 'Lidar position left of base_link (m).', min_value=-10.0,
              max_value=10.0),
    ParamSpec('scan_yaw_deg', 'Lidar rotation about z.', min_value=-180.0, max_value=180.0),
    ParamSpec('camera_x', 'Camera position ahead of base_link (m).', min_value=-10.0,
              max_value=10.0),
    ParamSpec('camera_y', 'Camera position left of base_link (m).', min_value=-10.0,
              max_value=10.0),
    ParamSpec('camera_z', 'Camera height above the floor (m).', min_value=0.0, max_value=10.0),
    ParamSpec('camera_pitch_deg', 'Camera tilt down.', min_value=-90.0, max_value=90.0),
    ParamSpec('camera_yaw_deg', 'Camera rotation about z.', min_value=-180.0, max_value=180.0),
]


class SensorGeometry:
    """The sensor mounts from a node's parameters, and the camera intrinsics as they arrive."""

    def __init__(self, node, p: dict):
        self.scan_mount = Mount(x=p['scan_x'], y=p['scan_y'],
                                yaw=math.radians(p['scan_yaw_deg']))
        self.camera_mount = Mount(x=p['camera_x'], y=p['camera_y'], z=p['camera_z'],
                                  pitch=math.radians(p['camera_pitch_deg']),
                                  yaw=math.radians(p['camera_yaw_deg']))
        self.depth_intrinsics = None
        self.color_intrinsics = None
        self.color_height = 0
        node.create_subscription(CameraInfo, 'camera/depth/camera_info', self._on_depth_info,
                                 SENSOR_QOS)
        node.create_subscription(CameraInfo, 'camera/camera_info', self._on_color_info,
                                 SENSOR_QOS)

    def _on_depth_info(self, msg: CameraInfo) -> None:
        self.depth_intrinsics = intrinsics_of(msg)

    def _on_color_info(self, msg: CameraInfo) -> None:
        self.color_intrinsics = intrinsics_of(msg)
        self.color_height = msg.height

    def feet(self, detection):
        """
        Return (floor point in base_link or None, cut_off) for a vision_msgs/Detection2D.

        The middle of the box's bottom edge is where the object stands; cut_off means the box
        reaches the image's bottom edge, so it is nearer than the floor the camera sees.
        """
        if self.color_intrinsics is None:
            return None, False
        box = detection.bbox
        return feet_on_floor(box.center.position.x, box.center.position.y + box.size_y / 2,
                             self.color_height, self.color_intrinsics, self.camera_mount)
