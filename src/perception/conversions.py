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
import struct

from builtin_interfaces.msg import Time
import numpy as np
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from perception.core.calibration import CameraCalibration
from perception.core.image_encoding import array_to_buffer, buffer_to_array
from perception.core.sensor_points import MalformedReading


def stamp_from_ns(nanoseconds: int) -> Time:
    """Build a builtin_interfaces/Time from integer nanoseconds."""
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def stamp_to_ns(stamp: Time) -> int:
    """Return a builtin_interfaces/Time as integer nanoseconds."""
    return stamp.sec * 1_000_000_000 + stamp.nanosec


#: CDR encapsulations (RTPS representation identifiers) of a plain (final) message: classic CDR
#: and XCDR2, big- and little-endian; a header's stamp is then the first eight bytes after it.
PLAIN_CDR = (0x0000, 0x0001, 0x0006, 0x0007)


def serialized_stamp_ns(data: bytes, message_type=None) -> int:
    """
    Return the header stamp of a serialized message that starts with a std_msgs/Header.

    Read straight from the bytes (the stamp is the message's first field), so a node that only
    needs when a large message was stamped never builds it in Python; other encapsulations are
    deserialized as message_type.
    """
    if len(data) >= 12:
        kind = int.from_bytes(data[:2], 'big')
        if kind in PLAIN_CDR:
            sec, nanosec = struct.unpack_from('<iI' if kind & 1 else '>iI', data, 4)
            return sec * 1_000_000_000 + nanosec
    if message_type is None:
        raise ValueError('not a plain CDR message and no type to deserialize it as')
    from rclpy.serialization import deserialize_message
    return stamp_to_ns(deserialize_message(data, message_type).header.stamp)


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


#: sensor_msgs/PointField datatype of float32.
FLOAT32 = 7


def pointcloud_xyz(msg) -> np.ndarray:
    """
    Return x, y, z of a sensor_msgs/PointCloud2 as an (N, 3) float64 array, NaN points dropped.

    Raises MalformedReading when the fields are missing or not float32, or the data does not
    hold width x height points of point_step bytes.
    """
    fields = {f.name: f for f in msg.fields}
    for axis in 'xyz':
        if axis not in fields or fields[axis].datatype != FLOAT32 or fields[axis].count != 1:
            raise MalformedReading(f'point cloud needs float32 fields x, y, z; it has '
                                   f'{", ".join(sorted(fields)) or "none"}')
    count = msg.width * msg.height
    if msg.point_step <= 0 or any(fields[a].offset + 4 > msg.point_step for a in 'xyz') or \
            msg.row_step < msg.width * msg.point_step or \
            len(msg.data) < msg.row_step * max(msg.height - 1, 0) + msg.width * msg.point_step:
        raise MalformedReading(f'point cloud of {msg.width}x{msg.height} points, point_step '
                               f'{msg.point_step}, row_step {msg.row_step} does not fit its '
                               f'{len(msg.data)} bytes')
    if count == 0:
        return np.zeros((0, 3))
    raw = np.frombuffer(msg.data, np.uint8)
    rows = raw[:msg.row_step * msg.height].reshape(msg.height, msg.row_step) \
        if len(raw) >= msg.row_step * msg.height else \
        np.vstack([raw[r * msg.row_step:r * msg.row_step + msg.width * msg.point_step]
                   for r in range(msg.height)])
    points = rows[:, :msg.width * msg.point_step].reshape(count, msg.point_step)
    dtype = np.dtype('>f4' if msg.is_bigendian else '<f4')
    xyz = np.column_stack([points[:, fields[a].offset:fields[a].offset + 4].copy().view(dtype)
                           .ravel() for a in 'xyz']).astype(np.float64)
    return xyz[np.isfinite(xyz).all(1)]
