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
Safety gate: between whatever drives the robot (cmd_vel_in) and the base (cmd_vel).

It decides on every scan and depth frame and on a timer of its own (>= 50 Hz), so its reaction
does not depend on how often commands arrive. While the field is clear it passes commands
through; in the slow field it scales them; in the stop field, or without valid data from a
required source, it publishes zero velocity at the timer's rate. The decision itself is in
perception.core.safety; this node converts messages, publishes and reports.

safety/state (diagnostic_msgs/DiagnosticStatus, latched): level OK (CLEAR, SLOW), WARN (STOP,
STOP_LATCHED, disabled), ERROR (a source fault); name 'safety'; message = the reason; values:
state, reason, source, closest_m, data_age_s, enabled, decisions, deadline_misses, transitions.
Services: safety/reset (std_srvs/Trigger) releases a person latch; safety/enable
(std_srvs/SetBool) turns the gate off and on, loudly.
"""

import math
import time

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image, LaserScan
from std_srvs.srv import SetBool, Trigger
from vision_msgs.msg import Detection2DArray

from perception import diagnostics
from perception.conversions import image_to_numpy, stamp_to_ns
from perception.core.image_encoding import ImageEncodingError
from perception.core.safety import CLEAR, gate, SafetyConfig, SafetyMonitor, SLOW
from perception.core.safety import SourceConfig, STOP, STOP_LATCHED
from perception.core.safety_field import config_problem, FieldConfig
from perception.core.sensor_points import depth_points, depth_scale, MalformedReading
from perception.core.sensor_points import scan_points
from perception.core.twist import twist_problem
from perception.node_main import run_node
from perception.params import declare_parameters, ParameterError, ParamSpec
from perception.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from perception.sensor_geometry import MOUNT_PARAMS, SensorGeometry

P = ParamSpec
PARAMS = [
    P('enabled', 'Gate commands at start; false passes them through unchecked (always '
      'reported). Switch at run time with the safety/enable service.'),
    P('rate_hz', "Rate of the gate's own decisions and of its output.", min_value=50.0,
      max_value=1000.0),
    P('robot_length', 'Footprint length (m), centred on base_link.', min_value=0.1,
      max_value=10.0),
    P('robot_width', 'Footprint width (m).', min_value=0.1, max_value=10.0),
    P('max_speed', 'Fastest commanded speed (m/s): the field must stop the robot from it.',
      min_value=0.05, max_value=10.0),
    P('response_time_s', 'Sensing, decision and base reaction time (T).', min_value=0.0,
      max_value=2.0),
    P('decel', 'Braking the base guarantees (m/s^2).', min_value=0.05, max_value=20.0),
    P('yaw_decel', 'Turn braking the base guarantees (rad/s^2).', min_value=0.05,
      max_value=50.0),
    P('margin_m', 'Margin C around the footprint (m).', min_value=0.0, max_value=2.0),
    P('slow_extra_m', 'How far the slow field reaches beyond the stop field (m).',
      min_value=0.0, max_value=10.0),
    P('max_field_length_m', 'How far the sensors are trusted; a longer stop field is refused.',
      min_value=0.2, max_value=50.0),
    P('slow_scale', 'Factor on commands in the slow field.', min_value=0.0, max_value=1.0),
    P('min_points', 'Obstacle points needed in a field to count.', min_value=1,
      max_value=1000),
    P('release_hold_s', 'How long a field must stay clear before releasing.', min_value=0.0,
      max_value=10.0),
    P('cmd_in_timeout_s', 'Without a cmd_vel_in this recent, command zero.', min_value=0.05,
      max_value=10.0),
    P('future_tolerance_s', 'Data stamped further in the future is refused.', min_value=0.0,
      max_value=1.0),
    P('deadline_ms', 'A decision later than this after its data counts as missed.',
      min_value=1.0, max_value=1000.0),
    P('scan_required', 'Stop when scan is missing, stale or malformed.'),
    P('scan_timeout_s', 'Oldest usable scan.', min_value=0.01, max_value=5.0),
    P('scan_frame_id', 'Frame scan must be in.'),
    P('depth_required', 'Stop when the depth image is missing, stale or malformed.'),
    P('depth_timeout_s', 'Oldest usable depth image.', min_value=0.01, max_value=5.0),
    P('depth_frame_id', 'Frame the depth image must be in.'),
] + MOUNT_PARAMS + [
    P('depth_stride', 'Use every n-th pixel of depth.', min_value=1, max_value=64),
    P('depth_min_height', 'Depth points lower than this are floor (m).', min_value=-1.0,
      max_value=2.0),
    P('depth_max_height', 'Depth points higher than this are ignored (m).', min_value=0.1,
      max_value=10.0),
    P('depth_max_range', 'Depth beyond this is ignored (m).', min_value=0.2, max_value=50.0),
    P('odom_required', 'Stop when odom is missing or stale.'),
    P('odom_timeout_s', 'Oldest usable odom.', min_value=0.01, max_value=5.0),
    P('detections_required', 'Stop when detections are missing or stale.'),
    P('detections_timeout_s', 'Oldest usable detections.', min_value=0.01, max_value=5.0),
    P('person_classes', 'Comma-separated class ids that are people.'),
    P('person_min_score', 'Lowest score of a person detection that counts.', min_value=0.0,
      max_value=1.0),
    P('person_margin_m', 'People seen widen the fields by this much (m).', min_value=0.0,
      max_value=5.0),
    P('person_memory_s', 'How long a person seen keeps the fields wide.', min_value=0.0,
      max_value=30.0),
    P('person_latch', 'A person stop waits for safety/reset (ISO 3691-4).'),
    P('person_hold_s', 'Without latching, hold a person stop this long.', min_value=0.0,
      max_value=60.0),
]

LEVEL = {CLEAR: diagnostics.OK, SLOW: diagnostics.OK, STOP: diagnostics.WARN,
         STOP_LATCHED: diagnostics.WARN}


class SafetyNode(Node):
    """Gates cmd_vel_in into cmd_vel by the protective field."""

    def __init__(self, **kwargs):
        super().__init__('safety', **kwargs)
        p = declare_parameters(self, PARAMS, 'safety.yaml')
        self.p = p
        field = FieldConfig(length=p['robot_length'], width=p['robot_width'],
                            response_time=p['response_time_s'], decel=p['decel'],
                            yaw_decel=p['yaw_decel'], margin=p['margin_m'],
                            slow_extra=p['slow_extra_m'])
        problem = config_problem(field, p['max_speed'], p['max_field_length_m'])
        if problem:
            raise ParameterError(f'unsafe configuration refused: {problem}')
        sources = [SourceConfig(name, p[f'{name}_timeout_s'], p[f'{name}_required'])
                   for name in ('scan', 'depth', 'odom', 'detections')]
        self.monitor = SafetyMonitor(SafetyConfig(
            field=field, sources=tuple(sources), future_tolerance=p['future_tolerance_s'],
            min_points=p['min_points'], release_hold=p['release_hold_s'],
            slow_scale=p['slow_scale'], command_timeout=p['cmd_in_timeout_s'],
            person_margin=p['person_margin_m'], person_memory=p['person_memory_s'],
            person_latch=p['person_latch'], person_hold=p['person_hold_s']))
        self.geometry = SensorGeometry(self, p)
        self.person_classes = {c.strip() for c in p['person_classes'].split(',') if c.strip()}
        self.enabled = p['enabled']
        self.decisions = 0
        self.deadline_misses = 0
        self.faults = {}
        self.last_published = None
        self._last_tick = None
        self._last_state_pub = None

        self.pub_cmd = self.create_publisher(Twist, 'cmd_vel', RELIABLE_QOS)
        self.pub_state = self.create_publisher(DiagnosticStatus, 'safety/state', LATCHED_QOS)
        self.diagnostics = diagnostics.DiagnosticsPublisher(self, 'safety gate')
        self.create_subscription(LaserScan, 'scan', self._on_scan, SENSOR_QOS)
        self.create_subscription(Image, 'camera/depth/image_raw', self._on_depth, SENSOR_QOS)
        self.create_subscription(Odometry, 'odom', self._on_odom, SENSOR_QOS)
        self.create_subscription(Detection2DArray, 'detections', self._on_detections,
                                 RELIABLE_QOS)
        self.create_subscription(Twist, 'cmd_vel_in', self._on_command, RELIABLE_QOS)
        self.create_service(Trigger, 'safety/reset', self._on_reset)
        self.create_service(SetBool, 'safety/enable', self._on_enable)
        self.create_timer(1.0 / p['rate_hz'], self._on_timer)
        self.create_timer(1.0, self._report)
        self._decide('start')
        self.get_logger().info(
            f'gating cmd_vel_in -> cmd_vel at {p["rate_hz"]:g} Hz; stop field at '
            f'{p["max_speed"]:g} m/s: {field.stopping_distance(p["max_speed"]):.2f} m + '
            f'{p["margin_m"]:g} m margin; required: '
            + ', '.join(s.name for s in sources if s.required))

    # --- time --------------------------------------------------------------------------------

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds / 1e9

    @staticmethod
    def _stamp(msg) -> float:
        return stamp_to_ns(msg.header.stamp) / 1e9

    # --- sources -----------------------------------------------------------------------------

    def _fault(self, source: str, problem: str, stamp=None) -> None:
        if self.faults.get(source) != problem:
            self.get_logger().error(f'{source}: {problem}')
        self.faults[source] = problem
        self.monitor.set_fault(source, problem, stamp)

    def _frame_ok(self, source: str, msg, expected: str) -> bool:
        if msg.header.frame_id != expected:
            self._fault(source, f'frame {msg.header.frame_id!r}, expected {expected!r}',
                        self._stamp(msg))
            return False
        return True

    def _on_scan(self, msg: LaserScan) -> None:
        if self._frame_ok('scan', msg, self.p['scan_frame_id']):
            try:
                points = scan_points(np.frombuffer(msg.ranges, dtype=np.float32)
                                     if msg.ranges else np.zeros(0), msg.angle_min,
                                     msg.angle_increment, msg.range_min, msg.range_max,
                                     self.geometry.scan_mount)
                self.monitor.set_points('scan', points, self._stamp(msg))
                self.faults.pop('scan', None)
            except MalformedReading as exc:
                self._fault('scan', f'malformed: {exc}', self._stamp(msg))
        self._decide('scan', self._stamp(msg))

    def _on_depth(self, msg: Image) -> None:
        stamp = self._stamp(msg)
        if self._frame_ok('depth', msg, self.p['depth_frame_id']):
            try:
                scale = depth_scale(msg.encoding)
                if self.geometry.depth_intrinsics is None:
                    raise MalformedReading('no camera/depth/camera_info received yet')
                depth = image_to_numpy(msg)
                points = depth_points(depth, self.geometry.depth_intrinsics,
                                      self.geometry.camera_mount,
                                      self.p['depth_stride'], self.p['depth_min_height'],
                                      self.p['depth_max_height'], self.p['depth_max_range'],
                                      scale)
                self.monitor.set_points('depth', points, stamp)
                self.faults.pop('depth', None)
            except (MalformedReading, ImageEncodingError) as exc:
                self._fault('depth', f'malformed: {exc}', stamp)
        self._decide('depth', stamp)

    def _on_odom(self, msg: Odometry) -> None:
        twist = msg.twist.twist
        if not (math.isfinite(twist.linear.x) and math.isfinite(twist.angular.z)):
            self._fault('odom', 'malformed: velocity is NaN or infinite', self._stamp(msg))
            return
        self.faults.pop('odom', None)
        self.monitor.set_odom(twist.linear.x, twist.angular.z, self._stamp(msg))

    def _on_detections(self, msg: Detection2DArray) -> None:
        points = []
        for det in msg.detections:
            hypotheses = [r.hypothesis for r in det.results]
            if not any(h.class_id in self.person_classes and h.score >= self.p['person_min_score']
                       for h in hypotheses):
                continue
            point, cut_off = self.geometry.feet(det)
            if cut_off:
                # Nearer than the floor the camera sees: assume the worst, right in front.
                points.append((self.p['robot_length'] / 2, 0.0))
            elif point is not None:
                points.append(point)
        if points or any(r.hypothesis.class_id in self.person_classes
                         for d in msg.detections for r in d.results):
            self.monitor.set_people(np.array(points).reshape(-1, 2), self._stamp(msg))
        elif 'detections' in self.monitor.sources:
            self.monitor.set_points('detections', np.zeros((0, 2)), self._stamp(msg))

    def _on_command(self, msg: Twist) -> None:
        problem = twist_problem((msg.linear.x, msg.linear.y, msg.linear.z),
                                (msg.angular.x, msg.angular.y, msg.angular.z),
                                10 * self.p['max_speed'], 100.0)
        if problem:
            self.get_logger().warn(f'cmd_vel_in ignored: {problem}', throttle_duration_sec=1.0)
            return
        speed = max(-self.p['max_speed'], min(self.p['max_speed'], msg.linear.x))
        self.monitor.set_command(speed, msg.angular.z, self._now())
        self._decide('command')

    # --- decisions and output ----------------------------------------------------------------

    def _on_timer(self) -> None:
        now = time.monotonic()
        if self._last_tick is not None and now - self._last_tick > 2.5 / self.p['rate_hz']:
            self.deadline_misses += 1  # the timer itself ran late
        self._last_tick = now
        self._decide('timer')

    def _decide(self, trigger: str, stamp=None) -> None:
        now = self._now()
        before = self.monitor.state
        decision = self.monitor.evaluate(now)
        self.decisions += 1
        command = self.monitor.fresh_command(now)
        out = command if not self.enabled else gate(command, decision)
        changed = decision.state != before
        # Publish on the timer (a steady stream a base watchdog can rely on), on a command, and
        # at once whenever the state changes.
        if trigger in ('timer', 'command', 'start') or changed:
            msg = Twist()
            msg.linear.x, msg.angular.z = float(out[0]), float(out[1])
            self.pub_cmd.publish(msg)
            self.last_published = out
            if stamp is not None and (self._now() - stamp) * 1000 > self.p['deadline_ms']:
                self.deadline_misses += 1
        if changed or self._last_state_pub is None or now - self._last_state_pub >= 0.5:
            self._publish_state(decision, now)
        if changed:
            self.get_logger().info(f'{before} -> {decision.state}: {decision.reason}')

    def _state_status(self, decision) -> DiagnosticStatus:
        level = LEVEL[decision.state]
        message = decision.reason
        if self.faults:
            level = diagnostics.ERROR
        if not self.enabled:
            level, message = diagnostics.WARN, f'DISABLED: commands pass unchecked ({message})'
        values = {'state': decision.state, 'reason': decision.reason, 'source': decision.source,
                  'closest_m': f'{decision.closest:.3f}', 'data_age_s':
                  f'{decision.data_age:.3f}', 'enabled': str(self.enabled).lower(),
                  'decisions': str(self.decisions), 'deadline_misses':
                  str(self.deadline_misses), 'transitions': str(self.monitor.transitions)}
        return DiagnosticStatus(level=level, name='safety', message=message,
                                hardware_id='safety gate',
                                values=[KeyValue(key=k, value=v) for k, v in values.items()])

    def _publish_state(self, decision, now: float) -> None:
        self.pub_state.publish(self._state_status(decision))
        self._last_state_pub = now

    def _report(self) -> None:
        decision = self.monitor.decision
        now = self._now()
        status = self._state_status(decision)
        values = {kv.key: kv.value for kv in status.values}
        for name, source in self.monitor.sources.items():
            age = now - source.stamp if source.stamp is not None else math.inf
            values[f'{name}_age_s'] = f'{age:.3f}' if math.isfinite(age) else 'never'
            values[f'{name}_fault'] = source.fault or 'none'
        self.diagnostics.publish([diagnostics.Status('gate', status.level, status.message,
                                                     values)])

    # --- services ----------------------------------------------------------------------------

    def _on_reset(self, _request, response):
        accepted, message = self.monitor.reset(self._now())
        response.success, response.message = accepted, message
        self.get_logger().info(f'reset {"accepted" if accepted else "refused"}: {message}')
        self._decide('reset')
        return response

    def _on_enable(self, request, response):
        self.enabled = bool(request.data)
        self.get_logger().warn(f'safety gate {"ENABLED" if self.enabled else "DISABLED"}')
        response.success, response.message = True, f'enabled: {self.enabled}'
        self._decide('enable')
        return response


def main(args=None):
    raise SystemExit(run_node(SafetyNode, args))


if __name__ == '__main__':
    main()
