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

import pytest

from support import NodeStarter


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
