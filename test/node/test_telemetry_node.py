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

"""The telemetry node in a process of its own, against a real mosquitto, fed from this one."""

import array
import base64
import json
import os
import threading
import time

import cv2
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from nav_msgs.msg import OccupancyGrid
import numpy as np
import pytest
from rclpy.node import Node
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from perception.conversions import numpy_to_image, stamp_from_ns
from perception.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from support import make_certificates, publish_until, Spinner, wait_until

pytestmark = pytest.mark.node

ROBOT = 'r1'


class Feed:
    """Publishes what the telemetry node takes; reads each telemetry node's diagnostics."""

    def __init__(self, context):
        self.node = Node('telemetry_feed', context=context)
        self.pub_state = self.node.create_publisher(DiagnosticStatus, 'safety/state',
                                                    LATCHED_QOS)
        self.pub_image = self.node.create_publisher(Image, 'camera/image_raw', SENSOR_QOS)
        self.pub_det = self.node.create_publisher(Detection2DArray, 'detections', RELIABLE_QOS)
        self.pub_map = self.node.create_publisher(OccupancyGrid, 'local_map', LATCHED_QOS)
        self.pub_diag = self.node.create_publisher(DiagnosticArray, '/diagnostics',
                                                   RELIABLE_QOS)
        self.pub_event = self.node.create_publisher(DiagnosticStatus, 'telemetry/events',
                                                    RELIABLE_QOS)
        self.status = {}   # node name -> (level, message, values) of its telemetry status
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diag,
                                      RELIABLE_QOS)
        self.frame_stamps = []
        self._camera = None
        self.spinner = Spinner(self.node, context)

    def _on_diag(self, msg):
        for status in msg.status:
            if status.name.endswith(': telemetry'):
                self.status[status.name.split(':')[0]] = (
                    status.level[0], status.message, {kv.key: kv.value for kv in status.values})

    def matched(self, count=1):
        """Tell whether count telemetry nodes take what this feed publishes."""
        return all(pub.get_subscription_count() >= count for pub in (
            self.pub_state, self.pub_det, self.pub_map, self.pub_event))

    def start(self, node='telemetry', timeout=60):
        """Publish a first safety state until the node has heard it: later ones are changes."""
        return publish_until(lambda: self.state('CLEAR', 'start'),
                             lambda: self.values(node).get('safety_state') == 'CLEAR' and
                             self.matched(), timeout, 0.2)

    def values(self, node='telemetry'):
        return self.status.get(node, (None, '', {}))[2]

    def counter(self, name, node='telemetry'):
        return int(self.values(node).get(name, 0))

    def state(self, state, reason, transitions=0):
        values = {'state': state, 'reason': reason, 'source': 'scan', 'closest_m': '0.800',
                  'transitions': str(transitions)}
        self.pub_state.publish(DiagnosticStatus(
            name='safety', message=reason,
            values=[KeyValue(key=k, value=v) for k, v in values.items()]))

    def start_camera(self, rate=10.0):
        """Publish 640x480 frames on a thread; each frame's grey level counts up."""
        stop = threading.Event()

        def run():
            k = 0
            while not stop.wait(1.0 / rate):
                k += 1
                now = time.time_ns()
                image = numpy_to_image(np.full((480, 640, 3), k % 200 + 30, np.uint8), 'bgr8')
                image.header.stamp = stamp_from_ns(now)
                self.pub_image.publish(image)
                self.frame_stamps.append(now / 1e9)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._camera = (stop, thread)

    def detections(self, rows):
        msg = Detection2DArray()
        for label, score in rows:
            det = Detection2D()
            hypothesis = ObjectHypothesisWithPose()
            hypothesis.hypothesis.class_id, hypothesis.hypothesis.score = label, score
            det.results = [hypothesis]
            msg.detections.append(det)
        self.pub_det.publish(msg)

    def grid(self, cells):
        msg = OccupancyGrid()
        msg.header.stamp = stamp_from_ns(time.time_ns())
        msg.header.frame_id = 'odom'
        msg.info.resolution = 0.05
        msg.info.height, msg.info.width = cells.shape
        msg.info.origin.position.x = -5.0
        data = array.array('b')
        data.frombytes(cells.astype(np.int8).tobytes())
        msg.data = data
        self.pub_map.publish(msg)

    def close(self):
        if self._camera:
            self._camera[0].set()
            self._camera[1].join(2.0)
        self.spinner.close()


