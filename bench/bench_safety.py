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
Safety gate reaction time: from the triggering message's stamp to the zero command received.

The gate runs in its own process. This process publishes scan (20 Hz), odom (50 Hz) and
cmd_vel_in (20 Hz, 0.5 m/s), puts an obstacle into the stop field at a random moment, and
times from the stamp of the first scan that shows it to the arrival here of the first zero
cmd_vel; then clears it, waits for the release and repeats. Meanwhile the camera node (640x480,
30 Hz) and the simulator (real time, rendering and ray casting) load the CPU, in a DDS domain of
their own so that they cannot feed the gate. The last line of output is one JSON object.

Usage: bench/bench_safety.py [--trials 300]
"""

import argparse
import json
import math
import os
import platform
import random
import subprocess
import sys
import threading
import time

from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
import numpy as np
import psutil
import rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import LaserScan

from perception.conversions import stamp_from_ns
from perception.launcher import find_executable, stack_environment
from perception.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS


class Rig:
    """Feeds the gate and watches what it commands."""

    def __init__(self):
        self.node = rclpy.create_node('safety_bench')
        self.pub_scan = self.node.create_publisher(LaserScan, 'scan', SENSOR_QOS)
        self.pub_odom = self.node.create_publisher(Odometry, 'odom', SENSOR_QOS)
        self.pub_cmd = self.node.create_publisher(Twist, 'cmd_vel_in', RELIABLE_QOS)
        self.node.create_subscription(Twist, 'cmd_vel', self._on_cmd, RELIABLE_QOS)
        self.node.create_subscription(DiagnosticStatus, 'safety/state', self._on_state,
                                      LATCHED_QOS)
        self.lock = threading.Lock()
        self.obstacle = False
        self.intrusion_stamp = None   # stamp of the first scan that showed the obstacle
        self.first_zero = None        # receipt time of the first zero command after it
        self.last_command = None
        self.state = {}
        self._stop = threading.Event()
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        threading.Thread(target=self.executor.spin, daemon=True).start()
        threading.Thread(target=self._publish, daemon=True).start()

    def _on_cmd(self, msg):
        received = time.time()
        with self.lock:
            self.last_command = msg.linear.x
            if self.intrusion_stamp is not None and self.first_zero is None and \
                    msg.linear.x == 0.0 and received >= self.intrusion_stamp:
                self.first_zero = received

    def _on_state(self, msg):
        self.state = {kv.key: kv.value for kv in msg.values}

    def _scan(self):
        msg = LaserScan()
        msg.header.frame_id = 'laser'
        msg.angle_min, msg.angle_increment = -math.pi, 2 * math.pi / 360
        msg.angle_max = msg.angle_min + 359 * msg.angle_increment
        msg.range_min, msg.range_max = 0.1, 15.0
        ranges = np.full(360, np.inf, np.float32)
        with self.lock:
            if self.obstacle:
                ranges[176:185] = 0.35  # 0.55 m ahead of the centre: in the stop field
            now_ns = time.time_ns()
            msg.header.stamp = stamp_from_ns(now_ns)
            if self.obstacle and self.intrusion_stamp is None:
                self.intrusion_stamp = now_ns / 1e9
        msg.ranges = ranges.tolist()
        return msg

    def _publish(self):
        tick = 0
        while not self._stop.wait(0.02):
            tick += 1
            odom = Odometry()
            odom.header.stamp = stamp_from_ns(time.time_ns())
            odom.header.frame_id, odom.child_frame_id = 'odom', 'base_link'
            self.pub_odom.publish(odom)
            if tick % 2 == 0:
                self.pub_scan.publish(self._scan())
            if tick % 2 == 1:
                cmd = Twist()
                cmd.linear.x = 0.5
                self.pub_cmd.publish(cmd)

    def moving(self):
        with self.lock:
            return self.last_command is not None and self.last_command > 0.0

    def intrude(self):
        with self.lock:
            self.intrusion_stamp, self.first_zero, self.obstacle = None, None, True

    def clear(self):
        with self.lock:
            self.obstacle = False

    def reaction(self):
        with self.lock:
            if self.first_zero is None or self.intrusion_stamp is None:
                return None
            return self.first_zero - self.intrusion_stamp

    def close(self):
        self._stop.set()
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()


def wait(predicate, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.002)
    return False


def start(command, env):
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--trials', type=int, default=300)
    parser.add_argument('--no-load', action='store_true', help='skip the CPU load processes')
    args = parser.parse_args()
    env = stack_environment()
    os.environ.update(env)
    domain = 1 + os.getpid() % 90
    gate_env = dict(env, ROS_DOMAIN_ID=str(domain))
    load_env = dict(env, ROS_DOMAIN_ID=str(domain + 5))
    os.environ['ROS_DOMAIN_ID'] = str(domain)
    load = [] if args.no_load else [
        start([find_executable('perception', 'camera_node'), '--ros-args', '-p', 'fps:=30.0'],
              load_env),
        start([find_executable('perception', 'simulator_node'), '--ros-args',
               '-p', 'scenario:=person_crossing', '-p', 'duration_s:=3600.0',
               '-p', 'realtime:=true'], load_env)]
    gate = start([find_executable('perception', 'safety_node'), '--ros-args',
                  '-p', 'depth.required:=false', '-p', 'release_hold_s:=0.2'], gate_env)
    rclpy.init()
    rig = Rig()
    reactions, missed = [], 0
    cpu = {}
    try:
        if not wait(rig.moving, 30):
            raise RuntimeError('the gate never passed a command')
        procs = {'gate': psutil.Process(gate.pid)}
        procs.update({f'load{i}': psutil.Process(p.pid) for i, p in enumerate(load)})
        before = {k: sum(p.cpu_times()[:2]) for k, p in procs.items()}
        started = time.monotonic()
        print(f'safety bench: {args.trials} intrusions, load: '
              f'{"none" if args.no_load else "camera node 640x480@30 Hz + simulator"}',
              flush=True)
        for trial in range(args.trials):
            time.sleep(random.uniform(0.0, 0.1))  # intrusions at random phases of the scans
            rig.intrude()
            if wait(lambda: rig.reaction() is not None, 1.0):
                reactions.append(rig.reaction() * 1000)
            else:
                missed += 1
            rig.clear()
            if not wait(rig.moving, 3.0):
                raise RuntimeError(f'the gate did not release after trial {trial}')
            if (trial + 1) % 50 == 0:
                print(f'  {trial + 1} trials, p99 so far {np.percentile(reactions, 99):.1f} ms',
                      flush=True)
        elapsed = time.monotonic() - started
        cpu = {k: round(100 * (sum(p.cpu_times()[:2]) - before[k]) / elapsed, 1)
               for k, p in procs.items()}
        deadline_misses = int(rig.state.get('deadline_misses', -1))
    finally:
        rig.close()
        rclpy.try_shutdown()
        for process in [gate] + load:
            process.terminate()
        for process in [gate] + load:
            process.wait(10)
    r = np.array(reactions)
    result = {
        'machine': f'{platform.node()} {platform.machine()} {psutil.cpu_count()} cores',
        'trials': len(reactions), 'missed': missed,
        'reaction_p50_ms': round(float(np.percentile(r, 50)), 2),
        'reaction_p90_ms': round(float(np.percentile(r, 90)), 2),
        'reaction_p99_ms': round(float(np.percentile(r, 99)), 2),
        'reaction_max_ms': round(float(r.max()), 2),
        'reaction_mean_ms': round(float(r.mean()), 2),
        'gate_deadline_misses': deadline_misses,
        'cpu_percent': cpu, 'load': not args.no_load,
    }
    result['target_met'] = result['reaction_p99_ms'] <= 100.0 and missed == 0
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
