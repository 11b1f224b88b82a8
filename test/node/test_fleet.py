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

"""The fleet's side: what arrives is kept once, and its page works in a real browser."""

import contextlib
import itertools
import json
import os
import shutil
import subprocess
import time
import urllib.request

import numpy as np
import pytest

from perception import fleet
from perception.core import telemetry as tm
from perception.mqtt_link import LinkConfig
from support import perception_command, wait_until

pytestmark = pytest.mark.node

T0 = 1_800_000_000.0


class Robot:
    """Makes a robot's messages the way the telemetry node does."""

    def __init__(self, name):
        self.name = name
        self.seq = itertools.count(1)

    def message(self, kind, body, when):
        message = tm.envelope(kind, self.name, next(self.seq), 'epoch1', when, body)
        return f'perception/{self.name}/{kind}', tm.encode(message)


def summary(k, stop_share=0.0):
    return {'from': k, 'to': k + 1.0,
            'detections': {'messages': 10, 'per_class': {'person': k % 3, 'pallet': 2},
                           'score_histogram': {}},
            'safety': {'state': 'CLEAR', 'shares': {'CLEAR': 1.0 - stop_share,
                                                    'STOP': stop_share}, 'transitions': 0,
                       'closest_m': 2.0},
            'map': {'occupied': 0.1, 'free': 0.5, 'unknown': 0.4},
            'nodes': {'safety': {'level': 'OK', 'message': 'ok', 'age_s': 0.2}},
            'processes': {'safety': {'cpu_percent': 20.0 + k, 'rss_mb': 80.0},
                          'telemetry': {'cpu_percent': 2.0, 'rss_mb': 60.0}},
            'telemetry': {'queued': 30 - k if k < 30 else 0, 'connected': True}}


def jpeg_field():
    image = np.zeros((240, 320, 3), np.uint8)
    image[60:180, 100:220] = (40, 200, 40)
    return tm.image_field(tm.jpeg(image, 'bgr8', 320, 240, 70), 'jpeg', 320, 240, stamp=1.0)


def fill(store):
    """Two robots' worth of messages, a duplicate, a replayed status and two foreign payloads."""
    a, b = Robot('robot_a'), Robot('robot_b')
    for k in range(40):
        store.add(*a.message('summary', summary(k, 0.5 if 10 <= k < 14 else 0.0), T0 + k))
    stop = a.message('event', {'event': 'safety_stop', 'from': 'CLEAR', 'to': 'STOP',
                               'reason': '<script>alert(1)</script> in the stop field',
                               'closest_m': 0.6, 'image': jpeg_field()}, T0 + 10.2)
    assert store.add(*stop) == 'new'
    assert store.add(*stop) == 'duplicate'                 # a QoS 1 redelivery
    store.add(*a.message('event', {'event': 'safety_state', 'from': 'STOP', 'to': 'CLEAR',
                                   'reason': 'field clear'}, T0 + 14.0))
    store.add(*a.message('event', {'event': 'node_lost', 'node': 'detector',
                                   'silent_s': 10.4}, T0 + 20.0))
    cells = np.full(40 * 30, -1, np.int8)
    cells[:300] = 100
    store.add(*a.message('snapshot', {'request_id': 'q1', 'what': 'map', 'image':
                                      tm.image_field(tm.map_png(cells, 40, 30), 'png', 40, 30)},
                         T0 + 30.0))
    online = a.message('status', {'state': 'online', 'reason': ''}, T0)
    store.add(*online)
    assert store.add(*online, retained=True) == 'replayed'
    store.add(*a.message('status', {'state': 'offline', 'reason': 'connection lost'}, T0 + 41))
    for k in range(5):
        store.add(*b.message('summary', summary(k), T0 + k))
    store.add(*b.message('status', {'state': 'online', 'reason': ''}, T0 + 1))
    assert store.add('perception/robot_b/event', b'{not json') == 'rejected'
    wrong = a.message('event', {'event': 'x'}, T0)[1]
    assert store.add('perception/robot_b/event', wrong) == 'rejected'   # robot mismatch