@pytest.fixture
def feed(ros_context):
    feed = Feed(ros_context)
    yield feed
    feed.close()


def args(port, outbox, *extra, node='telemetry'):
    return ['-r', f'__node:={node}', '-p', 'broker_host:=127.0.0.1', '-p',
            f'broker_port:={port}', '-p', f'robot_id:={ROBOT}', '-p',
            f'outbox_path:={outbox}', '-p', 'reconnect_max_s:=2', '-p', 'outbox_sync:=normal',
            *extra]


def events_by_reason(receiver):
    return [m['body'].get('reason') for m in receiver.messages('event')
            if m['body']['event'] in ('safety_state', 'safety_stop', 'person_latched',
                                      'person_reset')]


def test_summaries_arrive_at_their_rate_and_say_what_happened(brokers, telemetry, feed,
                                                              receivers, tmp_path):
    broker = brokers().start()
    receiver = receivers(broker.port, ROBOT)
    assert receiver.subscribed.wait(20)
    node = telemetry(*args(broker.port, tmp_path / 'outbox.db'))
    cells = np.full((100, 200), -1, np.int8)
    cells[:25] = 100                      # a quarter occupied
    cells[25:75] = 0                      # half free
    feed.state('CLEAR', 'field clear')
    feed.start_camera()

    def feeding():
        feed.grid(cells)
        feed.detections([('person', 0.91), ('pallet', 0.55), ('pallet', 0.62)])
        return len(receiver.messages('summary')) >= 8
    assert wait_until(feeding, 90), node.output()
    summaries = sorted(receiver.messages('summary'), key=lambda m: m['seq'])
    # Periods follow one another without gaps or overlaps, a second each on average.
    for before, after in zip(summaries, summaries[1:]):
        assert after['body']['from'] == before['body']['to']
        assert after['seq'] > before['seq']
    spans = [m['body']['to'] - m['body']['from'] for m in summaries[1:]]
    assert 0.7 < sum(spans) / len(spans) < 1.5, spans
    last = summaries[-1]['body']
    assert last['map']['occupied'] == pytest.approx(0.25)
    assert last['map']['free'] == pytest.approx(0.5)
    assert last['map']['unknown'] == pytest.approx(0.25)
    assert last['safety']['state'] == 'CLEAR' and last['safety']['shares'] == {'CLEAR': 1.0}
    seen = [m['body']['detections'] for m in summaries if m['body']['detections']['messages']]
    assert seen and all(set(d['per_class']) == {'person', 'pallet'} for d in seen)
    assert all(d['per_class']['pallet'] == 2 * d['per_class']['person'] for d in seen)
    assert all(sum(d['score_histogram']['pallet'][5:7]) == d['per_class']['pallet']
               for d in seen)
    assert 'telemetry' in last['nodes'] and 'telemetry' in last['processes']
    assert last['telemetry']['connected'] is True
    # The retained status says the robot is online; each message has its own id.
    statuses = receiver.messages('status')
    assert statuses and statuses[-1]['body']['state'] == 'online'
    assert len({m['id'] for m in summaries}) == len(summaries)
    code, _ = node.interrupt(10)
    assert code == 0
    # A clean stop says offline (retained), not the will.
    assert wait_until(lambda: receiver.messages('status')[-1]['body']['state'] == 'offline', 10)
    assert receiver.messages('status')[-1]['body']['reason'] == 'stopped'


