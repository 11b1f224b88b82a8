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

"""Classes and scores read from serialised detections, against rclpy's own deserialisation."""

import random
import struct

import pytest
from rclpy.serialization import serialize_message
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from perception.core.cdr import CdrError, detection_hypotheses


def random_array(rng):
    msg = Detection2DArray()
    msg.header.frame_id = rng.choice(['', 'camera_optical_frame', 'ü' * rng.randint(0, 9)])
    msg.header.stamp.sec, msg.header.stamp.nanosec = rng.randint(0, 2**31 - 1), 7
    for _ in range(rng.randint(0, 12)):
        det = Detection2D()
        det.header.frame_id = 'x' * rng.randint(0, 5)
        det.id = str(rng.randint(0, 10**rng.randint(0, 6)))
        det.bbox.center.position.x, det.bbox.size_y = rng.random() * 640, rng.random()
        for _ in range(rng.randint(0, 3)):
            hypothesis = ObjectHypothesisWithPose()
            hypothesis.hypothesis.class_id = rng.choice(['person', 'forklift', 'box', '', 'a'])
            hypothesis.hypothesis.score = rng.random()
            hypothesis.pose.covariance[rng.randint(0, 35)] = rng.random()
            hypothesis.pose.pose.orientation.w = 1.0
            det.results.append(hypothesis)
        msg.detections.append(det)
    return msg


def test_the_reader_agrees_with_rclpy_on_every_layout():
    rng = random.Random(4)
    for _ in range(300):  # odd string lengths move every later field's alignment
        msg = random_array(rng)
        expected = [[(r.hypothesis.class_id, r.hypothesis.score) for r in det.results]
                    for det in msg.detections]
        assert detection_hypotheses(serialize_message(msg)) == expected


class BigEndian:
    """Writes CDR big endian, aligned as CDR aligns."""

    def __init__(self):
        self.data = bytearray()

    def align(self, size):
        self.data += b'\0' * (-len(self.data) % size)

    def u32(self, value):
        self.align(4)
        self.data += struct.pack('>I', value)

    def f64(self, *values):
        self.align(8)
        self.data += struct.pack(f'>{len(values)}d', *values)

    def string(self, text):
        self.u32(len(text) + 1)
        self.data += text.encode() + b'\0'

    def header(self):
        self.u32(5)
        self.u32(6)
        self.string('cam')


def test_big_endian_cdr_is_read_too():
    out = BigEndian()
    out.header()
    out.u32(2)                                   # two detections
    for hypotheses in ([('p', 0.5), ('box', 0.25)], []):
        out.header()
        out.u32(len(hypotheses))
        for class_id, score in hypotheses:
            out.string(class_id)
            out.f64(score)
            out.f64(*[1.0] * 43)                 # the pose and its covariance
        out.f64(*[2.0] * 5)                      # the box
        out.string('id')
    assert detection_hypotheses(b'\x00\x00\x00\x00' + bytes(out.data)) == [
        [('p', 0.5), ('box', 0.25)], []]


@pytest.mark.parametrize('data, problem', [
    (b'', 'no encapsulation'), (b'\x00\x07\x00\x00' + b'\0' * 64, 'not plain CDR'),
    (b'\x00\x01\x00\x00\x00\x00', 'cut short'),
])
def test_what_it_cannot_read_is_said(data, problem):
    with pytest.raises(CdrError, match=problem):
        detection_hypotheses(data)


def test_a_count_larger_than_the_buffer_is_cut_short_not_a_hang():
    data = bytearray(serialize_message(Detection2DArray()))
    data[-4:] = (2**31).to_bytes(4, 'little')    # the detections' count, after the header
    with pytest.raises(CdrError, match='cut short'):
        detection_hypotheses(bytes(data))
