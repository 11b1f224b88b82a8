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
Conversions between ROS messages and the core's numpy arrays and dataclasses.

Replaces cv_bridge, whose PyPI copy is broken with numpy 2; see perception.core.image_encoding.
"""

import array
import math

from builtin_interfaces.msg import Time
import numpy as np
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from perception.core.calibration import CameraCalibration
from perception.core.image_encoding import array_to_buffer, buffer_to_array


def stamp_from_ns(nanoseconds: int) -> Time:
    """Build a builtin_interfaces/Time from integer nanoseconds."""
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def stamp_to_ns(stamp: Time) -> int:
    """Return a builtin_interfaces/Time as integer nanoseconds."""
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def image_to_numpy(msg: Image) -> np.ndarray:
    """
    View a sensor_msgs/Image as a numpy array, sharing the message's memory.

    Raises perception.core.image_encoding.ImageEncodingError for an unknown encoding or a data
    length that does not match height x step.
    """
    return buffer_to_array(msg.height, msg.width, msg.encoding, msg.is_bigendian, msg.step,
                           msg.data)


def numpy_to_image(image: np.ndarray, encoding: str, header: Header = None) -> Image:
    """Build a sensor_msgs/Image from an array (one copy, into the message's buffer)."""
    fields = array_to_buffer(image, encoding)
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height = fields.height
    msg.width = fields.width
    msg.encoding = fields.encoding
    msg.is_bigendian = fields.is_bigendian
    msg.step = fields.step
    data = array.array('B')
    data.frombytes(fields.data)
    msg.data = data  # an array.array('B') skips the generated per-element check
    return msg


def calibration_to_camera_info(calibration: CameraCalibration, header: Header = None
                               ) -> CameraInfo:
    """Build a sensor_msgs/CameraInfo from a calibration."""
    msg = CameraInfo()
    if header is not None:
        msg.header = header
    msg.width = calibration.width
    msg.height = calibration.height
    msg.distortion_model = calibration.distortion_model
    msg.d = [float(v) for v in calibration.d]
    msg.k = [float(v) for v in calibration.k]
    msg.r = [float(v) for v in calibration.r]
    msg.p = [float(v) for v in calibration.p]
    return msg


def intrinsics_of(info: CameraInfo):
    """Return fx, fy, cx, cy of a CameraInfo."""
    return info.k[0], info.k[4], info.k[2], info.k[5]


def yaw_of(q) -> float:
    """Return the rotation about z of a geometry_msgs/Quaternion."""
    return math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))