def test_every_event_arrives_once_and_a_stop_carries_the_nearest_frame(
        brokers, telemetry, feed, receivers, tmp_path):
    broker = brokers().start()
    receiver = receivers(broker.port, ROBOT)
    assert receiver.subscribed.wait(20)
    node = telemetry(*args(broker.port, tmp_path / 'outbox.db'))
    feed.start_camera()
    assert feed.start(), node.output()
    sequence = [('STOP', 'obstacle 1'), ('CLEAR', 'clear 1'), ('STOP_LATCHED', 'person'),
                ('CLEAR', 'reset'), ('SLOW', 'slow field'), ('STOP', 'obstacle 2'),
                ('CLEAR', 'clear 2')]
    for k, (state, reason) in enumerate(sequence):
        feed.state(state, reason, k + 1)
        time.sleep(0.3)
    feed.pub_event.publish(DiagnosticStatus(name='model_drift', message='score mean fell',
                                            values=[KeyValue(key='mean', value='0.41')]))
    reasons = [r for _s, r in sequence]
    assert wait_until(lambda: len(events_by_reason(receiver)) >= len(reasons) and
                      any(m['body']['event'] == 'model_drift'
                          for m in receiver.messages('event')), 60), node.output()
    time.sleep(2.0)                                   # nothing more arrives later
    assert events_by_reason(receiver) == reasons      # each once, in order
    events = {m['body']['reason']: m for m in receiver.messages('event')
              if 'reason' in m['body']}
    names = [events[r]['body']['event'] for r in reasons]
    assert names == ['safety_stop', 'safety_state', 'person_latched', 'person_reset',
                     'safety_state', 'safety_stop', 'safety_state']
    stops = [events[r] for r in ('obstacle 1', 'person', 'obstacle 2')]
    for stop in stops:                                # a 320x240 JPEG of a frame sent here
        image = stop['body']['image']
        assert (image['format'], image['width'], image['height']) == ('jpeg', 320, 240)
        decoded = cv2.imdecode(np.frombuffer(base64.b64decode(image['data']), np.uint8),
                               cv2.IMREAD_COLOR)
        assert decoded.shape == (240, 320, 3)
        assert min(abs(image['stamp'] - s) for s in feed.frame_stamps) < 1e-3
        assert abs(image['stamp'] - stop['body']['ros_time']) < 1.0
    assert all('image' not in events[r]['body'] for r in ('clear 1', 'reset', 'slow field'))
    drift = next(m for m in receiver.messages('event') if m['body']['event'] == 'model_drift')
    assert drift['body']['message'] == 'score mean fell'
    assert drift['body']['values'] == {'mean': '0.41'}
    assert wait_until(lambda: feed.counter('produced_event') == len(reasons) + 1 and
                      feed.counter('sent_event') == len(reasons) + 1, 10), feed.values()


def test_outages_and_a_restart_lose_no_event(brokers, telemetry, feed, receivers, tmp_path):
    broker = brokers()
    # The receiver's session is made and saved first, so the broker queues for it from the
    # moment it is back, whoever reconnects first.
    broker.start()
    receiver = receivers(broker.port, ROBOT)
    assert receiver.subscribed.wait(20)
    broker.stop()
    outbox = tmp_path / 'outbox.db'
    node = telemetry(*args(broker.port, outbox))
    assert feed.start(), node.output()
    transitions = 0
    expected = []

    def change(state, reason):
        nonlocal transitions
        transitions += 1
        feed.state(state, reason, transitions)
        expected.append(reason)
        # The outbox's counters carry over a restart of the node: produced is the total.
        assert wait_until(lambda: feed.counter('produced_event') >= len(expected), 30), \
            node.output()

    # 1. The broker is unreachable at start: the node runs and queues.
    assert wait_until(lambda: 'unreachable' in feed.status.get('telemetry', (0, ''))[1], 60), \
        node.output()
    for k in range(3):
        change('STOP' if k % 2 == 0 else 'CLEAR', f'before {k}')
    level, message, values = feed.status['telemetry']
    assert level == 1 and 'queued' in message and int(values['queued']) >= 3, message
    # 2. The broker comes: everything queued arrives.
    broker.start()
    assert wait_until(lambda: len(events_by_reason(receiver)) == 3, 60), node.output()
    # 3. The broker is killed mid-run; events meanwhile wait on disk.
    broker.stop(kill=True)
    assert wait_until(lambda: feed.values().get('connected') == 'false', 30)
    for k in range(3):
        change('STOP' if k % 2 == 1 else 'CLEAR', f'outage {k}')
    # 4. The node is killed mid-outage; a new one takes over its outbox.
    node.process.kill()
    node.process.wait(10)
    node = telemetry(*args(broker.port, outbox))
    feed.status.clear()
    assert wait_until(lambda: feed.values().get('queued') and feed.matched(), 60), \
        node.output()
    for k in range(2):
        change('STOP' if k % 2 == 0 else 'CLEAR', f'after restart {k}')
    summaries_before = {m['id'] for m in receiver.messages('summary')}
    # 5. The broker is back: what waited arrives, events first, each exactly once.
    broker.start()
    assert wait_until(lambda: len(events_by_reason(receiver)) >= len(expected), 90), \
        (events_by_reason(receiver), node.output())
    time.sleep(2.0)
    assert events_by_reason(receiver) == expected
    arrivals = [(kind, m) for kind, m, _r in receiver.received if kind in ('event', 'summary')]
    last_event = max(i for i, (kind, m) in enumerate(arrivals) if kind == 'event')
    outage_summaries = [i for i, (kind, m) in enumerate(arrivals)
                        if kind == 'summary' and m['id'] not in summaries_before]
    assert outage_summaries and last_event < outage_summaries[0]
    # Summaries made during the outage came too, oldest first.
    late = [m for kind, m in arrivals if kind == 'summary' and m['id'] not in summaries_before]
    assert [m['seq'] for m in late[:5]] == sorted(m['seq'] for m in late[:5])
    assert wait_until(lambda: feed.values().get('queued') == '0', 60), feed.values()


