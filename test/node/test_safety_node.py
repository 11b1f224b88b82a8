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

"""The safety gate in a process of its own, fed and watched from this one."""

import math
import threading
import time

from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
import numpy as np
import pytest
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, LaserScan
from std_srvs.srv import SetBool, Trigger
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from perception.conversions import numpy_to_image, stamp_from_ns
from perception.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from support import publish_until, Spinner, wait_until

pytestmark = pytest.mark.node

FAST = ['-p', 'depth.required:=false', '-p', 'scan.timeout_s:=0.3', '-p', 'odom.timeout_s:=0.3',
        '-p', 'release_hold_s:=0.5']


class Feeder:
    """Publishes scan, odom and cmd_vel_in at 20 Hz; records cmd_vel and safety/state."""

    def __init__(self, context):
        self.node = Node('safety_feeder', context=context)
        self.pub_scan = self.node.create_publisher(LaserScan, 'scan', SENSOR_QOS)
        self.pub_odom = self.node.create_publisher(Odometry, 'odom', SENSOR_QOS)
        self.pub_cmd = self.node.create_publisher(Twist, 'cmd_vel_in', RELIABLE_QOS)
        self.pub_info = self.node.create_publisher(CameraInfo, 'camera/camera_info', SENSOR_QOS)
        self.pub_depth_info = self.node.create_publisher(CameraInfo, 'camera/depth/camera_info',
                                                         SENSOR_QOS)
        self.pub_depth = self.node.create_publisher(Image, 'camera/depth/image_raw', SENSOR_QOS)
        self.pub_det = self.node.create_publisher(Detection2DArray, 'detections', RELIABLE_QOS)
        self.reset = self.node.create_client(Trigger, 'safety/reset')
        self.enable = self.node.create_client(SetBool, 'safety/enable')
        self.commands = []  # (wall time, linear, angular)
        self.states = []    # (wall time, state, reason, level)
        self.node.create_subscription(Twist, 'cmd_vel', self._on_cmd, RELIABLE_QOS)
        self.node.create_subscription(DiagnosticStatus, 'safety/state', self._on_state,
                                      LATCHED_QOS)
        self.obstacle = None       # metres ahead of the robot's centre, or None
        self.scan_on = True
        self.odom_on = True
        self.command = 0.5
        self.stamp_offset = 0.0
        self.frame = 'laser'
        self.empty_ranges = False
        self.beams = 360           # ranges sent; fewer than the angles claim truncates the scan
        self.span = 360            # degrees the scan's angles claim, centred ahead
        self.first_intrusion_stamp = None
        self._stop = threading.Event()
        self.spinner = Spinner(self.node, context)
        self.publisher = threading.Thread(target=self._publish, daemon=True)
        self.publisher.start()

    def _on_cmd(self, msg):
        self.commands.append((time.time(), msg.linear.x, msg.angular.z))

    def _on_state(self, msg):
        values = {kv.key: kv.value for kv in msg.values}
        self.states.append((time.time(), values['state'], msg.message, msg.level, values))

    def scan(self):
        msg = LaserScan()
        stamp_ns = time.time_ns() + int(self.stamp_offset * 1e9)
        msg.header.stamp, msg.header.frame_id = stamp_from_ns(stamp_ns), self.frame
        msg.angle_increment = 2 * math.pi / 360
        msg.angle_min = -math.radians(self.span / 2)
        claimed = self.span if self.span == 360 else self.span + 1
        msg.angle_max = msg.angle_min + (claimed - 1) * msg.angle_increment
        msg.range_min, msg.range_max = 0.1, 15.0
        ranges = np.full(claimed, np.inf, np.float32)
        if self.obstacle is not None:
            ahead = claimed // 2  # the lidar sits 0.2 m ahead of the centre
            ranges[ahead - 3:ahead + 4] = self.obstacle - 0.2
            if self.first_intrusion_stamp is None:
                self.first_intrusion_stamp = stamp_ns / 1e9
        msg.ranges = [] if self.empty_ranges else ranges[:self.beams].tolist()
        return msg

    def _publish(self):
        while not self._stop.wait(0.05):
            now = time.time_ns()
            if self.scan_on:
                self.pub_scan.publish(self.scan())
            if self.odom_on:
                odom = Odometry()
                odom.header.stamp = stamp_from_ns(now)
                odom.header.frame_id, odom.child_frame_id = 'odom', 'base_link'
                self.pub_odom.publish(odom)
            cmd = Twist()
            cmd.linear.x = self.command
            self.pub_cmd.publish(cmd)

    def latest_state(self):
        return self.states[-1][1] if self.states else None

    def wait_state(self, state, timeout=10.0):
        return wait_until(lambda: self.latest_state() == state, timeout)

    def wait_command(self, predicate, timeout=10.0):
        return wait_until(lambda: self.commands and predicate(self.commands[-1][1]), timeout)

    def first_command_after(self, since, predicate, timeout=10.0):
        """Wait for a command received after `since` whose speed passes; return when it came."""
        found = []

        def seen():
            found[:] = [t for t, v, _ in list(self.commands) if t > since and predicate(v)][:1]
            return bool(found)
        return found[0] if wait_until(seen, timeout) else None

    def call(self, client, request, timeout=15.0):
        assert client.wait_for_service(timeout)
        future = client.call_async(request)
        assert wait_until(future.done, timeout)
        return future.result()

    def close(self):
        self._stop.set()
        self.publisher.join(2)
        self.spinner.close()