def test_the_store_keeps_each_message_once_and_the_newest_status(tmp_path):
    store = fleet.FleetStore(str(tmp_path / 'fleet.db'))
    fill(store)
    assert store.robots() == ['robot_a', 'robot_b']
    figures = store.figures('robot_a')
    assert figures['summaries'] == 40 and figures['events'] == 3
    assert figures['by_event'] == {'safety_stop': 1, 'safety_state': 1, 'node_lost': 1}
    assert figures['events_with_image'] == 1 and figures['snapshots'] == 1
    assert figures['duplicates_dropped'] == 1 and store.counter('replayed.robot_a') == 1
    assert figures['status']['state'] == 'offline'
    assert store.counter('rejected') == 2
    # A will older than the status it would replace (the robot came back meanwhile) is kept
    # as a message but does not turn the robot offline.
    b = Robot('robot_b')
    b.seq = itertools.count(100)
    store.add(*b.message('status', {'state': 'offline', 'reason': 'connection lost'}, T0 - 5))
    assert store.status('robot_b')['state'] == 'online'
    assert store.missing('robot_a') == 0
    store.close()


def test_the_collector_takes_every_robot_from_a_real_broker(brokers, tmp_path):
    import paho.mqtt.client as mqtt
    broker = brokers().start()
    store = fleet.FleetStore(str(tmp_path / 'fleet.db'))
    collector = fleet.FleetCollector(store, LinkConfig('127.0.0.1', broker.port, 'fleet-test',
                                                       clean_start=False,
                                                       session_expiry_s=600))
    assert collector.start(timeout=20), collector.link.problem
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sender.connect('127.0.0.1', broker.port)
    sender.loop_start()
    robot = Robot('r9')
    messages = [robot.message('event', {'event': 'safety_stop', 'n': k}, T0 + k)
                for k in range(20)]
    for topic, payload in messages + messages[:5]:      # five sent twice
        sender.publish(topic, payload, qos=1).wait_for_publish(10)
    sender.publish('perception/r9/event', b'garbage', qos=1).wait_for_publish(10)
    sender.publish('perception/r9/request', b'{"schema": 1}', qos=1).wait_for_publish(10)
    assert wait_until(lambda: collector.outcomes.get('duplicate', 0) == 5 and
                      collector.outcomes.get('rejected', 0) == 1, 30), collector.outcomes
    assert [m['body']['n'] for m in store.messages('r9', 'event')] == list(range(20))
    assert store.figures('r9')['duplicates_dropped'] == 5
    sender.disconnect()
    sender.loop_stop()
    collector.stop()
    store.close()


