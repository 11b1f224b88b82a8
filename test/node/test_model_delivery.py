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

"""Model bundles over MQTT: `perception model offer --broker`, the telemetry node, the inbox."""

import hashlib
import os
import subprocess
import threading
import time

import numpy as np
import pytest
from rclpy.node import Node
from sensor_msgs.msg import Image

from perception.broker import free_port
from perception.conversions import numpy_to_image, stamp_from_ns
from perception.core import bundle as bundles
from perception.core.model_store import ModelStore
from perception.qos import SENSOR_QOS
from support import constant_manifest, perception_command, SCENE, wait_until

pytestmark = pytest.mark.node

ROBOT = 'r1'


def telemetry_args(port, tmp_path, model_dir, *extra):
    return ['-p', 'broker_host:=127.0.0.1', '-p', f'broker_port:={port}', '-p',
            f'robot_id:={ROBOT}', '-p', f'outbox_path:={tmp_path / "outbox.db"}', '-p',
            'reconnect_max_s:=2', '-p', 'outbox_sync:=normal', '-p', f'model_dir:={model_dir}',
            *extra]


def online(receiver):
    """Return whether the node said so on its status topic (it subscribes first)."""
    return any(m['body']['state'] == 'online' for m in receiver.messages('status'))


def offer_events(receiver):
    return [m['body'] for m in receiver.messages('event')
            if m['body']['event'] in ('model_offer_received', 'model_offer_refused')]


def offer(bundle, port, *extra):
    return subprocess.run(perception_command(
        'model', 'offer', bundle, '--broker', f'127.0.0.1:{port}', '--robot', ROBOT, *extra),
        capture_output=True, text=True, timeout=180)


def signed(directory, name, version, private):
    return bundles.make_bundle(constant_manifest(directory, name, SCENE), version, private,
                               str(directory / f'{name}.bundle'))


def test_an_offer_lands_whole_in_the_inbox_and_bad_offers_are_refused_with_reasons(
        brokers, telemetry, receivers, tmp_path):
    broker = brokers().start()
    receiver = receivers(broker.port, ROBOT)
    assert receiver.subscribed.wait(20)
    inbox = tmp_path / 'models' / 'inbox'
    node = telemetry(*telemetry_args(broker.port, tmp_path, tmp_path / 'models', '-p',
                                     'model_offer_max_mb:=1.0', '-p', 'model_inbox_max:=1'))
    assert wait_until(lambda: online(receiver), 60), node.output()
    bundles.keygen(str(tmp_path / 'k.pem'), str(tmp_path / 'k.pub'))
    topic = f'perception/{ROBOT}/model'
    bad = {'empty': b'', 'too_large': b'\x00' * 1_200_000,
           'not_a_bundle': b'GIF89a not a bundle' * 50}
    for payload in bad.values():
        receiver.client.publish(topic, payload, qos=1)
    assert wait_until(lambda: len(offer_events(receiver)) == 3, 60), node.output()
    refused = {e['reason']: e for e in offer_events(receiver)}
    assert set(refused) == set(bad)
    for reason, payload in bad.items():
        assert refused[reason]['bytes'] == len(payload) and refused[reason]['level'] == 'WARN'
        assert refused[reason]['message']
    assert refused['too_large']['sha256'] == hashlib.sha256(bad['too_large']).hexdigest()
    assert not inbox.exists() or os.listdir(inbox) == []

    first = signed(tmp_path, 'first', 1, str(tmp_path / 'k.pem'))
    done = offer(first, broker.port, '--wait-robot')
    assert done.returncode == 0, (done.stdout, done.stderr, node.output())
    assert 'acknowledged by the broker' in done.stdout and 'put in its inbox' in done.stdout
    with open(first, 'rb') as stream:
        sent = stream.read()
    received = offer_events(receiver)[-1]
    assert received['event'] == 'model_offer_received', received
    assert (received['bytes'], received['sha256'], received['version']) == (
        len(sent), hashlib.sha256(sent).hexdigest(), 1)
    assert os.listdir(inbox) == [received['file']] and received['file'].endswith('.bundle')
    assert (inbox / received['file']).read_bytes() == sent

    # One bundle waits already (model_inbox_max 1): the next is refused, the robot says why.
    second = signed(tmp_path, 'second', 2, str(tmp_path / 'k.pem'))
    full = offer(second, broker.port, '--wait-robot')
    assert full.returncode == 1 and 'inbox_full' in full.stderr, (full.stdout, full.stderr)
    assert os.listdir(inbox) == [received['file']]
    assert node.alive()
    assert wait_until(lambda: figures(receiver).get('model_offers_refused') == 4, 30)


