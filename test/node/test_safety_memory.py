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

"""The gate in its own process, on a base this test drives: what leaves the view is kept."""

import math
import os
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
import pytest
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, LaserScan
import yaml

from perception.conversions import numpy_to_image, stamp_from_ns
from perception.core.sensor_points import Mount
from perception.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from support import render_depth, Spinner, wait_until

pytestmark = pytest.mark.node

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CAMERA = Mount(x=0.3, z=1.0, pitch=math.radians(10))   # config/robot.yaml's camera
FY = 60 / math.tan(math.radians(30))                     # 160x120 at 60 degrees
INTRINSICS = (FY, FY, 79.5, 59.5)
BOX = (2.0, 2.3, -0.2, 0.2, 0.0, 0.15)                   # odom: below the lidar's plane


class Base:
    """A robot base on a straight line: follows cmd_vel, publishes odom, scan and depth."""

    def __init__(self, context, scans=('scan',), box=BOX):
        self.node = Node('safety_base', context=context)
        self.pub_odom = self.node.create_publisher(Odometry, 'odom', SENSOR_QOS)
        self.pub_scans = {t: self.node.create_publisher(LaserScan, t, SENSOR_QOS) for t in scans}
        self.pub_depth = self.node.create_publisher(Image, 'camera/depth/image_raw', SENSOR_QOS)
        self.pub_info = self.node.create_publisher(CameraInfo, 'camera/depth/camera_info',
                                                   SENSOR_QOS)
        self.pub_cmd = self.node.create_publisher(Twist, 'cmd_vel_in', RELIABLE_QOS)
        self.states, self.diagnostics = [], []
        self.node.create_subscription(Twist, 'cmd_vel', self._on_cmd, RELIABLE_QOS)
        self.node.create_subscription(DiagnosticStatus, 'safety/state', self._on_state,
                                      LATCHED_QOS)
        self.node.create_subscription(DiagnosticArray, '/diagnostics',
                                      lambda m: self.diagnostics.extend(m.status), RELIABLE_QOS)
        self.box = box
        self.x = 0.0
        self.speed = 0.0          # what the gate lets through
        self.command = 0.5
        self.silent = set()       # scan topics not published
        self.max_x = 0.0
        self._stop = threading.Event()
        self.spinner = Spinner(self.node, context)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _on_cmd(self, msg):
        self.speed = msg.linear.x

    def _on_state(self, msg):
        values = {kv.key: kv.value for kv in msg.values}
        self.states.append((time.time(), values['state'], msg.message, values))

    def _run(self):
        info = CameraInfo(width=160, height=120)
        info.k = [FY, 0.0, 79.5, 0.0, FY, 59.5, 0.0, 0.0, 1.0]
        last, tick = time.monotonic(), 0
        while not self._stop.wait(0.02):
            now = time.monotonic()
            self.x += self.speed * (now - last)  # the base moves as the gate commands
            last = now
            self.max_x = max(self.max_x, self.x)
            stamp = stamp_from_ns(time.time_ns())
            odom = Odometry()
            odom.header.stamp, odom.header.frame_id = stamp, 'odom'
            odom.pose.pose.position.x = self.x
            odom.pose.pose.orientation.w = 1.0
            odom.twist.twist.linear.x = self.speed
            self.pub_odom.publish(odom)
            cmd = Twist()
            cmd.linear.x = self.command
            self.pub_cmd.publish(cmd)
            tick += 1
            if tick % 3:
                continue
            for topic, pub in self.pub_scans.items():
                if topic not in self.silent:
                    scan = LaserScan()
                    frame = topic.replace('scan', 'laser')
                    scan.header.stamp, scan.header.frame_id = stamp, frame
                    scan.angle_increment = 2 * math.pi / 360
                    scan.angle_min = -math.pi
                    scan.angle_max = scan.angle_min + 359 * scan.angle_increment
                    scan.range_min, scan.range_max = 0.1, 15.0
                    scan.ranges = [math.inf] * 360  # the box is below every lidar's plane
                    pub.publish(scan)
            box = [] if self.box is None else [
                (self.box[0] - self.x, self.box[1] - self.x) + tuple(self.box[2:])]
            depth = render_depth(CAMERA, INTRINSICS, 160, 120, box)
            image = numpy_to_image(depth, '32FC1')
            image.header.stamp, image.header.frame_id = stamp, 'camera_optical_frame'
            info.header = image.header
            self.pub_info.publish(info)
            self.pub_depth.publish(image)

    def state(self):
        return self.states[-1] if self.states else (0, None, '', {})

    def close(self):
        self._stop.set()
        self.thread.join(2)
        self.spinner.close()