class Browser:
    """Headless Chromium, driven through its DevTools protocol."""

    def __init__(self, profile):
        binary = shutil.which('chromium') or shutil.which('chromium-browser')
        if binary is None:
            pytest.skip('Chromium is not installed (apt-get install chromium; make setup does)')
        self.process = subprocess.Popen(
            [binary, '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
             '--disable-extensions', '--remote-debugging-port=0',
             f'--user-data-dir={profile}', 'about:blank'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = os.path.join(str(profile), 'DevToolsActivePort')
        assert wait_until(lambda: os.path.exists(port_file) and
                          len(open(port_file).read().split()) >= 2, 60), 'Chromium did not start'
        port = open(port_file).read().split()[0]
        pages = []

        def page_listed():
            pages[:] = [t for t in json.load(urllib.request.urlopen(
                f'http://127.0.0.1:{port}/json/list', timeout=5)) if t['type'] == 'page']
            return bool(pages)
        assert wait_until(page_listed, 30)
        from websockets.sync.client import connect
        self._open = contextlib.ExitStack()
        self.socket = self._open.enter_context(connect(pages[0]['webSocketDebuggerUrl'],
                                                       max_size=None, open_timeout=30))
        self.ids = itertools.count(1)
        self.events = []

    def call(self, method, timeout=60.0, **params):
        call_id = next(self.ids)
        self.socket.send(json.dumps({'id': call_id, 'method': method, 'params': params}))
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            message = json.loads(self.socket.recv(timeout=max(0.1, end - time.monotonic())))
            if message.get('id') == call_id:
                assert 'error' not in message, message
                return message.get('result', {})
            self.events.append(message)
        raise TimeoutError(method)

    def wait_for(self, method, timeout=60.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(e.get('method') == method for e in self.events):
                return True
            remaining = max(0.1, end - time.monotonic())
            self.events.append(json.loads(self.socket.recv(timeout=remaining)))
        return False

    def evaluate(self, expression):
        result = self.call('Runtime.evaluate', expression=expression, returnByValue=True,
                           awaitPromise=True)
        assert 'exceptionDetails' not in result, result
        return result['result'].get('value')

    def problems(self):
        """Return the page's errors: exceptions, console errors, failed loads."""
        found = []
        for event in self.events:
            method, params = event.get('method'), event.get('params', {})
            if method == 'Runtime.exceptionThrown':
                found.append(params['exceptionDetails'].get('text'))
            elif method == 'Runtime.consoleAPICalled' and params.get('type') == 'error':
                found.append(str(params.get('args')))
            elif method == 'Log.entryAdded' and params['entry'].get('level') == 'error':
                found.append(params['entry'].get('text'))
            elif method == 'Network.loadingFailed':
                found.append(params.get('errorText'))
        return found

    def close(self):
        self._open.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def test_the_fleet_page_loads_without_errors_and_shows_robots_and_events(tmp_path):
    store = fleet.FleetStore(str(tmp_path / 'fleet.db'))
    fill(store)
    store.close()
    page = tmp_path / 'fleet.html'
    result = subprocess.run(perception_command('fleet', 'report', '--db',
                                               str(tmp_path / 'fleet.db'), '--out', str(page)),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    browser = Browser(tmp_path / 'profile')
    try:
        for domain in ('Runtime', 'Log', 'Page', 'Network'):
            browser.call(f'{domain}.enable')
        browser.call('Page.navigate', url=page.as_uri())
        assert browser.wait_for('Page.loadEventFired'), browser.events[-5:]
        text = browser.evaluate('document.body.innerText')
        assert browser.problems() == []
        # What a person sees: both robots with their status, the events, the snapshots.
        assert 'Robot robot_a' in text and 'Robot robot_b' in text
        rows = browser.evaluate('Array.from(document.querySelectorAll("tr.robot-row")).map('
                                'r => r.innerText.split("\\t").slice(0, 2))')
        assert rows == [['robot_a', 'offline'], ['robot_b', 'online']]
        events = browser.evaluate('Array.from(document.querySelectorAll("tr.event")).map('
                                  'r => r.cells[1].innerText)')
        assert events == ['safety_stop', 'safety_state', 'node_lost']
        # Text from robots is text: the reason's markup shows as written and runs nothing.
        assert '<script>alert(1)</script> in the stop field' in text
        assert browser.evaluate('document.scripts.length') == 0
        # Every picture decoded: the stop's camera frame and the map snapshot.
        images = browser.evaluate('Array.from(document.images).map(i => [i.alt, i.complete, '
                                  'i.naturalWidth, i.naturalHeight])')
        assert sorted(images) == [['camera at safety_stop', True, 320, 240],
                                  ['map snapshot', True, 40, 30]]
        # The plots are drawn: one per figure, with the summaries in them.
        plots = browser.evaluate('Array.from(document.querySelectorAll("svg")).map(s => '
                                 '[s.getAttribute("aria-label"), s.querySelectorAll('
                                 '"polyline, rect").length])')
        drawn = {label: count for label, count in plots if count}
        assert any('Safety state' in label for label in drawn)
        assert any('Detections' in label for label in drawn)
        assert any('outbox' in label for label in drawn)
        assert browser.problems() == []
    finally:
        browser.close()