@pytest.fixture
def feeder(ros_context):
    feeder = Feeder(ros_context)
    yield feeder
    feeder.close()


def test_stopped_from_start_up_without_a_required_source_and_without_commands(gate, ros_context):
    node = gate(*FAST)
    # Only listens: no sensor and no command is ever published.
    listener = Node('safety_listener', context=ros_context)
    commands, states = [], []
    listener.create_subscription(Twist, 'cmd_vel', lambda m: commands.append(
        (time.time(), m.linear.x, m.angular.z)), RELIABLE_QOS)
    listener.create_subscription(DiagnosticStatus, 'safety/state',
                                 lambda m: states.append(m.message), LATCHED_QOS)
    spinner = Spinner(listener, ros_context)
    try:
        assert wait_until(lambda: len(commands) > 20, 20), node.output()
        start = len(commands)
        time.sleep(2.0)
        zeros = commands[start:]
        # The stop repeats on the gate's own timer with no cmd_vel_in at all: a steady stream
        # a base's watchdog (typically 0.5 s) never misses, even on a busy machine.
        gaps = [b[0] - a[0] for a, b in zip(zeros, zeros[1:])]
        assert len(zeros) >= 20 and max(gaps) < 0.5
        assert all(c[1] == 0.0 and c[2] == 0.0 for c in zeros)
        assert 'no message yet' in states[-1]
    finally:
        spinner.close()


def test_clear_passes_commands_and_an_intrusion_stops_the_robot(gate, feeder):
    node = gate(*FAST)
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 20), node.output()
    feeder.obstacle = 0.55  # at 0.5 m/s the stop field reaches 0.61 m from the centre
    assert feeder.wait_state('STOP', 10)
    first_zero = feeder.first_command_after(feeder.first_intrusion_stamp, lambda v: v == 0.0)
    # At once, not when some timeout ran out (the reaction time itself is bench-safety's).
    assert first_zero is not None and first_zero - feeder.first_intrusion_stamp < 0.25
    state = feeder.states[-1]
    assert float(state[4]['closest_m']) == pytest.approx(0.20, abs=0.02)
    assert state[4]['source'] == 'scan' and 'points in the stop field' in state[2]


def test_a_slow_zone_intrusion_scales_the_command(gate, feeder):
    node = gate(*FAST, '-p', 'slow_scale:=0.4')
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 20), node.output()
    feeder.obstacle = 1.3
    assert feeder.wait_state('SLOW', 10)
    assert feeder.wait_command(lambda v: v == pytest.approx(0.2), 10)


