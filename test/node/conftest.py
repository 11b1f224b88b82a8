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

"""Fixtures of the node tests."""

import os
import shutil

import pytest

from perception.core import bundle as bundles
from support import constant_manifest, MqttReceiver, NodeStarter, SCENE


@pytest.fixture
def gate(tmp_path):
    """Start safety_node processes for a test; kill them after it."""
    starter = NodeStarter('safety_node', tmp_path)
    yield starter
    starter.kill_all()


@pytest.fixture
def telemetry(tmp_path):
    """Start telemetry_node processes for a test; kill them after it."""
    starter = NodeStarter('telemetry_node', tmp_path)
    yield starter
    starter.kill_all()


@pytest.fixture
def brokers(tmp_path):
    """Make mosquitto brokers on free loopback ports for a test; stop them after it."""
    from perception.broker import Broker, mosquitto_binary
    if mosquitto_binary() is None:
        pytest.skip('mosquitto is not installed (apt-get install mosquitto; make setup does)')
    made = []

    def make(name='broker', **kwargs):
        broker = Broker(str(tmp_path / name), **kwargs)
        made.append(broker)
        return broker
    yield make
    for broker in made:
        broker.stop(kill=True)


@pytest.fixture
def detector_lifecycle(tmp_path):
    """
    Keys, the shipped model and a detector starter with the lifecycle switched on.

    Yields start(**params) -> the detector's process, offer(manifest, version) -> the bundle
    dropped into its inbox, and dir, shipped, private (the signing key), public, model_dir.
    """
    private, public = str(tmp_path / 'k.pem'), str(tmp_path / 'k.pub')
    bundles.keygen(private, public)
    shipped = constant_manifest(tmp_path, 'shipped', SCENE)
    starter = NodeStarter('detector_node', tmp_path)
    model_dir = str(tmp_path / 'models')

    def start(**params):
        settings = {'model_manifest': shipped, 'trusted_keys': public, 'model_dir': model_dir,
                    'inbox_period_s': 0.2, 'shadow_min_frames': 20, 'shadow_cpu_share': 1.0,
                    'commit_window_s': 4.0, 'frame_budget_ms': 500.0}
        settings.update(params)
        args = []
        for key, value in settings.items():
            args += ['-p', f'{key}:={value}']
        return starter(*args)

    def offer(manifest, version, key=private, name=None):
        path = str(tmp_path / (name or f'offer{version}.bundle'))
        bundles.make_bundle(manifest, version, key, path)
        inbox = os.path.join(model_dir, 'inbox')
        os.makedirs(inbox, exist_ok=True)
        shutil.copy(path, inbox)
        return path

    yield {'start': start, 'offer': offer, 'dir': tmp_path, 'shipped': shipped,
           'private': private, 'public': public, 'model_dir': model_dir}
    starter.kill_all()


@pytest.fixture
def receivers():
    """Give a factory of MQTT subscribers to the test broker, each closed after the test."""
    made = []

    def make(*args, **kwargs):
        receiver = MqttReceiver(*args, **kwargs)
        made.append(receiver)
        return receiver
    yield make
    for receiver in made:
        receiver.close()
