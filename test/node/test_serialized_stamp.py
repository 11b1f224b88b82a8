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

"""A message's header stamp read from its serialized bytes, as the simulator's lockstep does."""

import pytest
from rclpy.serialization import serialize_message
from vision_msgs.msg import Detection2D, Detection2DArray

from perception.conversions import serialized_stamp_ns, stamp_from_ns


def detections(stamp_ns, count):
    msg = Detection2DArray()
    msg.header.stamp = stamp_from_ns(stamp_ns)
    msg.header.frame_id = 'camera_optical_frame'
    msg.detections = [Detection2D() for _ in range(count)]
    return msg


@pytest.mark.parametrize('stamp_ns', [0, 1, 66_666_667, 12_345_678_901, 2 ** 31 * 10 ** 9 - 1])
def test_the_stamp_is_read_without_building_the_message(stamp_ns):
    data = serialize_message(detections(stamp_ns, 40))
    assert serialized_stamp_ns(data) == stamp_ns


def test_big_endian_cdr_is_read_too():
    data = bytearray(serialize_message(detections(0, 0)))
    data[0:2] = b'\x00\x00'  # CDR_BE, with the stamp written big-endian
    data[4:12] = (7).to_bytes(4, 'big') + (5).to_bytes(4, 'big')
    assert serialized_stamp_ns(bytes(data)) == 7_000_000_005


def test_other_encapsulations_are_deserialized_or_refused():
    data = bytearray(serialize_message(detections(3_000_000_001, 2)))
    data[0:2] = b'\x00\x03'  # a parameter list: not plain CDR
    with pytest.raises(ValueError, match='not a plain CDR message'):
        serialized_stamp_ns(bytes(data))
