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
The simulated warehouse as a robot: camera, depth, scan, odom and /clock, driven by cmd_vel.

A simulation thread steps the MuJoCo world, renders and publishes each sensor at its rate
(stamped with simulated time) and paces itself to the wall clock, or runs as fast as it can. The
cmd_vel callback only stores the newest valid command; NaN or absurd commands are ignored and
reported, and a base watchdog stops the robot when commands stop coming.

Lockstep (parameter `lockstep`, for campaigns): running as fast as it can, the simulator would
leave a slow detector behind, and what the stack saw would depend on the machine's load. In
lockstep it holds simulated time at zero until every node of `lockstep_nodes` is in the graph
with the topics perception.stack gives it and the detector has answered a frame, then publishes
no camera frame before the detections of the one before came back, and keeps within
`lockstep_lag_s` of the safety gate's newest decision (the time in its safety/state) and of the
newest frame without its detections: the detector sees every frame, and the gate its data and
detections, within the lag, whatever the load. The base's watchdog then counts simulated time.

The ground truth records the safety gate's state changes (safety/state) as the simulator heard
them, for the reports' stops and person latches.
"""

import array
import math
import os
import threading
import time

from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
import numpy as np
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, LaserScan
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from perception import diagnostics, stack
from perception.conversions import calibration_to_camera_info, numpy_to_image, stamp_from_ns
from perception.conversions import serialized_stamp_ns
from perception.core.calibration import CameraCalibration
from perception.core.optional import require
from perception.core.twist import twist_problem
from perception.node_main import run_node
from perception.params import config_path, declare_parameters, ParamSpec
from perception.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from perception.sensor_geometry import load_robot_description, ROBOT_PARAM

P = ParamSpec
PARAMS = [
    P('scenario', 'Scenario: a name under config/scenarios/ or a path to a YAML file.'),
    P('realtime', 'Pace the simulation to the wall clock; false runs as fast as it can.'),
    P('realtime_factor', 'With realtime: simulated seconds per wall second.',
      min_value=0.05, max_value=20.0),
    P('duration_s', "How long to simulate; 0 takes the scenario's duration.",
      min_value=0.0, max_value=86400.0),
    P('exit_at_end', 'Exit with status 0 when the duration is over.'),
    P('seed', 'Seed of the sensor noise.', min_value=0, max_value=2 ** 31 - 1),
    P('ground_truth_file', 'Where to write ground truth (JSON lines); empty for none.'),
    P('ground_truth_boxes', "Render segmentation to record each frame's object boxes."),
    P('ground_truth_rate_hz', 'Rate of ground-truth pose records.', min_value=1.0,
      max_value=500.0),
    P('clock_rate_hz', 'Rate of /clock.', min_value=10.0, max_value=1000.0),
    P('odom_rate_hz', 'Rate of odom.', min_value=1.0, max_value=500.0),
    ROBOT_PARAM,
    P('lidar', 'Lidar of the robot description to simulate (scan).'),
    P('camera', 'rgbd camera of the robot description to simulate (colour and depth).'),
    P('camera_rate_hz', 'Rate of the colour and depth images.', min_value=0.5, max_value=60.0),
    P('depth_enabled', 'Publish camera/depth/image_raw (32FC1, metres, registered).'),
    P('scan_rate_hz', 'Rate of scan.', min_value=1.0, max_value=100.0),
    P('scan_noise_std', 'Gaussian range noise (m).', min_value=0.0, max_value=1.0),
    P('odom_frame_id', 'Frame of odom (the world frame of the scenario).'),
    P('robot_max_speed', 'Speed limit of the base (m/s).', min_value=0.1, max_value=5.0),
    P('robot_max_yaw_rate', 'Turn rate limit of the base (rad/s).', min_value=0.1,
      max_value=6.0),
    P('robot_max_accel', 'Acceleration limit (m/s^2).', min_value=0.05, max_value=10.0),
    P('robot_max_decel', 'Braking limit (m/s^2).', min_value=0.05, max_value=10.0),
    P('cmd_vel_timeout_s', 'The base stops when no command came for this long.',
      min_value=0.05, max_value=10.0),
    P('cmd_max_linear', 'Commands faster than this are absurd: ignored and reported.',
      min_value=0.1, max_value=100.0),
    P('cmd_max_angular', 'Turn commands faster than this are absurd.', min_value=0.1,
      max_value=100.0),
    P('render_subscribed_only', 'Render colour and depth only while someone subscribes to '
      'them (ground-truth boxes still render when recorded).'),
    P('lockstep', 'Without realtime: hold time until the stack is up, and each camera frame '
      'until the detections of the one before came back (campaigns).'),
    P('lockstep_nodes', 'Nodes lockstep waits for at the start, with their topics as '
      'perception.stack gives them.'),
    P('lockstep_lag_s', 'Lockstep: how far simulated time may run ahead of the time of the '
      "safety gate's newest decision (its safety/state) and of a frame whose detections have "
      'not come back.', min_value=0.01, max_value=5.0),
    P('lockstep_timeout_s', 'Wall seconds lockstep waits for detections or the gate before '
      'going on (and counting a miss).', min_value=0.1, max_value=600.0),
    P('lockstep_start_timeout_s', 'Wall seconds lockstep waits for the stack at the start '
      'before giving up (exit status 1).', min_value=1.0, max_value=3600.0),
]


class SimulatorNode(Node):
    """Publishes the simulated robot's sensors and moves it by cmd_vel."""

    def __init__(self, **kwargs):
        self._thread = None
        super().__init__('simulator', **kwargs)
        p = declare_parameters(self, PARAMS, 'simulator.yaml')
        self.p = p
        # Imported here: loading MuJoCo and building the world take a moment, and a parameter
        # error above should not wait for them. A missing MuJoCo is a clear fatal error.
        require('mujoco')
        from perception.sim.recorder import GroundTruthRecorder
        from perception.sim.scenario import load_scenario, scenario_path
        from perception.sim.robot_model import check_mountable, drive_limits, RobotSpec
        from perception.sim.world import World

        description = load_robot_description(p['robot_description'])
        lidar, camera = check_mountable(description, p['lidar'], p['camera'])
        self.frames = {'base': description.base_frame, 'laser': lidar.frame_id,
                       'camera': camera.frame_id}
        fp = description.footprint
        robot = RobotSpec(length=fp.length, width=fp.width, height=fp.height,
                          **drive_limits(p))
        path = scenario_path(p['scenario'], config_path('scenarios'))
        self.scenario = load_scenario(path, (robot.length, robot.width))
        self.world = World(self.scenario, robot, camera, lidar, seed=p['seed'],
                           scan_noise=p['scan_noise_std'])
        self.duration = p['duration_s'] or self.scenario.duration_s
        self.recorder = GroundTruthRecorder(p['ground_truth_file'], self.world) \
            if p['ground_truth_file'] else None

        fx, fy, cx, cy = camera.intrinsics()
        self.calibration = CameraCalibration(
            width=camera.width, height=camera.height, camera_name='sim_camera',
            d=(0.0,) * 5, k=(fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0),
            p=(fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0))

        self.pub_image = self.create_publisher(Image, 'camera/image_raw', SENSOR_QOS)
        self.pub_info = self.create_publisher(CameraInfo, 'camera/camera_info', SENSOR_QOS)
        self.pub_depth = self.create_publisher(Image, 'camera/depth/image_raw', SENSOR_QOS)
        self.pub_depth_info = self.create_publisher(CameraInfo, 'camera/depth/camera_info',
                                                    SENSOR_QOS)
        self.pub_scan = self.create_publisher(LaserScan, 'scan', SENSOR_QOS)
        self.pub_odom = self.create_publisher(Odometry, 'odom', SENSOR_QOS)
        self.pub_clock = self.create_publisher(Clock, '/clock', RELIABLE_QOS)
        self.diagnostics = diagnostics.DiagnosticsPublisher(self, 'mujoco')
        self.create_subscription(Twist, 'cmd_vel', self._on_cmd_vel, RELIABLE_QOS)
        # What the stack answered: detections pace lockstep, the gate's state goes on record.
        # Raw: only the stamp is read, never the dozens of detections in Python.
        self.create_subscription(Detection2DArray, 'detections', self._on_detections,
                                 RELIABLE_QOS, raw=True)
        self.create_subscription(DiagnosticStatus, 'safety/state', self._on_safety_state,
                                 LATCHED_QOS)

        self._lock = threading.Lock()
        self._command = (0.0, 0.0)
        self._command_wall = None  # monotonic time of the newest valid command
        self._command_sim = None  # simulated time of the newest valid command (lockstep)
        self.lockstep = p['lockstep'] and not p['realtime']
        self._answered = threading.Condition(self._lock)
        self._newest_detections = -1  # stamp (ns) of the newest detections heard
        self._safety_heard = False
        self._safety_time = -math.inf  # the gate's newest decision, on its clock
        self._safety_changes = []  # (state, reason) heard, for the ground truth
        self._safety_last = None
        self.lockstep_misses = 0
        self.lockstep_wait_s = 0.0
        self.rejected = 0
        self.last_rejection = ''
        self.commands = 0
        self.render_ms = 0.0
        self.exit_status = 0
        self.realtime_factor_measured = 0.0
        self._stop = threading.Event()
        # The simulation thread ends the node through the executor, never from its own thread.
        self._ended = self.create_guard_condition(self.context.try_shutdown)
        self.create_timer(1.0, self._report)
        self._thread = threading.Thread(target=self._run, name='simulation', daemon=True)
        self._thread.start()
        self.get_logger().info(
            f'simulating {self.scenario.name} for {self.duration:g} s '
            f'({"real time x" + format(p["realtime_factor"], "g") if p["realtime"] else "fast"})')

    # --- commands ----------------------------------------------------------------------------

    def _on_cmd_vel(self, msg: Twist) -> None:
        problem = twist_problem((msg.linear.x, msg.linear.y, msg.linear.z),
                                (msg.angular.x, msg.angular.y, msg.angular.z),
                                self.p['cmd_max_linear'], self.p['cmd_max_angular'])
        with self._lock:
            if problem:
                self.rejected += 1
                self.last_rejection = problem
            else:
                self._command = (msg.linear.x, msg.angular.z)
                self._command_wall = time.monotonic()
                self._command_sim = self.world.time
                self.commands += 1
        if problem:
            self.get_logger().warn(f'cmd_vel ignored: {problem}', throttle_duration_sec=1.0)

    def _current_command(self):
        if self.lockstep:  # the stack keeps simulated time: so does the watchdog
            with self._lock:
                fresh = self._command_sim is not None and \
                    self.world.time - self._command_sim <= self.p['cmd_vel_timeout_s']
                return self._command if fresh else (0.0, 0.0)
        timeout = self.p['cmd_vel_timeout_s'] / (self.p['realtime_factor']
                                                 if self.p['realtime'] else 1.0)
        with self._lock:
            fresh = self._command_wall is not None and \
                time.monotonic() - self._command_wall <= timeout
            return self._command if fresh else (0.0, 0.0)

    def _on_detections(self, data: bytes) -> None:
        stamp = serialized_stamp_ns(data, Detection2DArray)
        with self._answered:
            self._newest_detections = max(self._newest_detections, stamp)
            self._answered.notify_all()

    def _on_safety_state(self, msg: DiagnosticStatus) -> None:
        values = {kv.key: kv.value for kv in msg.values}
        change = (values.get('state', ''), values.get('reason', msg.message))
        try:
            decided = float(values.get('time', '-inf'))
        except ValueError:
            decided = -math.inf
        with self._answered:
            self._safety_heard = True
            self._safety_time = max(self._safety_time, decided)
            if change[0] != self._safety_last:
                self._safety_last = change[0]
                self._safety_changes.append(change)
            self._answered.notify_all()

    # --- lockstep ----------------------------------------------------------------------------

    def _graph_problem(self) -> str:
        """Say what of the lockstep nodes' topics the graph does not show yet ('' if none)."""
        waited = set(self.p['lockstep_nodes'])
        for topic in stack.TOPICS:
            name = self.resolve_topic_name(topic.name)
            for role, nodes, infos in (
                    ('publish', topic.publishers, self.get_publishers_info_by_topic),
                    ('subscribe to', topic.subscribers, self.get_subscriptions_info_by_topic)):
                missing = (waited & set(nodes)) - {i.node_name for i in infos(name)}
                if missing:
                    return f'{", ".join(sorted(missing))} does not {role} {name} yet'
        return ''

    def _wait_for_stack(self) -> None:
        """Hold time at zero, publishing, until the stack is up; RuntimeError after a timeout."""
        deadline = time.monotonic() + self.p['lockstep_start_timeout_s']
        problem = 'not checked'
        while not self._stop.is_set():
            stamp = int(round(self.world.time * 1e9))
            self.pub_clock.publish(Clock(clock=stamp_from_ns(stamp)))
            self._publish_odom(stamp)
            self._publish_scan(stamp)
            self._publish_camera(stamp, record=False)
            problem = self._graph_problem()
            with self._answered:
                if not problem and 'detector' in self.p['lockstep_nodes'] and \
                        self._newest_detections < stamp:
                    problem = 'no detections yet'
                if not problem and 'safety' in self.p['lockstep_nodes'] and \
                        not self._safety_heard:
                    problem = 'no safety/state yet'
            if not problem:
                self.get_logger().info('lockstep: the stack is up; simulated time starts')
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f'lockstep: the stack was not up after '
                                   f'{self.p["lockstep_start_timeout_s"]:g} s: {problem}')
            self._stop.wait(0.1)

    def _wait_for_safety(self, now: float) -> None:
        """Wait until the gate decided at `now - lockstep_lag_s` or later (or a timeout)."""
        if 'safety' not in self.p['lockstep_nodes']:
            return
        wanted = now - self.p['lockstep_lag_s'] - 1e-6
        start = time.monotonic()
        with self._answered:
            if self._safety_time >= wanted:
                return
            answered = self._answered.wait_for(
                lambda: self._safety_time >= wanted or self._stop.is_set(),
                self.p['lockstep_timeout_s'])
        self.lockstep_wait_s += time.monotonic() - start
        if not answered:
            self.lockstep_misses += 1
            self.get_logger().warn(f'lockstep: the safety gate had not decided at {wanted:.3f} s '
                                   f'after {self.p["lockstep_timeout_s"]:g} s; going on',
                                   throttle_duration_sec=2.0)

    def _wait_for_detections(self, stamp: int) -> None:
        """Wait until the detections of the frame stamped `stamp` came back (or a timeout)."""
        if 'detector' not in self.p['lockstep_nodes']:
            return
        start = time.monotonic()
        with self._answered:
            answered = self._answered.wait_for(
                lambda: self._newest_detections >= stamp or self._stop.is_set(),
                self.p['lockstep_timeout_s'])
        self.lockstep_wait_s += time.monotonic() - start
        if not answered:
            self.lockstep_misses += 1
            self.get_logger().warn(f'lockstep: no detections of the frame at {stamp / 1e9:.3f} s '
                                   f'after {self.p["lockstep_timeout_s"]:g} s; going on',
                                   throttle_duration_sec=2.0)

    # --- the simulation loop -----------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._simulate()
        except Exception as exc:  # noqa: B902 - report, then exit non-zero
            self.get_logger().fatal(f'simulation failed: {type(exc).__name__}: {exc}')
            self.exit_status = 1
            self._ended.trigger()
        finally:
            self.world.close()

    def _simulate(self) -> None:
        p, world = self.p, self.world
        tick = 1.0 / p['clock_rate_hz']
        periods = {'odom': 1.0 / p['odom_rate_hz'], 'scan': 1.0 / p['scan_rate_hz'],
                   'camera': 1.0 / p['camera_rate_hz'], 'truth': 1.0 / p['ground_truth_rate_hz']}
        due = dict.fromkeys(periods, 0.0)
        if self.lockstep:
            self._wait_for_stack()
        last_frame = None  # stamp of the newest camera frame published
        wall_start, sim_start = time.monotonic(), world.time
        lag_ns = int(round(p['lockstep_lag_s'] * 1e9))
        while not self._stop.is_set() and world.time < self.duration - 1e-9:
            if self.lockstep:
                self._wait_for_safety(world.time)
                if last_frame is not None and last_frame <= world.time * 1e9 - lag_ns:
                    self._wait_for_detections(last_frame)
            self._record_safety()
            world.set_command(*self._current_command())
            world.step(tick)
            now = world.time
            stamp = int(round(now * 1e9))
            self.pub_clock.publish(Clock(clock=stamp_from_ns(stamp)))
            if now >= due['odom'] - 1e-9:
                self._publish_odom(stamp)
                due['odom'] += periods['odom']
            if now >= due['scan'] - 1e-9:
                self._publish_scan(stamp)
                due['scan'] += periods['scan']
            if now >= due['camera'] - 1e-9:
                if self.lockstep and last_frame is not None:
                    self._wait_for_detections(last_frame)
                self._publish_camera(stamp)
                last_frame = stamp
                due['camera'] += periods['camera']
            if self.recorder is not None and now >= due['truth'] - 1e-9:
                self.recorder.step()
                due['truth'] += periods['truth']
            elapsed = time.monotonic() - wall_start
            self.realtime_factor_measured = (now - sim_start) / elapsed if elapsed > 0 else 0.0
            if p['realtime']:
                ahead = (now - sim_start) / p['realtime_factor'] - elapsed
                if ahead > 0:
                    self._stop.wait(ahead)
        self._finish()

    def _record_safety(self) -> None:
        with self._lock:
            changes, self._safety_changes = self._safety_changes, []
        if self.recorder is not None:
            for state, reason in changes:
                self.recorder.event('safety', state=state, reason=reason)

    def _finish(self) -> None:
        summary = None
        if self.recorder is not None:
            extra = {'realtime_factor': round(self.realtime_factor_measured, 3),
                     'commands_rejected': self.rejected}
            if self.lockstep:
                extra.update({'lockstep_misses': self.lockstep_misses,
                              'lockstep_wait_s': round(self.lockstep_wait_s, 3)})
            summary = self.recorder.close(extra)
        collisions = len(self.world.collisions)
        self.get_logger().info(
            f'{self.scenario.name} done at t={self.world.time:.2f} s: {collisions} collisions, '
            f'real-time factor {self.realtime_factor_measured:.2f}'
            + (f', ground truth in {self.recorder.path}' if summary else ''))
        if self.p['exit_at_end'] and not self._stop.is_set():
            self._ended.trigger()  # spin() in main() ends; the node exits with status 0

    def _header(self, stamp: int, frame_id: str) -> Header:
        return Header(stamp=stamp_from_ns(stamp), frame_id=frame_id)

    def _publish_odom(self, stamp: int) -> None:
        x, y, yaw = self.world.pose()
        v, vy, w = self.world.body_velocity()
        msg = Odometry(header=self._header(stamp, self.p['odom_frame_id']),
                       child_frame_id=self.frames['base'])
        msg.pose.pose.position.x, msg.pose.pose.position.y = x, y
        msg.pose.pose.orientation.z = math.sin(yaw / 2)
        msg.pose.pose.orientation.w = math.cos(yaw / 2)
        msg.twist.twist.linear.x, msg.twist.twist.linear.y = v, vy
        msg.twist.twist.angular.z = w
        # Ground truth, but say it is a measurement: a small, honest covariance.
        msg.pose.covariance[0] = msg.pose.covariance[7] = 1e-4
        msg.pose.covariance[35] = 1e-4
        msg.twist.covariance[0] = msg.twist.covariance[35] = 1e-4
        self.pub_odom.publish(msg)

    def _publish_scan(self, stamp: int) -> None:
        spec = self.world.lidar
        ranges = self.world.scan()
        angles = spec.angles()
        msg = LaserScan(header=self._header(stamp, self.frames['laser']))
        msg.angle_min = float(angles[0])
        msg.angle_max = float(angles[-1])
        msg.angle_increment = float(angles[1] - angles[0]) if len(angles) > 1 else 0.0
        for fault in self.scenario.faults:
            if fault.sensor == 'lidar' and fault.active(self.world.time):
                ranges = self._faulty(fault, msg, angles, ranges)
        msg.scan_time = 1.0 / self.p['scan_rate_hz']
        msg.time_increment = 0.0  # every beam at once
        msg.range_min, msg.range_max = spec.range_min, spec.range_max
        data = array.array('f')
        data.frombytes(ranges.astype('float32').tobytes())
        msg.ranges = data
        self.pub_scan.publish(msg)

    @staticmethod
    def _faulty(fault, msg: LaserScan, angles, ranges):
        """Apply a scenario's lidar fault to a scan about to be published."""
        if fault.effect == 'truncate':
            return ranges[:len(ranges) // 2]  # the angles still claim every beam
        keep = np.abs(angles) <= np.radians(fault.fov_deg) / 2  # narrow: a smaller lidar
        msg.angle_min, msg.angle_max = float(angles[keep][0]), float(angles[keep][-1])
        return ranges[keep]

    def _publish_camera(self, stamp: int, record: bool = True) -> None:
        p = self.p
        want_boxes = record and self.recorder is not None and p['ground_truth_boxes']
        want_rgb, want_depth = True, p['depth_enabled']
        if p['render_subscribed_only']:
            want_rgb = self.pub_image.get_subscription_count() > 0
            want_depth = want_depth and self.pub_depth.get_subscription_count() > 0
            if not (want_rgb or want_depth or want_boxes):
                return
        start = time.perf_counter()
        frame = self.world.render(rgb=want_rgb, depth=want_depth, boxes=want_boxes)
        self.render_ms = (time.perf_counter() - start) * 1000  # colour, depth, boxes
        header = self._header(stamp, self.frames['camera'])
        info = calibration_to_camera_info(self.calibration, header)
        # Each camera_info first, so a listener has the intrinsics when its image arrives.
        if frame.rgb is not None:
            self.pub_info.publish(info)
            self.pub_image.publish(numpy_to_image(frame.rgb, 'rgb8', header))
        if frame.depth is not None:
            self.pub_depth_info.publish(info)
            self.pub_depth.publish(numpy_to_image(frame.depth, '32FC1', header))
        if want_boxes:
            self.recorder.frame(stamp, frame.boxes)

    # --- reporting ---------------------------------------------------------------------------

    def _report(self) -> None:
        with self._lock:
            rejected, reason, commands = self.rejected, self.last_rejection, self.commands
        values = {'scenario': self.scenario.name, 'sim_time_s': self.world.time,
                  'realtime_factor': self.realtime_factor_measured,
                  'render_ms': self.render_ms, 'collisions': len(self.world.collisions),
                  'commands': commands, 'commands_rejected': rejected,
                  'last_rejection': reason}
        if rejected:
            level, message = diagnostics.WARN, f'{rejected} cmd_vel ignored: {reason}'
        elif self.p['realtime'] and self.world.time > 2.0 and \
                self.realtime_factor_measured < 0.9 * self.p['realtime_factor']:
            level, message = diagnostics.WARN, (f'running at {self.realtime_factor_measured:.2f}'
                                                ' x real time')
        else:
            level, message = diagnostics.OK, f'simulating {self.scenario.name}'
        self.diagnostics.publish([diagnostics.Status('simulation', level, message, values)])

    def destroy_node(self):
        if self._thread is not None:
            self._stop.set()
            self._thread.join(5.0)
        return super().destroy_node()


def main(args=None):
    os.environ.setdefault('MUJOCO_GL', 'egl')
    raise SystemExit(run_node(SimulatorNode, args))


if __name__ == '__main__':
    main()
