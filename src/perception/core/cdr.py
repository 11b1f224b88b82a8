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
The class and score of each detection, read straight from a serialised Detection2DArray.

Turning a vision_msgs/Detection2DArray into Python objects costs rclpy about twenty objects per
detection (headers, poses, a 36-element covariance, boxes); a node that only counts classes and
scores (telemetry) reads those two fields from the CDR bytes instead and skips the rest. The
layout is vision_msgs 3 and later (Humble on): Detection2D {Header header,
ObjectHypothesisWithPose[] results, BoundingBox2D bbox, string id}, each result {ObjectHypothesis
{string class_id, float64 score}, PoseWithCovariance pose}.

Plain CDR (XCDR1, what rmw_fastrtps and rmw_cyclonedds send) is read, in either byte order;
CdrError says when a buffer is something else (XCDR2 lays sequences of structs out otherwise)
or is cut short, so that the caller can fall back to rclpy's own deserialisation.
"""

import struct
from typing import List, Tuple


class CdrError(ValueError):
    """A buffer this reader does not take, or one cut short."""


#: Encapsulation kinds taken: big endian or not.
ENCAPSULATIONS = {0x0000: True, 0x0001: False}                # CDR_BE, CDR_LE

#: float64s of a PoseWithCovariance (a pose: 3 + 4; the covariance: 36) and of a BoundingBox2D.
POSE_WITH_COVARIANCE_DOUBLES = 43
BOUNDING_BOX_2D_DOUBLES = 5


class _Reader:
    def __init__(self, data: bytes):
        if len(data) < 4:
            raise CdrError('no encapsulation header')
        kind = int.from_bytes(data[:2], 'big')
        if kind not in ENCAPSULATIONS:
            raise CdrError(f'encapsulation 0x{kind:04x} is not plain CDR')
        self.order = '>' if ENCAPSULATIONS[kind] else '<'
        self.data = memoryview(data)[4:]
        self.pos = 0

    def _align(self, size: int) -> None:
        self.pos += -self.pos % size

    def _take(self, size: int) -> memoryview:
        if self.pos + size > len(self.data):
            raise CdrError('buffer cut short')
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def uint32(self) -> int:
        self._align(4)
        return struct.unpack(self.order + 'I', self._take(4))[0]

    def float64(self) -> float:
        self._align(8)
        return struct.unpack(self.order + 'd', self._take(8))[0]

    def skip_float64s(self, count: int) -> None:
        self._align(8)
        self._take(8 * count)

    def string(self) -> str:
        length = self.uint32()                  # with its terminating NUL
        raw = bytes(self._take(length))
        return raw[:-1].decode('utf-8', 'replace') if length else ''

    def skip_header(self) -> None:
        self.uint32()                           # stamp.sec (int32)
        self.uint32()                           # stamp.nanosec
        self.string()                           # frame_id


def detection_hypotheses(data: bytes) -> List[List[Tuple[str, float]]]:
    """Return each detection's hypotheses (class_id, score) from a serialised Detection2DArray."""
    reader = _Reader(data)
    reader.skip_header()
    detections = []
    for _ in range(reader.uint32()):
        reader.skip_header()
        hypotheses = []
        for _ in range(reader.uint32()):
            class_id = reader.string()
            hypotheses.append((class_id, reader.float64()))
            reader.skip_float64s(POSE_WITH_COVARIANCE_DOUBLES)
        reader.skip_float64s(BOUNDING_BOX_2D_DOUBLES)
        reader.string()                         # id
        detections.append(hypotheses)
    return detections