def test_a_low_box_that_leaves_the_view_stops_the_robot_short_and_keeps_it_stopped(
        gate, ros_context):
    base = Base(ros_context)
    try:
        node = gate('-p', 'detections.required:=false')
        assert wait_until(lambda: base.x > 0.2, 30), node.output()
        # It drives on, sees the box, slows and stops short of it: then the box is out of
        # the camera's view (below its lowest ray) and under the lidar's plane. (A busy
        # machine may stop it on the way for late data too: that is another reason.)
        assert wait_until(lambda: base.state()[1] == 'STOP' and 'in the stop field' in
                          base.state()[2] and base.speed == 0.0, 40), base.state()
        stopped_at = base.x
        time.sleep(3.0)
        state = base.state()
        assert state[1] == 'STOP' and 'remembered' in state[2], state
        assert base.max_x - stopped_at < 0.05
        clearance = BOX[0] - (base.max_x + 0.35)
        assert 0.05 < clearance < 1.0, clearance
        assert int(state[3]['remembered']) > 0
    finally:
        base.close()


def test_a_second_lidar_is_one_more_source_in_yaml(gate, ros_context, tmp_path):
    robot = yaml.safe_load(open(os.path.join(ROOT, 'config', 'robot.yaml'), encoding='utf-8'))
    robot['sensors']['rear_lidar'] = {'type': 'lidar', 'frame_id': 'rear_laser', 'x': -0.3,
                                      'z': 0.25, 'yaw_deg': 180.0, 'fov_deg': 360.0}
    (tmp_path / 'robot.yaml').write_text(yaml.safe_dump(robot))
    params = {'/**/safety': {'ros__parameters': {
        'robot_description': str(tmp_path / 'robot.yaml'),
        'sources': ['scan', 'rear_scan', 'depth', 'odom', 'detections'],
        'rear_scan': {'kind': 'scan', 'topic': 'rear_scan', 'sensor': 'rear_lidar',
                      'required': True, 'timeout_s': 0.3, 'max_gap_deg': 3.0}}}}
    (tmp_path / 'params.yaml').write_text(yaml.safe_dump(params))
    base = Base(ros_context, scans=('scan', 'rear_scan'), box=None)
    try:
        node = gate('--params-file', str(tmp_path / 'params.yaml'))
        assert wait_until(lambda: base.x > 0.2, 30), node.output()
        assert 'rear_scan (scan, required)' in node.output()
        base.silent.add('rear_scan')  # the second lidar falls silent: a required source
        assert wait_until(lambda: base.state()[1] == 'STOP' and
                          base.state()[2].startswith('rear_scan:'), 15), base.state()
        base.silent.clear()
        assert wait_until(lambda: base.speed > 0.0, 15), base.state()
    finally:
        base.close()


def test_a_source_without_its_parameters_is_refused_by_name(gate, tmp_path):
    params = {'/**/safety': {'ros__parameters': {
        'sources': ['scan', 'depth', 'odom', 'sonar'], 'sonar': {'kind': 'scan'}}}}
    (tmp_path / 'params.yaml').write_text(yaml.safe_dump(params))
    node = gate('--params-file', str(tmp_path / 'params.yaml'))
    assert node.process.wait(20) == 2
    assert 'parameter sonar.topic is not set' in node.output()
