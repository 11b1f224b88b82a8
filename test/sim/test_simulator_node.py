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

"""The simulator node in a process of its own, heard from this one."""

import math
import os
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
import numpy as np
import pytest
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, LaserScan
import yaml

from perception.conversions import image_to_numpy, stamp_to_ns
from perception.qos import RELIABLE_QOS
from perception.sim.recorder import read_ground_truth
from support import NodeStarter, Spinner, wait_until

pytestmark = [pytest.mark.node, pytest.mark.sim]

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

TOPICS = {'camera/image_raw': Image, 'camera/camera_info': CameraInfo,
          'camera/depth/image_raw': Image, 'camera/depth/camera_info': CameraInfo,
          'scan': LaserScan, 'odom': Odometry}


class Listener:
    """Keeps every message of the simulator's topics, with its stamp."""

    def __init__(self, context):
        self.node = Node('sim_listener', context=context)
        self.messages = {name: [] for name in TOPICS}
        self.clock = []
        self.diagnostics = {}
        self.lock = threading.Lock()
        # Best effort as the sensors publish, with a deep queue: a busy listener takes late.
        deep = QoSProfile(reliability=ReliabilityPolicy.BEST_EFFORT, depth=50)
        for name, kind in TOPICS.items():
            self.node.create_subscription(kind, name, self._keep(name), deep)
        self.node.create_subscription(Clock, '/clock', self.clock.append, RELIABLE_QOS)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._diag, RELIABLE_QOS)
        self.cmd = self.node.create_publisher(Twist, 'cmd_vel', RELIABLE_QOS)
        self.spinner = Spinner(self.node, context)

    def _keep(self, name):
        def keep(msg):
            with self.lock:
                self.messages[name].append(msg)
        return keep

    def _diag(self, msg):
        for status in msg.status:
            self.diagnostics[status.name] = (status.level, status.message,
                                             {kv.key: kv.value for kv in status.values})

    def stamps(self, name):
        with self.lock:
            return [stamp_to_ns(m.header.stamp) / 1e9 for m in self.messages[name]]

    def send(self, linear, angular, seconds, rate=20.0):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            msg = Twist()
            msg.linear.x, msg.angular.z = linear, angular
            self.cmd.publish(msg)
            time.sleep(1 / rate)

    def close(self):
        self.spinner.close()


@pytest.fixture
def listener(ros_context):
    listener = Listener(ros_context)
    yield listener
    listener.close()


@pytest.fixture
def simulator(tmp_path):
    starter = NodeStarter('simulator_node', tmp_path)
    yield starter
    starter.kill_all()


def unbroken_rate(stamps, expected, span=1.0):
    """
    Return the rate that stamps in simulated time show over their longest unbroken run.

    A listener in a busy process may still lose a best-effort message, so counting what arrived
    per second of wall time measures delivery, not publishing. The stamps are exact: within a run
    where no gap is near two periods, messages per simulated second is the publishing rate (to
    the 10 ms clock tick each stamp may lag its due time). None until a run spans `span` s.
    """
    t = np.asarray(stamps)
    broken = np.flatnonzero(np.diff(t) > 1.75 / expected)
    runs = [t[a:b] for a, b in zip(np.r_[0, broken + 1], np.r_[broken + 1, len(t)])]
    longest = max(runs, key=lambda run: run[-1] - run[0] if len(run) else 0.0)
    if len(longest) < 2 or longest[-1] - longest[0] < span:
        return None
    return (len(longest) - 1) / (longest[-1] - longest[0])


def test_sensors_arrive_at_their_rates_with_the_right_encodings(simulator, listener, tmp_path):
    truth = tmp_path / 'gt.jsonl'
    robot = yaml.safe_load(open(os.path.join(ROOT, 'config', 'robot.yaml'), encoding='utf-8'))
    robot['sensors']['camera'].update(width=320, height=240)
    (tmp_path / 'robot.yaml').write_text(yaml.safe_dump(robot))
    node = simulator('-p', 'scenario:=aisle_clear', '-p', 'duration_s:=60.0',
                     '-p', f'robot_description:={tmp_path / "robot.yaml"}',
                     '-p', f'ground_truth_file:={truth}')
    rates = {'camera/image_raw': 15.0, 'camera/depth/image_raw': 15.0, 'scan': 10.0,
             'odom': 50.0}
    assert wait_until(lambda: all(unbroken_rate(listener.stamps(name), rate, 2.0)
                                  for name, rate in rates.items()), 120), node.output()
    for name, expected in rates.items():
        # Over 2 s, the stamps' 10 ms quantization leaves the rate within 1%.
        assert unbroken_rate(listener.stamps(name), expected, 2.0) == \
            pytest.approx(expected, rel=0.01), name
    assert len(listener.clock) > 50
    image = listener.messages['camera/image_raw'][-1]
    assert (image.encoding, image.width, image.height) == ('rgb8', 320, 240)
    assert image.header.frame_id == 'camera_optical_frame'
    depth = listener.messages['camera/depth/image_raw'][-1]
    assert depth.encoding == '32FC1'
    values = image_to_numpy(depth)
    assert values.shape == (240, 320) and np.nanmax(values) <= 10.0
    info = listener.messages['camera/camera_info'][-1]
    fy = 120 / math.tan(math.radians(30))
    assert info.k[0] == pytest.approx(fy) and info.k[4] == pytest.approx(fy)
    assert (info.k[2], info.k[5]) == (159.5, 119.5)
    scan = listener.messages['scan'][-1]
    assert len(scan.ranges) == 360 and scan.header.frame_id == 'laser'
    assert scan.angle_increment == pytest.approx(2 * math.pi / 360)
    odom = listener.messages['odom'][-1]
    assert (odom.header.frame_id, odom.child_frame_id) == ('odom', 'base_link')
    for name in ('camera/image_raw', 'scan', 'odom'):
        stamps = listener.stamps(name)
        assert all(b > a for a, b in zip(stamps, stamps[1:])), name