def test_a_silent_source_stops_within_its_timeout(gate, feeder):
    node = gate(*FAST)
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 20), node.output()
    feeder.scan_on = False
    silent_from = time.time()
    stopped = feeder.first_command_after(silent_from, lambda v: v == 0.0)
    # When the 0.3 s timeout ran out (the last scan came up to 50 ms before), not earlier.
    assert stopped is not None and 0.3 - 0.06 <= stopped - silent_from <= 1.0
    assert feeder.wait_state('STOP', 10) and 'scan: data' in feeder.states[-1][2]


@pytest.mark.parametrize('offset,reason', [(0.5, 'in the future'), (-0.6, 'old')])
def test_future_and_stale_stamps_stop(gate, feeder, offset, reason):
    node = gate(*FAST)
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 20), node.output()
    feeder.stamp_offset = offset
    assert feeder.wait_state('STOP', 10)
    assert reason in feeder.states[-1][2]
    assert feeder.wait_command(lambda v: v == 0.0, 10)


def test_release_waits_for_the_hold(gate, feeder):
    node = gate(*FAST)
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 20), node.output()
    feeder.obstacle = 0.55
    assert feeder.wait_state('STOP', 10)
    feeder.obstacle = None
    cleared = time.time()
    moving = feeder.first_command_after(cleared, lambda v: v > 0)
    # Not before the 0.5 s hold (the last scan with the obstacle came up to 50 ms later).
    assert moving is not None and 0.5 - 0.06 <= moving - cleared <= 2.0


def test_flickering_input_makes_at_most_one_transition_per_hold_window(gate, feeder):
    node = gate(*FAST)
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 20), node.output()
    start = len(feeder.states)
    for _ in range(10):  # blinks at 2.5 Hz, faster than the 0.5 s hold, for 2 s
        feeder.obstacle = 0.55
        time.sleep(0.1)
        feeder.obstacle = None
        time.sleep(0.1)
    states = [s[1] for s in feeder.states[start:]]
    changes = sum(1 for a, b in zip(states, states[1:]) if a != b)
    assert changes <= 1 and 'STOP' in states


def test_a_person_latches_the_stop_until_reset(gate, feeder):
    node = gate(*FAST, '-p', 'person_latch:=true')
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 20), node.output()
    info = CameraInfo(width=640, height=480)
    fy = 240 / math.tan(math.radians(30))  # the simulator's camera
    info.k = [fy, 0.0, 319.5, 0.0, fy, 239.5, 0.0, 0.0, 1.0]
    detections = Detection2DArray()
    person = Detection2D()
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id, hypothesis.hypothesis.score = 'person', 0.9
    person.results = [hypothesis]
    # Feet cut off by the bottom edge: closer than the 1.5 m the camera sees the floor from.
    person.bbox.center.position.x, person.bbox.center.position.y = 319.5, 300.0
    person.bbox.size_x, person.bbox.size_y = 80.0, 360.0
    detections.detections = [person]
    for _ in range(10):
        feeder.pub_info.publish(info)
        detections.header.stamp = stamp_from_ns(time.time_ns())
        feeder.pub_det.publish(detections)
        time.sleep(0.05)
    assert feeder.wait_state('STOP_LATCHED', 10), feeder.states[-1]
    time.sleep(2.0)  # the person is gone (no detections), the latch holds
    assert feeder.latest_state() == 'STOP_LATCHED'
    assert feeder.commands[-1][1] == 0.0
    result = feeder.call(feeder.reset, Trigger.Request())
    assert result.success, result.message
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 10)


def test_bad_messages_keep_it_alive_and_stopped(gate, feeder, tmp_path):
    node = gate('-p', 'scan.timeout_s:=0.3', '-p', 'odom.timeout_s:=0.3',
                '-p', 'depth.required:=true')
    info = CameraInfo(width=8, height=6)
    info.k = [5.0, 0.0, 3.5, 0.0, 5.0, 2.5, 0.0, 0.0, 1.0]
    depth = np.full((6, 8, 3), 3, np.uint8)

    def publish_wrong_encoding():
        feeder.pub_depth_info.publish(info)
        image = numpy_to_image(depth, 'rgb8')
        image.header.stamp = stamp_from_ns(time.time_ns())
        image.header.frame_id = 'camera_optical_frame'
        feeder.pub_depth.publish(image)

    # Published until the gate has heard it: it may take a while to start on a busy machine.
    assert publish_until(publish_wrong_encoding, lambda: feeder.states and
                         "encoding 'rgb8'" in feeder.states[-1][2], 30), node.output()
    assert feeder.states[-1][3] == DiagnosticStatus.ERROR
    assert feeder.commands[-1][1] == 0.0
    feeder.frame = 'base_scan'
    time.sleep(0.3)
    feeder.frame = 'laser'
    feeder.empty_ranges = True
    time.sleep(0.3)
    assert node.alive() and feeder.commands[-1][1] == 0.0
    assert "frame 'base_scan', expected 'laser'" in node.output()
    assert 'scan has no ranges' in node.output()


