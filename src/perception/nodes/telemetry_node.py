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
Fleet telemetry: what the robot sees and decides, to an MQTT broker, at a fraction of the bytes.

Summaries once a period (detections per class and their confidences, safety state time shares,
the map's occupied/free/unknown shares, each node's health, the stack's CPU and memory), events
at once (safety changes, person latches and resets, sensor faults, nodes lost and back, what
other nodes publish on telemetry/events; a stop carries a small JPEG of the camera frame nearest
it) and snapshots on request (the map as PNG, a camera frame as JPEG). Topics, payloads and the
outbox are in the README (Fleet telemetry).

The callbacks only count and keep references to the newest messages; the worker thread
(perception.telemetry_worker) writes the outbox, encodes images and sends. Nothing here
publishes to the safety path: the node may fail or be killed without the robot noticing.
"""

from collections import deque
import json
import os
import socket
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from nav_msgs.msg import OccupancyGrid
import numpy as np
from rclpy.node import Node
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from perception import diagnostics
from perception.conversions import image_to_numpy, stamp_to_ns
from perception.core import telemetry as tm
from perception.core.cdr import CdrError, detection_hypotheses
from perception.core.image_encoding import ImageEncodingError
from perception.core.lifecycle import inbox_of
from perception.core.outbox import Outbox, OutboxError
from perception.mqtt_link import LinkConfig
from perception.node_main import run_node
from perception.params import declare_parameters, ParameterError, ParamSpec
from perception.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from perception.telemetry_worker import Job, TelemetryWorker, WorkerConfig

P = ParamSpec
PARAMS = [
    P('enabled', 'Send telemetry; false leaves the node idle, saying so on /diagnostics.'),
    P('robot_id', "The robot's name in topics and in the fleet view; '' takes the namespace, "
      'else the host name.'),
    P('topic_prefix', 'First level of every topic: <prefix>/<robot>/<kind>.'),
    P('broker_host', 'MQTT broker: host name or address.'),
    P('broker_port', 'MQTT broker port (1883 plain, 8883 TLS by convention).', min_value=1,
      max_value=65535),
    P('keepalive_s', 'MQTT keep-alive; the broker publishes the offline will after 1.5 times '
      'this without a word from the robot.', min_value=5, max_value=600),
    P('reconnect_max_s', 'Longest wait between connection attempts (from 1 s, doubling).',
      min_value=1, max_value=300),
    P('username', "MQTT user name; '' for none."),
    P('password_file', 'File that holds the MQTT password (a parameter would show it to the '
      "whole ROS graph); '' for none."),
    P('tls', 'Connect over TLS.'),
    P('tls_ca', "CA certificate (PEM) the broker's certificate must chain to; '' for the "
      "system's."),
    P('tls_cert', "Client certificate (PEM), where the broker asks for one; '' for none."),
    P('tls_key', "Private key (PEM) of the client certificate; '' for none."),
    P('summary_period_s', 'Period of the summaries.', min_value=0.2, max_value=3600.0),
    P('outbox_path', "SQLite outbox; '' is $ROS_HOME/perception/telemetry/<robot>.db "
      '(ROS_HOME defaults to ~/.ros).'),
    P('outbox_max_bytes', 'Most payload bytes the outbox holds; beyond, summaries and snapshots '
      'are dropped oldest first, events last.', min_value=10000, max_value=1e10),
    P('outbox_sync', "SQLite synchronous: 'full' keeps every message through a power cut, "
      "'normal' through a crash of the node.", choices=('normal', 'full')),
    P('drain_bytes_per_s', 'Most bytes a second sent (MQTT overhead counted), so that catching '
      'up after an outage does not flood a thin uplink.', min_value=1000.0, max_value=1e9),
    P('max_inflight', 'Most messages sent and not yet acknowledged.', min_value=1,
      max_value=1000),
    P('node_timeout_s', 'A node silent on /diagnostics this long is reported lost (in wall '
      'and ROS time both: a slow simulation is not a loss).', min_value=2.0, max_value=600.0),
    P('snapshot_width', 'Largest width of the JPEG a stop event carries (px).', min_value=16,
      max_value=4096),
    P('snapshot_height', 'Largest height of the JPEG a stop event carries (px).',
      min_value=16, max_value=4096),
    P('jpeg_quality', 'JPEG quality of camera snapshots.', min_value=10, max_value=100),
    P('frame_history', 'Camera frames kept to find the one nearest a stop.', min_value=1,
      max_value=100),
    P('request_min_interval_s', 'Requests closer together than this are refused (they cost '
      'CPU).', min_value=0.0, max_value=3600.0),
    P('process_scope', "Processes in the CPU and memory figures: the launcher's children "
      '(siblings), this node (self), or none.', choices=('siblings', 'self', 'none')),
    P('model_offers', 'Take model bundles published on <prefix>/<robot>/model into the '
      "detector's inbox (the detector verifies and installs them); false does not subscribe."),
    P('model_dir', "The detector's model_dir, whose inbox/ offered bundles are written to: it "
      "must match the detector's model_dir. '' is $ROS_HOME/perception/models."),
    P('model_offer_max_mb', 'Largest model bundle taken over MQTT (MB); a larger offer is '
      'refused.', min_value=0.1, max_value=256.0),
    P('model_inbox_max', 'Offers are refused while this many bundles wait in the inbox, not yet '
      'taken by the detector.', min_value=1, max_value=100),
]

#: Longest text taken from a telemetry/events message (characters).
MAX_TEXT = 200
#: Most key/values taken from a telemetry/events message.
MAX_VALUES = 20


def default_outbox(robot: str) -> str:
    """Return the outbox path under $ROS_HOME (~/.ros) for a robot."""
    home = os.environ.get('ROS_HOME') or os.path.join(os.path.expanduser('~'), '.ros')
    return os.path.join(home, 'perception', 'telemetry', f'{robot}.db')


class TelemetryNode(Node):
    """Summaries, events and snapshots to MQTT; see the module's notes."""

    def __init__(self, **kwargs):
        super().__init__('telemetry', **kwargs)
        p = declare_parameters(self, PARAMS, 'telemetry.yaml')
        self.p = p
        self.diagnostics = diagnostics.DiagnosticsPublisher(self, 'telemetry')
        self.worker = None
        if not p['enabled']:
            self.get_logger().info('telemetry is disabled (enabled: false)')
            self.create_timer(1.0, self._report_disabled)
            return
        self.robot = p['robot_id'] or tm.robot_id_from(
            self.get_namespace() if self.get_namespace() != '/' else socket.gethostname())
        problem = tm.robot_id_problem(self.robot)
        if problem:
            raise ParameterError(problem)
        if p['tls_cert'] and not p['tls']:
            raise ParameterError('tls_cert is set but tls is false')
        path = p['outbox_path'] or default_outbox(self.robot)
        try:
            outbox = Outbox(path, p['outbox_max_bytes'], p['outbox_sync'])
        except OutboxError as exc:
            raise ParameterError(str(exc)) from None
        if outbox.recovered:
            self.get_logger().error(outbox.recovered)
        remembered = {'state': outbox.get_state('safety.state'),
                      'transitions': outbox.get_state('safety.transitions')}
        now = self._now()
        self.safety = tm.SafetyTally(now, remembered if remembered['state'] else None)
        self.detections = tm.DetectionTally()
        self.health = tm.HealthWatch(p['node_timeout_s'], _json(outbox.get_state('health')))
        self.pace = tm.PaceClock(p['node_timeout_s'], time.monotonic(), now)
        self.frames = deque(maxlen=p['frame_history'])
        self.newest_map = None
        self.window_start = now
        link = LinkConfig(
            host=p['broker_host'], port=p['broker_port'],
            client_id=f'perception-telemetry-{self.robot}', keepalive=p['keepalive_s'],
            username=p['username'], password_file=p['password_file'], tls=p['tls'],
            ca=p['tls_ca'], cert=p['tls_cert'], key=p['tls_key'],
            reconnect_max_s=p['reconnect_max_s'])
        self.worker = TelemetryWorker(WorkerConfig(
            robot=self.robot, prefix=p['topic_prefix'],
            drain_bytes_per_s=p['drain_bytes_per_s'], max_inflight=p['max_inflight'],
            snapshot_size=(p['snapshot_width'], p['snapshot_height']),
            jpeg_quality=p['jpeg_quality'], request_min_interval_s=p['request_min_interval_s'],
            process_scope=p['process_scope'],
            model_inbox=inbox_of(p['model_dir']) if p['model_offers'] else '',
            model_offer_max_bytes=int(p['model_offer_max_mb'] * 1e6),
            model_inbox_max=p['model_inbox_max']), outbox, link, self._latest_map,
            self._latest_frame)
        self.create_subscription(Image, 'camera/image_raw', self._on_frame, SENSOR_QOS)
        # Serialised: only classes and scores are read (perception.core.cdr), not whole messages.
        self.create_subscription(Detection2DArray, 'detections', self._on_detections,
                                 RELIABLE_QOS, raw=True)
        self.create_subscription(OccupancyGrid, 'local_map', self._on_map, LATCHED_QOS)
        self.create_subscription(DiagnosticStatus, 'safety/state', self._on_safety,
                                 LATCHED_QOS)
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                 RELIABLE_QOS)
        self.create_subscription(DiagnosticStatus, 'telemetry/events', self._on_event,
                                 RELIABLE_QOS)
        self.create_timer(p['summary_period_s'], self._summarise)
        self.create_timer(1.0, self._check_nodes)
        self.create_timer(1.0, self._report)
        self.worker.start()
        self.get_logger().info(
            f'robot {self.robot}: telemetry to {link.broker}{" over TLS" if p["tls"] else ""} '
            f'under {p["topic_prefix"]}/{self.robot}/, outbox {outbox.path}' + (
                f', model offers into {self.worker.config.model_inbox}'
                if p['model_offers'] else ''))

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds / 1e9

    # --- callbacks: count, keep references, hand over ------------------------------------------

    def _on_frame(self, msg: Image) -> None:
        self.frames.append(msg)  # kept as received; encoded only for a stop or a request

    def _on_detections(self, data: bytes) -> None:
        try:
            detections = detection_hypotheses(data)
        except CdrError:  # another encoding: rclpy reads it
            msg = deserialize_message(data, Detection2DArray)
            detections = [[(r.hypothesis.class_id, r.hypothesis.score) for r in det.results]
                          for det in msg.detections]
        self.detections.add(tm.best_hypotheses(detections))

    def _on_map(self, msg: OccupancyGrid) -> None:
        self.newest_map = msg

    def _on_safety(self, msg: DiagnosticStatus) -> None:
        values = {kv.key: kv.value for kv in msg.values}
        now = self._now()
        first = self.safety.state is None
        change = self.safety.update(values, now)
        if change is None:
            if first and values.get('state'):
                # Remembered, so that a change while this node is down shows after a restart.
                self.worker.remember({'safety.state': values['state'],
                                      'safety.transitions': values.get('transitions', '')})
            return
        body = change.body()
        body['ros_time'] = _ros_time(now)
        frame = self._frame_near(now) if change.after in tm.STOP_STATES else None
        self.worker.submit(Job('event', body, time.time(), frame=frame, state={
            'safety.state': change.after,
            'safety.transitions': '' if change.transitions is None else str(change.transitions)}))

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        statuses = [(s.name, _level(s.level), s.message, {kv.key: kv.value for kv in s.values})
                    for s in msg.status]
        self._send_events(self.health.update(statuses, self._pace()), health=True)

    def _on_event(self, msg: DiagnosticStatus) -> None:
        # The way other nodes (model and drift monitors) put events into the fleet's view.
        body = {'event': (msg.name or 'event')[:64], 'level':
                tm.LEVEL_NAMES.get(_level(msg.level), 'OK'), 'message': msg.message[:MAX_TEXT],
                'values': {kv.key[:64]: kv.value[:MAX_TEXT]
                           for kv in list(msg.values)[:MAX_VALUES]},
                'hardware_id': msg.hardware_id[:64]}
        self._send_events([body])

    def _pace(self) -> float:
        return self.pace.tick(time.monotonic(), self._now())

    def _check_nodes(self) -> None:
        self._send_events(self.health.check(self._pace()), health=True)

    def _send_events(self, events, health: bool = False) -> None:
        if not events:
            return
        now = _ros_time(self._now())
        # Health events save what they reported with them, so a restart does not repeat them.
        state = {'health': json.dumps(self.health.snapshot())} if health else {}
        for body in events:
            body['ros_time'] = now
            self.worker.submit(Job('event', body, time.time(), state=state))

    def _frame_near(self, when: float):
        """Return a closure giving the kept frame stamped nearest `when` (encoded later)."""
        if not self.frames:
            return None
        msg = min(list(self.frames), key=lambda m: abs(stamp_to_ns(m.header.stamp) / 1e9 - when))
        return lambda: _frame_of(msg)

    def _latest_frame(self):
        frames = list(self.frames)
        return _frame_of(frames[-1]) if frames else None

    def _latest_map(self):
        msg = self.newest_map
        if msg is None:
            return None
        cells = np.frombuffer(msg.data, np.int8) if len(msg.data) else np.zeros(0, np.int8)
        if cells.size != msg.info.width * msg.info.height:
            raise ValueError(f'map of {msg.info.width}x{msg.info.height} with {cells.size} '
                             'cells')
        origin = (msg.info.origin.position.x, msg.info.origin.position.y)
        return (cells, msg.info.width, msg.info.height, msg.info.resolution, origin,
                stamp_to_ns(msg.header.stamp) / 1e9)

    # --- timers ------------------------------------------------------------------------------

    def _summarise(self) -> None:
        now = self._now()
        body = {'from': self.window_start, 'to': now,
                'detections': self.detections.take(), 'safety': self.safety.take(now),
                'nodes': self.health.summary(self._pace())}
        self.window_start = now
        msg = self.newest_map
        if msg is not None and len(msg.data) == msg.info.width * msg.info.height:
            body['map'] = tm.map_shares(np.frombuffer(msg.data, np.int8))
            body['map']['age_s'] = round(now - stamp_to_ns(msg.header.stamp) / 1e9, 2)
        self.worker.submit(Job('summary', body, time.time(), processes=True))

    def _report_disabled(self) -> None:
        self.diagnostics.publish([diagnostics.Status('telemetry', diagnostics.OK,
                                                     'disabled (enabled: false)')])

    def _report(self) -> None:
        s = self.worker.stats
        if not s:
            return
        stats, counters, requests = s['stats'], s['counters'], s['requests']
        values = {'robot': self.robot, 'broker': self.worker.link.config.broker,
                  'connected': str(s['connected']).lower(), 'queued': stats['count'],
                  'queued_bytes': stats['bytes'], 'inflight': s['inflight'],
                  'oldest_s': f'{time.time() - stats["oldest"]:.1f}' if stats['oldest'] else '0',
                  'requests_served': requests['served'],
                  'requests_rejected': requests['rejected'],
                  'model_offers_received': s['offers']['received'],
                  'model_offers_refused': s['offers']['refused'],
                  'safety_state': self.safety.state or 'unknown',
                  'outbox': self.worker.outbox.path}
        if s['offers']['last_refused']:
            values['model_offer_last_refused'] = s['offers']['last_refused']
        for key, value in sorted(counters.items()):
            if key != 'seq':
                values[key.replace('.', '_')] = value
        if s['unwritten']:
            values['unwritten'] = s['unwritten']
        queue_text = f'{stats["count"]} queued ({stats["bytes"] / 1000:.1f} kB)'
        errors = [s['recovered']] if s['recovered'] else []
        errors += list(s['problems'].values())
        if s['problem'] and s['problem_is_error']:
            errors.insert(0, s['problem'])
        warnings = []
        if not s['connected'] and not s['problem_is_error']:
            warnings.append(s['problem'] or 'not connected')
        dropped = sum(v for k, v in counters.items() if k.startswith('dropped.'))
        if dropped:
            warnings.append(f'{dropped} dropped for the outbox budget')
        if requests['rejected']:
            warnings.append(f'{requests["rejected"]} malformed or refused requests ignored '
                            f'(last: {requests["last_rejected"]})')
        if errors:
            level, message = diagnostics.ERROR, '; '.join(errors + warnings)
        elif warnings:
            level, message = diagnostics.WARN, '; '.join(warnings)
        else:
            level, message = diagnostics.OK, f'connected to {values["broker"]}'
        message += f'; {queue_text}'
        self.diagnostics.publish([diagnostics.Status('telemetry', level, message, values)])

    def destroy_node(self):
        """Stop the worker (it stores what is queued and says offline), then the node."""
        if self.worker is not None:
            self.worker.stop()
        super().destroy_node()


def _json(text):
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _ros_time(now: float):
    """Return ROS time for a message, or None before simulated time has begun."""
    return now if now > 0 else None


def _level(level) -> int:
    return level[0] if isinstance(level, (bytes, bytearray)) else int(level)


def _frame_of(msg):
    try:
        return image_to_numpy(msg), msg.encoding, stamp_to_ns(msg.header.stamp) / 1e9
    except ImageEncodingError as exc:
        raise ValueError(str(exc)) from None


def main(args=None):
    raise SystemExit(run_node(TelemetryNode, args))


if __name__ == '__main__':
    main()