def test_a_lost_network_is_noticed_and_what_waited_arrives_once(
        brokers, telemetry, feed, receivers, tmp_path):
    from perception.broker import Relay
    broker = brokers().start()
    receiver = receivers(broker.port, ROBOT)
    assert receiver.subscribed.wait(20)
    relay = Relay(broker.port)       # the robot's line; the receiver's is direct
    node = telemetry(*args(relay.port, tmp_path / 'outbox.db', '-p', 'keepalive_s:=5'))
    assert feed.start(), node.output()
    feed.state('STOP', 'before the loss', 1)
    assert wait_until(lambda: events_by_reason(receiver) == ['before the loss'], 60)
    relay.cut.set()                  # nothing closes: only the keep-alive can tell
    for k in range(3):
        feed.state('CLEAR' if k % 2 == 0 else 'STOP', f'lost {k}', k + 2)
        time.sleep(0.3)
    assert wait_until(lambda: feed.values().get('connected') == 'false' and
                      feed.counter('produced_event') == 4, 60), feed.values()
    relay.cut.clear()
    assert wait_until(lambda: len(events_by_reason(receiver)) >= 4, 90), node.output()
    time.sleep(2.0)
    assert events_by_reason(receiver) == ['before the loss', 'lost 0', 'lost 1', 'lost 2']
    relay.close()


def test_a_request_returns_a_map_snapshot_and_malformed_ones_are_ignored(
        brokers, telemetry, feed, receivers, tmp_path):
    broker = brokers().start()
    receiver = receivers(broker.port, ROBOT)
    assert receiver.subscribed.wait(20)
    node = telemetry(*args(broker.port, tmp_path / 'outbox.db', '-p',
                           'request_min_interval_s:=0.0'))
    cells = np.full((60, 80), -1, np.int8)
    cells[0, 0] = 100                         # the origin's cell
    cells[59, 79] = 0
    feed.start_camera()
    assert wait_until(lambda: (feed.grid(cells), any(
        'map' in m['body'] for m in receiver.messages('summary')))[1], 60), node.output()
    for bad in (b'not json', json.dumps({'schema': 1, 'id': 'x', 'what': 'secrets'}),
                json.dumps({'schema': 9, 'id': 'x', 'what': 'map'}),
                json.dumps({'schema': 1, 'id': 'x' * 500, 'what': 'map'}), b'{' * 10000):
        receiver.request(bad)
    receiver.request(json.dumps({'schema': 1, 'id': 'q1', 'what': 'map'}))
    receiver.request(json.dumps({'schema': 1, 'id': 'q2', 'what': 'camera'}))
    assert wait_until(lambda: len(receiver.messages('snapshot')) >= 2, 30), node.output()
    snapshots = {m['body']['request_id']: m['body'] for m in receiver.messages('snapshot')}
    assert set(snapshots) == {'q1', 'q2'}
    image = snapshots['q1']['image']
    assert (image['format'], image['width'], image['height']) == ('png', 80, 60)
    assert image['resolution'] == pytest.approx(0.05) and image['origin'] == [-5.0, 0.0]
    png = cv2.imdecode(np.frombuffer(base64.b64decode(image['data']), np.uint8),
                       cv2.IMREAD_GRAYSCALE)
    assert png.shape == (60, 80)
    assert png[59, 0] == 0 and png[0, 79] == 255 and png[30, 40] == 128   # north up
    camera = snapshots['q2']['image']
    assert (camera['format'], camera['width'], camera['height']) == ('jpeg', 640, 480)
    assert wait_until(lambda: feed.counter('requests_rejected') == 5, 10)
    level, message, _values = feed.status['telemetry']
    assert level == 1 and '5 malformed or refused requests ignored' in message
    assert node.alive() and feed.counter('requests_served') == 2