def figures(receiver):
    """Return the newest summary's telemetry figures."""
    summaries = receiver.messages('summary')
    return summaries[-1]['body'].get('telemetry', {}) if summaries else {}


def test_an_inbox_that_cannot_be_written_refuses_offers_and_the_node_goes_on(
        brokers, telemetry, receivers, tmp_path):
    broker = brokers().start()
    receiver = receivers(broker.port, ROBOT)
    assert receiver.subscribed.wait(20)
    blocker = tmp_path / 'a_file'       # the model_dir is a file: no inbox can be made in it
    blocker.write_bytes(b'')
    node = telemetry(*telemetry_args(broker.port, tmp_path, blocker))
    assert wait_until(lambda: online(receiver), 60), node.output()
    bundles.keygen(str(tmp_path / 'k.pem'), str(tmp_path / 'k.pub'))
    done = offer(signed(tmp_path, 'model', 1, str(tmp_path / 'k.pem')), broker.port,
                 '--wait-robot')
    assert done.returncode == 1 and 'disk_error' in done.stderr, (done.stdout, done.stderr)
    assert node.alive() and blocker.read_bytes() == b''


def test_an_offer_without_a_broker_fails_clearly(tmp_path):
    bundles.keygen(str(tmp_path / 'k.pem'), str(tmp_path / 'k.pub'))
    bundle = signed(tmp_path, 'model', 1, str(tmp_path / 'k.pem'))
    done = offer(bundle, free_port(), '--timeout', '3')
    assert done.returncode == 1 and 'no connection to 127.0.0.1' in done.stderr, done.stderr
    garbage = tmp_path / 'garbage.bundle'
    garbage.write_bytes(b'not a bundle')
    done = offer(str(garbage), free_port(), '--timeout', '3')
    assert done.returncode == 1 and 'not a bundle' in done.stderr, done.stderr


class Camera:
    """Frames for the detector (it shadows a candidate on them) until close()."""

    def __init__(self, context):
        self.node = Node('delivery_camera', context=context)
        self.pub = self.node.create_publisher(Image, 'camera/image_raw', SENSOR_QOS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, daemon=True)
        self._thread.start()

    def _send(self):
        image = np.full((480, 640, 3), 40, np.uint8)
        while not self._stop.wait(1 / 20):
            msg = numpy_to_image(image, 'bgr8')
            msg.header.stamp = stamp_from_ns(time.time_ns())
            msg.header.frame_id = 'camera_optical_frame'
            self.pub.publish(msg)

    def close(self):
        self._stop.set()
        self._thread.join()
        self.node.destroy_node()


def test_a_bundle_sent_over_mqtt_is_verified_and_promoted_by_the_detector(
        brokers, telemetry, receivers, detector_lifecycle, ros_context, tmp_path):
    broker = brokers().start()
    receiver = receivers(broker.port, ROBOT)
    assert receiver.subscribed.wait(20)
    model_dir = detector_lifecycle['model_dir']
    detector = detector_lifecycle['start']()
    camera = Camera(ros_context)
    try:
        node = telemetry(*telemetry_args(broker.port, tmp_path, model_dir))
        assert wait_until(lambda: online(receiver), 60), node.output()
        bundle = signed(tmp_path, 'better', 1, detector_lifecycle['private'])
        done = offer(bundle, broker.port, '--wait-robot')
        assert done.returncode == 0, (done.stdout, done.stderr, node.output())

        # The detector's events come back over MQTT through the same telemetry node.
        def event(name):
            return next((m['body'] for m in receiver.messages('event')
                         if m['body']['event'] == name), None)
        assert wait_until(lambda: event('model_promoted') is not None, 120), (
            [m['body']['event'] for m in receiver.messages('event')], detector.output())
        assert event('model_installed')['values']['version'] == '1'
        assert ModelStore(model_dir).slot('active') == 1
        assert os.listdir(os.path.join(model_dir, 'inbox')) == ['refused']
    finally:
        camera.close()