def test_an_unsafe_configuration_is_refused_at_start(gate):
    node = gate('-p', 'max_speed:=2.0', '-p', 'max_field_length_m:=1.0')
    assert node.process.wait(20) == 2
    assert 'unsafe configuration refused' in node.output()
    assert 'needs 1.73 m to stop' in node.output()


def test_disabling_is_reported_and_passes_commands(gate, feeder):
    node = gate(*FAST)
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 20), node.output()
    feeder.obstacle = 0.55
    assert feeder.wait_state('STOP', 10)
    assert feeder.call(feeder.enable, SetBool.Request(data=False)).success
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 10)
    assert wait_until(lambda: 'DISABLED' in feeder.states[-1][2], 10)
    assert feeder.states[-1][4]['enabled'] == 'false'
    assert feeder.call(feeder.enable, SetBool.Request(data=True)).success
    assert feeder.wait_command(lambda v: v == 0.0, 10)


def test_a_truncated_scan_is_malformed_and_stops(gate, feeder):
    node = gate(*FAST)
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 20), node.output()
    feeder.beams = 180  # half the ranges its angles claim: half the circle is not covered
    assert feeder.wait_state('STOP', 10)
    assert 'does not cover what it claims' in feeder.states[-1][2]
    assert feeder.states[-1][3] == DiagnosticStatus.ERROR
    assert feeder.wait_command(lambda v: v == 0.0, 10)
    feeder.beams = 360
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 10)


def test_a_lidar_narrower_than_the_stop_field_stops_with_the_sector_named(gate, feeder):
    node = gate(*FAST)
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 20), node.output()
    feeder.span = 180  # a well-formed scan of the front half only
    assert feeder.wait_state('STOP', 10)
    reason = feeder.states[-1][2]
    assert 'not covered by any required sensor' in reason and '(behind)' in reason, reason
    assert feeder.wait_command(lambda v: v == 0.0, 10)


def test_by_default_a_person_stop_resumes_once_the_field_is_clear_of_people(gate, feeder):
    node = gate(*FAST, '-p', 'person_hold_s:=1.0', '-p', 'person_memory_s:=0.3')
    assert feeder.wait_command(lambda v: v == pytest.approx(0.5), 20), node.output()
    info = CameraInfo(width=640, height=480)
    fy = 240 / math.tan(math.radians(30))
    info.k = [fy, 0.0, 319.5, 0.0, fy, 239.5, 0.0, 0.0, 1.0]
    detections = Detection2DArray()
    person = Detection2D()
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id, hypothesis.hypothesis.score = 'person', 0.9
    person.results = [hypothesis]
    person.bbox.center.position.x, person.bbox.center.position.y = 319.5, 300.0
    person.bbox.size_x, person.bbox.size_y = 80.0, 360.0  # feet cut off: right ahead
    detections.detections = [person]

    def publish():
        feeder.pub_info.publish(info)
        detections.header.stamp = stamp_from_ns(time.time_ns())
        feeder.pub_det.publish(detections)

    assert publish_until(publish, lambda: feeder.latest_state() == 'STOP', 20)
    gone = time.time()
    assert feeder.first_command_after(gone, lambda v: v == 0.0) is not None
    # Not latched: no reset is needed.
    resumed = feeder.first_command_after(gone, lambda v: v > 0, 30)
    # person_memory 0.3 s, then the 1 s hold, then the 0.5 s release hold, at the least.
    assert resumed is not None and resumed - gone >= 1.0 + 0.5 - 0.1
