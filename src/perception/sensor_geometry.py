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

"""The robot description for nodes: the file a parameter names, and what camera_info adds."""

import math
from typing import List

from sensor_msgs.msg import CameraInfo

from perception.conversions import intrinsics_of
from perception.core.calibration import CalibrationError, resolve_url
from perception.core.floor_objects import BoxDetection
from perception.core.robot import Camera, Lidar, load_robot, RobotDescription, RobotError
from perception.params import package_share_of, ParameterError, ParamSpec
from perception.qos import SENSOR_QOS

#: The parameter every node that needs the robot's geometry declares.
ROBOT_PARAM = ParamSpec('robot_description', 'Robot description (footprint, sensor mounts): '
                        'package://, file:// or a path; see config/robot.yaml.')


def load_robot_description(url: str) -> RobotDescription:
    """Read the robot description a parameter names; ParameterError says why it cannot."""
    try:
        return load_robot(resolve_url(url, '', package_share_of))
    except (RobotError, CalibrationError) as exc:
        raise ParameterError(f'robot_description: {exc}') from None


class CameraInfoWatch:
    """The newest intrinsics and image height of a camera_info topic."""

    def __init__(self, node, topic: str):
        self.topic = topic
        self.intrinsics = None
        self.height = 0
        self.width = 0
        self.problem = f'no {topic} received yet'
        node.create_subscription(CameraInfo, topic, self._on_info, SENSOR_QOS)

    def _on_info(self, msg: CameraInfo) -> None:
        fx, fy, cx, cy = intrinsics_of(msg)
        # An uncalibrated camera_info (REP 104: K all zero) gives no geometry.
        ok = all(math.isfinite(v) for v in (fx, fy, cx, cy)) and fx > 0 and fy > 0
        self.intrinsics = (fx, fy, cx, cy) if ok else None
        self.problem = '' if ok else f'{self.topic} has no focal length (uncalibrated)'
        self.height, self.width = msg.height, msg.width


class SensorGeometry:
    """A lidar and a camera of the robot description, with the camera's intrinsics as they come."""

    def __init__(self, node, robot: RobotDescription, lidar: str, camera: str):
        self.robot = robot
        try:
            self.lidar = robot.sensor(lidar, Lidar)
            self.camera = robot.sensor(camera, Camera)
        except RobotError as exc:
            raise ParameterError(str(exc)) from None
        self.scan_mount = self.lidar.mount
        self.camera_mount = self.camera.mount
        self._depth = CameraInfoWatch(node, 'camera/depth/camera_info')
        self._color = CameraInfoWatch(node, 'camera/camera_info')

    @property
    def depth_intrinsics(self):
        """fx, fy, cx, cy of the depth image, or None before its camera_info."""
        return self._depth.intrinsics

    @property
    def color_intrinsics(self):
        """fx, fy, cx, cy of the colour image, or None before its camera_info."""
        return self._color.intrinsics

    @property
    def color_height(self) -> int:
        """Rows of the colour image (0 before its camera_info)."""
        return self._color.height


def box_detections(msg) -> List[BoxDetection]:
    """Return a vision_msgs/Detection2DArray's detections as the core's BoxDetections."""
    return [BoxDetection(det.bbox.center.position.x, det.bbox.center.position.y,
                         det.bbox.size_x, det.bbox.size_y,
                         tuple((r.hypothesis.class_id, r.hypothesis.score) for r in det.results))
            for det in msg.detections]