def test_the_robot_follows_cmd_vel_and_odom_agrees_with_the_truth(
        simulator, listener, tmp_path):
    truth = tmp_path / 'gt.jsonl'
    node = simulator('-p', 'scenario:=aisle_clear', '-p', 'duration_s:=9.0',
                     '-p', 'camera_rate_hz:=2.0', '-p', 'ground_truth_rate_hz:=50.0',
                     '-p', f'ground_truth_file:={truth}')
    assert wait_until(lambda: listener.messages['odom'], 60), node.output()
    listener.send(0.8, 0.2, 3.0)
    assert node.process.wait(30) == 0  # exits at the end of its duration
    odoms = listener.messages['odom']
    last = odoms[-1].pose.pose.position
    assert last.x > 1.0 and last.y > 0.05  # drove forward, turning left
    steps = {round(r['t'], 2): r['robot'] for r in read_ground_truth(str(truth))
             if r['type'] == 'step'}
    compared = 0
    for msg in odoms:
        t = round(stamp_to_ns(msg.header.stamp) / 1e9, 2)
        if t in steps:
            assert msg.pose.pose.position.x == pytest.approx(steps[t]['x'], abs=1e-3)
            assert msg.pose.pose.position.y == pytest.approx(steps[t]['y'], abs=1e-3)
            compared += 1
    assert compared > 50


def test_nan_and_absurd_commands_are_ignored_and_reported(simulator, listener):
    node = simulator('-p', 'scenario:=aisle_clear', '-p', 'duration_s:=60.0',
                     '-p', 'camera_rate_hz:=2.0')
    assert wait_until(lambda: listener.messages['odom'], 60), node.output()
    listener.send(float('nan'), 0.0, 1.0)
    listener.send(50.0, 0.0, 1.0)
    assert abs(listener.messages['odom'][-1].twist.twist.linear.x) < 1e-3
    assert wait_until(lambda: int(listener.diagnostics.get('simulator: simulation', (
        0, '', {'commands_rejected': '0'}))[2]['commands_rejected']) >= 20, 30)
    level, message, _ = listener.diagnostics['simulator: simulation']
    assert level == b'\x01' and 'ignored' in message
    assert node.alive()


def test_the_base_stops_when_commands_stop(simulator, listener):
    node = simulator('-p', 'scenario:=aisle_clear', '-p', 'duration_s:=60.0',
                     '-p', 'camera_rate_hz:=2.0', '-p', 'cmd_vel_timeout_s:=0.3')
    assert wait_until(lambda: listener.messages['odom'], 60), node.output()
    end = time.monotonic() + 30
    while listener.messages['odom'][-1].twist.twist.linear.x < 0.5:
        listener.send(1.0, 0.0, 0.2)
        assert time.monotonic() < end, 'the base never sped up'
    silent_from = listener.stamps('odom')[-1]
    # 0.3 s watchdog, then at most 1.5 m/s at 2 m/s^2: stopped 1.1 s of simulated time later.
    assert wait_until(lambda: listener.stamps('odom')[-1] > silent_from + 1.5, 30)
    assert abs(listener.messages['odom'][-1].twist.twist.linear.x) < 0.01


def test_a_bad_scenario_is_a_clear_error(simulator, tmp_path):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('name: x\nduration_s: 5\nlayout: {floor_x: [0, 5], floor_y: [0, 5], '
                   'shelves: []}\nrobot: {start: [1, 1, 0], route: {speed: 1, '
                   'waypoints: [[2, 2]]}}\n')
    node = simulator('-p', f'scenario:={bad}')
    assert node.process.wait(30) == 2
    assert 'unknown key shelves in layout' in node.output()