def test_tls_with_client_certificates_and_bad_tls_files(
        brokers, telemetry, feed, receivers, tmp_path):
    from perception.broker import BrokerTls
    certs = make_certificates(tmp_path)
    broker = brokers(tls=BrokerTls(certs['ca'], certs['server_cert'],
                                   certs['server_key'])).start()
    receiver = receivers(broker.port, ROBOT, tls=certs)
    assert receiver.subscribed.wait(20), broker.log_tail()
    good = ['-p', 'tls:=true', '-p', f'tls_ca:={certs["ca"]}', '-p',
            f'tls_cert:={certs["client_cert"]}', '-p', f'tls_key:={certs["client_key"]}']
    node = telemetry(*args(broker.port, tmp_path / 'good.db', *good, node='tls_good'))
    wrong_ca = ['-p', 'tls:=true', '-p', f'tls_ca:={certs["other_ca"]}', '-p',
                f'tls_cert:={certs["client_cert"]}', '-p', f'tls_key:={certs["client_key"]}']
    wrong = telemetry(*args(broker.port, tmp_path / 'wrong.db', *wrong_ca, '-p',
                            'robot_id:=r2', node='tls_wrong_ca'))
    missing = telemetry(*args(broker.port, tmp_path / 'missing.db', '-p', 'tls:=true', '-p',
                              f'tls_ca:={certs["ca"]}', '-p', f'tls_cert:={certs["client_cert"]}',
                              '-p', f'tls_key:={tmp_path / "nothing.key"}', '-p',
                              'robot_id:=r3', node='tls_missing'))
    anonymous = telemetry(*args(broker.port, tmp_path / 'anonymous.db', '-p', 'tls:=true', '-p',
                                f'tls_ca:={certs["ca"]}', '-p', 'robot_id:=r4',
                                node='tls_no_cert'))
    for name in ('tls_good', 'tls_wrong_ca', 'tls_missing', 'tls_no_cert'):
        assert feed.start(name), node.output()
    assert wait_until(lambda: receiver.messages('summary'), 60), node.output() + \
        broker.log_tail()
    feed.state('STOP', 'over tls', 1)
    assert wait_until(lambda: 'over tls' in events_by_reason(receiver), 30)

    def error(name, text):
        level, message, values = feed.status.get(name, (None, '', {}))
        return level == 2 and text in message and int(values.get('produced_event', 0)) >= 1
    assert wait_until(lambda: error('tls_wrong_ca', 'TLS handshake'), 60), \
        (feed.status.get('tls_wrong_ca'), wrong.output())
    assert 'CERTIFICATE_VERIFY_FAILED' in feed.status['tls_wrong_ca'][1] or \
        'certificate verify failed' in feed.status['tls_wrong_ca'][1]
    assert wait_until(lambda: error('tls_missing', 'nothing.key not found'), 60), \
        (feed.status.get('tls_missing'), missing.output())
    # The broker asks for a client certificate: TLS 1.3 says so after the handshake.
    assert wait_until(lambda: error('tls_no_cert', 'refused the TLS session'), 60), \
        (feed.status.get('tls_no_cert'), anonymous.output())
    assert 'CERTIFICATE_REQUIRED' in feed.status['tls_no_cert'][1]
    # All keep queueing what they produce.
    for name in ('tls_wrong_ca', 'tls_missing', 'tls_no_cert'):
        assert int(feed.values(name)['queued']) >= 1
    assert wrong.alive() and missing.alive() and anonymous.alive()


