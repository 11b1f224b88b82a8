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

It decides on every sensor message and on a timer of its own (>= 50 Hz), so its reaction does
not depend on how often commands arrive. While the field is clear it passes commands through;
in the slow field it scales them; in the stop field, where no valid data covers the field, or
without fresh data from a required source, it publishes zero velocity at the timer's rate. The
decision is in perception.core.safety, the sources in perception.safety_sources; this node
declares parameters, publishes and reports.

safety/state (diagnostic_msgs/DiagnosticStatus, latched): level OK (CLEAR, SLOW), WARN (STOP,
STOP_LATCHED, disabled), ERROR (a source fault); name 'safety'; message = the reason; values:
state, reason, source, closest_m, data_age_s, enabled, decisions, deadline_misses, transitions,
remembered, time (of the decision, on the node's clock: simulated time under use_sim_time, which
the simulator's lockstep paces itself to). It is published on every change and every
state_period_s. Services: safety/reset (std_srvs/Trigger) releases a person latch; safety/enable
(std_srvs/SetBool) turns the gate off and on, loudly.
"""

import math
import time

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist
from rclpy.node import Node
from std_srvs.srv import SetBool, Trigger

from perception import diagnostics
from perception.conversions import stamp_to_ns
from perception.core.obstacle_memory import MemoryConfig
from perception.core.safety import CLEAR, gate, SafetyConfig, SafetyConfigError, SafetyMonitor
from perception.core.safety import SLOW, SourceConfig, STOP, STOP_LATCHED
from perception.core.safety_field import config_problem, FieldConfig
from perception.core.twist import twist_problem
from perception.node_main import run_node
from perception.params import declare_parameters, ParameterError, ParamSpec
from perception.qos import LATCHED_QOS, RELIABLE_QOS
from perception.safety_sources import CORE_KIND, make_sources, source_specs
from perception.sensor_geometry import load_robot_description, ROBOT_PARAM

P = ParamSpec
PARAMS = [
    P('enabled', 'Gate commands at start; false passes them through unchecked (always '
      'reported). Switch at run time with the safety/enable service.'),
    P('rate_hz', "Rate of the gate's own decisions and of its output.", min_value=50.0,
      max_value=1000.0),
    ROBOT_PARAM,
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
    P('memory_radius_m', 'Obstacles seen are remembered (odom frame) until seen clear, while '
      'within this distance; 0 decides on the newest readings only.', min_value=0.0,
      max_value=50.0),
    P('memory_resolution_m', 'Cell size of the obstacle memory (m).', min_value=0.01,
      max_value=0.5),
    P('coverage_spacing_m', 'Spacing of the points at which the coverage of the stop field is '
      'checked (m).', min_value=0.02, max_value=0.5),
    P('person_classes', 'Detection labels that are people.'),
    P('person_min_score', 'Lowest score of a hypothesis that makes a detection a person.',
      min_value=0.0, max_value=1.0),
    P('person_margin_m', 'People seen widen the fields by this much (m).', min_value=0.0,
      max_value=5.0),
    P('person_memory_s', 'How long a person seen keeps the fields wide.', min_value=0.0,
      max_value=30.0),
    P('person_latch', 'A person stop waits for safety/reset instead of resuming by itself.'),
    P('person_hold_s', 'A person stop resumes once the stop field has been clear of people '
      'this long.', min_value=0.0, max_value=60.0),
    P('state_period_s', 'Period of safety/state while the state stays the same.',
      min_value=0.01, max_value=10.0),
    P('sources', 'Names of the sources; each has parameters <name>.kind, .topic, .required, '
      '.timeout_s and those of its kind.'),
]

#: How far behind the simulator's stamps /clock may be heard in a busy process (s).
SIM_CLOCK_LAG_S = 1.0

#: Parameters that follow from others: each listed source's, by its kind.
EXPAND = source_specs

LEVEL = {CLEAR: diagnostics.OK, SLOW: diagnostics.OK, STOP: diagnostics.WARN,
         STOP_LATCHED: diagnostics.WARN}


class SafetyNode(Node):
    """Gates cmd_vel_in into cmd_vel by the protective field."""

    def __init__(self, **kwargs):
        super().__init__('safety', **kwargs)
        self._sim_time = self.get_parameter('use_sim_time').value
        self._newest_stamp = -math.inf
        p = declare_parameters(self, PARAMS, 'safety.yaml', expand=EXPAND)
        self.p = p
        robot = load_robot_description(p['robot_description'])
        field = FieldConfig(length=robot.footprint.length, width=robot.footprint.width,
                            response_time=p['response_time_s'], decel=p['decel'],
                            yaw_decel=p['yaw_decel'], margin=p['margin_m'],
                            slow_extra=p['slow_extra_m'])
        problem = config_problem(field, p['max_speed'], p['max_field_length_m'])
        if problem:
            raise ParameterError(f'unsafe configuration refused: {problem}')
        self.sources = make_sources(self, p, robot)
        memory = MemoryConfig(p['memory_resolution_m'], p['memory_radius_m']) \
            if p['memory_radius_m'] > 0 else None
        try:
            self.monitor = SafetyMonitor(SafetyConfig(
                field=field, sources=tuple(SourceConfig(s.name, CORE_KIND[s.kind], s.timeout,
                                                        s.required)
                                           for s in self.sources.values()),
                future_tolerance=p['future_tolerance_s'], min_points=p['min_points'],
                release_hold=p['release_hold_s'], slow_scale=p['slow_scale'],
                command_timeout=p['cmd_in_timeout_s'], person_margin=p['person_margin_m'],
                person_memory=p['person_memory_s'], person_latch=p['person_latch'],
                person_hold=p['person_hold_s'], memory=memory,
                coverage_spacing=p['coverage_spacing_m']))
        except SafetyConfigError as exc:
            raise ParameterError(f'unsafe configuration refused: {exc}') from None
        self.enabled = p['enabled']
        self.decisions = 0
        self.deadline_misses = 0
        self.faults = {}
        self._last_tick = None
        self._last_state_pub = None
        self._evaluated = None  # when the monitor last decided (the node's clock)

        self.pub_cmd = self.create_publisher(Twist, 'cmd_vel', RELIABLE_QOS)
        self.pub_state = self.create_publisher(DiagnosticStatus, 'safety/state', LATCHED_QOS)
        self.diagnostics = diagnostics.DiagnosticsPublisher(self, 'safety gate')
        self.create_subscription(Twist, 'cmd_vel_in', self._on_command, RELIABLE_QOS)
        self.create_service(Trigger, 'safety/reset', self._on_reset)
        self.create_service(SetBool, 'safety/enable', self._on_enable)
        self.create_timer(1.0 / p['rate_hz'], self._on_timer)
        self.create_timer(1.0, self._report)
        self.decide('start')
        self.get_logger().info(
            f'gating cmd_vel_in -> cmd_vel at {p["rate_hz"]:g} Hz; stop field at '
            f'{p["max_speed"]:g} m/s: {field.stopping_distance(p["max_speed"]):.2f} m + '
            f'{p["margin_m"]:g} m margin; sources: '
            + ', '.join(f'{s.name} ({s.kind}{", required" if s.required else ""})'
                        for s in self.sources.values())
            + ('; obstacle memory off' if memory is None else
               f'; obstacles remembered within {memory.radius:g} m'))

    # --- time --------------------------------------------------------------------------------

    def _now(self) -> float:
        now = self.get_clock().now().nanoseconds / 1e9
        # Under simulated time a process short of CPU hears /clock late, after sensor messages
        # the simulator stamped later: those stamps are simulated time too, so the newest one
        # seen (up to a second ahead of /clock) is a lower bound of the time now. With a real
        # clock, stamps ahead of it are refused as stamped in the future.
        return max(now, self._newest_stamp) if self._sim_time else now

    def stamp_of(self, msg) -> float:
        """Return a message's header stamp in seconds (and remember the newest)."""
        stamp = stamp_to_ns(msg.header.stamp) / 1e9
        if self._sim_time and self._newest_stamp < stamp <= \
                self.get_clock().now().nanoseconds / 1e9 + SIM_CLOCK_LAG_S:
            self._newest_stamp = stamp
        return stamp

    # --- sources (called by perception.safety_sources) ---------------------------------------

    def source_fault(self, name: str, problem: str, stamp=None) -> None:
        """Record a malformed message: the source is untrusted until a good one arrives."""
        if self.faults.get(name) != problem:
            self.get_logger().error(f'{name}: {problem}')
        self.faults[name] = problem
        self.monitor.set_fault(name, problem, stamp)

    def source_ok(self, name: str) -> None:
        """Record a good message."""
        if self.faults.pop(name, None) is not None:
            self.get_logger().info(f'{name}: good data again')

    def _on_command(self, msg: Twist) -> None:
        problem = twist_problem((msg.linear.x, msg.linear.y, msg.linear.z),
                                (msg.angular.x, msg.angular.y, msg.angular.z),
                                10 * self.p['max_speed'], 100.0)
        if problem:
            self.get_logger().warn(f'cmd_vel_in ignored: {problem}', throttle_duration_sec=1.0)
            return
        speed = max(-self.p['max_speed'], min(self.p['max_speed'], msg.linear.x))
        self.monitor.set_command(speed, msg.angular.z, self._now())
        self.decide('command')

    # --- decisions and output ----------------------------------------------------------------

    def _on_timer(self) -> None:
        now = time.monotonic()
        if self._last_tick is not None and now - self._last_tick > 2.5 / self.p['rate_hz']:
            self.deadline_misses += 1  # the timer itself ran late
        self._last_tick = now
        self.decide('timer')

    def decide(self, trigger: str, stamp=None) -> None:
        """Decide now and publish: on the timer, a command, a change, or a sensor message."""
        now = self._now()
        before = self.monitor.state
        if trigger == 'timer' and self._evaluated is not None and \
                0.0 <= now - self._evaluated < 0.5 / self.p['rate_hz']:
            # A message was decided on within half a period: the timer only keeps the stream
            # of commands and the rate of decisions up when messages stop coming.
            decision = self.monitor.decision
        else:
            decision = self.monitor.evaluate(now)
            self._evaluated = now
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
            if stamp is not None and (self._now() - stamp) * 1000 > self.p['deadline_ms']:
                self.deadline_misses += 1
        if changed or self._last_state_pub is None or \
                now - self._last_state_pub >= self.p['state_period_s']:
            self._publish_state(decision, now)
        if changed:
            self.get_logger().info(f'{before} -> {decision.state}: {decision.reason}')

    def _state_status(self, decision, now: float) -> DiagnosticStatus:
        level = LEVEL[decision.state]
        message = decision.reason
        if self.faults:
            level = diagnostics.ERROR
        if not self.enabled:
            level, message = diagnostics.WARN, f'DISABLED: commands pass unchecked ({message})'
        memory = self.monitor.memory
        values = {'state': decision.state, 'reason': decision.reason, 'source': decision.source,
                  'closest_m': f'{decision.closest:.3f}', 'data_age_s':
                  f'{decision.data_age:.3f}', 'enabled': str(self.enabled).lower(),
                  'decisions': str(self.decisions), 'deadline_misses':
                  str(self.deadline_misses), 'transitions': str(self.monitor.transitions),
                  'remembered': str(len(memory) if memory is not None else 0),
                  'time': f'{now:.3f}'}
        return DiagnosticStatus(level=level, name='safety', message=message,
                                hardware_id='safety gate',
                                values=[KeyValue(key=k, value=v) for k, v in values.items()])

    def _publish_state(self, decision, now: float) -> None:
        self.pub_state.publish(self._state_status(decision, now))
        self._last_state_pub = now

    def _report(self) -> None:
        decision = self.monitor.decision
        now = self._now()
        status = self._state_status(decision, now)
        values = {kv.key: kv.value for kv in status.values}
        for name, source in self.monitor.sources.items():
            age = now - source.stamp if source.stamp is not None else math.inf
            values[f'{name}_age_s'] = f'{age:.3f}' if math.isfinite(age) else 'never'
            values[f'{name}_fault'] = source.fault or 'none'
            for key, note in self.sources[name].notes.items():
                values[f'{name}_{key}'] = note
        notes = [n for s in self.sources.values() for n in s.notes.values()]
        level, message = status.level, status.message
        if notes and level == diagnostics.OK:
            level, message = diagnostics.WARN, '; '.join(notes)
        self.diagnostics.publish([diagnostics.Status('gate', level, message, values)])

    # --- services ----------------------------------------------------------------------------

    def _on_reset(self, _request, response):
        accepted, message = self.monitor.reset(self._now())
        response.success, response.message = accepted, message
        self.get_logger().info(f'reset {"accepted" if accepted else "refused"}: {message}')
        self.decide('reset')
        return response

    def _on_enable(self, request, response):
        self.enabled = bool(request.data)
        self.get_logger().warn(f'safety gate {"ENABLED" if self.enabled else "DISABLED"}')
        response.success, response.message = True, f'enabled: {self.enabled}'
        self.decide('enable')
        return response


def main(args=None):
    raise SystemExit(run_node(SafetyNode, args))


if __name__ == '__main__':
    main()