def test_wrong_credentials_are_an_error_and_nothing_is_lost_meanwhile(
        brokers, telemetry, feed, receivers, tmp_path):
    broker = brokers(users={'robot': 'right', 'fleet': 'fleet'}).start()
    wrong = tmp_path / 'wrong'
    wrong.write_text('guess\n')
    right = tmp_path / 'right'
    right.write_text('right\n')
    outbox = tmp_path / 'outbox.db'
    login = ['-p', 'username:=robot']
    node = telemetry(*args(broker.port, outbox, *login, '-p', f'password_file:={wrong}'))
    assert feed.start(), node.output()
    feed.state('STOP', 'while refused', 1)
    # Made and kept: the stop, and the node's own ERROR as a node_error event.
    assert wait_until(lambda: feed.status.get('telemetry', (0,))[0] == 2 and
                      'refused the connection' in feed.status['telemetry'][1] and
                      feed.counter('produced_event') >= 2, 60), \
        (feed.status.get('telemetry'), node.output())
    assert 'username, the password file' in feed.status['telemetry'][1]
    node.interrupt(10)
    # With the right password the outbox drains: the event made while refused arrives.
    receiver = receivers(broker.port, ROBOT, login=('fleet', 'fleet'))
    assert receiver.subscribed.wait(20), broker.log_tail()
    node = telemetry(*args(broker.port, outbox, *login, '-p', f'password_file:={right}'))
    assert wait_until(lambda: 'while refused' in events_by_reason(receiver), 60), node.output()
    assert any(m['body']['event'] == 'node_error' and m['body']['node'] == 'telemetry' and
               'refused the connection' in m['body']['message']
               for m in receiver.messages('event'))


def test_a_corrupt_outbox_is_set_aside_and_telemetry_goes_on(brokers, telemetry, feed,
                                                             receivers, tmp_path):
    broker = brokers().start()
    receiver = receivers(broker.port, ROBOT)
    assert receiver.subscribed.wait(20)
    outbox = tmp_path / 'outbox.db'
    outbox.write_bytes(b'\x00garbage that is no database\x00' * 200)
    node = telemetry(*args(broker.port, outbox))
    assert feed.start(), node.output()
    assert wait_until(lambda: feed.status.get('telemetry', (0,))[0] == 2 and
                      'set aside' in feed.status['telemetry'][1] and feed.matched(), 60), \
        node.output()
    aside = [n for n in os.listdir(tmp_path) if n.startswith('outbox.db.corrupt-')]
    assert len(aside) == 1
    feed.state('STOP', 'after the reset', 1)
    assert wait_until(lambda: 'after the reset' in events_by_reason(receiver), 60)
    assert node.alive()


def test_a_full_outbox_drops_summaries_first_and_counts_them(brokers, telemetry, feed,
                                                             receivers, tmp_path):
    broker = brokers()
    broker.start()
    receiver = receivers(broker.port, ROBOT)
    assert receiver.subscribed.wait(20)
    broker.stop()
    node = telemetry(*args(broker.port, tmp_path / 'outbox.db', '-p',
                           'outbox_max_bytes:=12000', '-p', 'summary_period_s:=0.2'))
    assert feed.start(), node.output()
    reasons = [f'event {k}' for k in range(4)]
    for k, reason in enumerate(reasons):
        feed.state('STOP' if k % 2 == 0 else 'CLEAR', reason, k + 1)
        time.sleep(0.5)
    assert wait_until(lambda: feed.counter('dropped_summary') >= 5 and
                      feed.counter('produced_event') == 4, 90), (feed.values(), node.output())
    assert feed.counter('dropped_event') == 0
    assert 'dropped for the outbox budget' in feed.status['telemetry'][1]
    assert int(feed.values()['queued_bytes']) <= 12000
    broker.start()
    assert wait_until(lambda: events_by_reason(receiver) == reasons, 60), node.output()
    summaries = receiver.messages('summary')
    assert wait_until(lambda: any(m['body']['telemetry']['dropped'].get('summary', 0) >= 5
                                  for m in receiver.messages('summary')), 30), summaries[-1:]
