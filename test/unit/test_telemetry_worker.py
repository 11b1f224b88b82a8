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

"""The telemetry worker without ROS or a broker: what it stores, and what it survives."""

import json
import os
import time

from perception.broker import free_port
from perception.core import bundle as bundles
from perception.core.outbox import Outbox
from perception.mqtt_link import LinkConfig
from perception.telemetry_worker import Job, ProcessSampler, TelemetryWorker, WorkerConfig
from support import constant_manifest, SCENE, wait_until


def worker(tmp_path, **offers):
    outbox = Outbox(str(tmp_path / 'outbox.db'), 100_000, 'normal')
    config = WorkerConfig(robot='r1', prefix='perception', drain_bytes_per_s=10_000.0,
                          max_inflight=5, snapshot_size=(320, 240), jpeg_quality=70,
                          request_min_interval_s=1.0, process_scope='self', flush_s=0.2,
                          **offers)
    link = LinkConfig('127.0.0.1', free_port(), 'worker-test')   # nothing listens there
    return TelemetryWorker(config, outbox, link, lambda: None, lambda: None)


def test_a_job_that_cannot_be_encoded_is_reported_and_the_rest_go_on(tmp_path):
    telemetry = worker(tmp_path)
    telemetry.start()
    try:
        telemetry.submit(Job('event', {'event': 'odd', 'value': object()}, time.time()))
        telemetry.submit(Job('event', {'event': 'fine'}, time.time()))
        telemetry.submit(Job('summary', {}, time.time(), processes=True))
        # The first connection attempt may fail after the summary is stored: wait for both.
        assert wait_until(lambda: telemetry.stats.get('counters', {}).get(
            'produced.summary') == 1 and 'unreachable' in telemetry.stats['problem'], 20), \
            telemetry.stats
        stats = telemetry.stats
        assert 'could not be encoded' in stats['problems']['encoding']
        assert stats['counters']['produced.event'] == 1 and stats['unwritten_dropped'] == 1
        assert 'unreachable' in stats['problem'] and not stats['problem_is_error']
    finally:
        telemetry.stop()
    # What was stored is still there for the next start, the summary with this process in it.
    again = Outbox(str(tmp_path / 'outbox.db'), 100_000)
    kinds = [e.kind for e in again.pending(10)]
    assert kinds == ['event', 'summary']
    assert b'"processes"' in again.pending(10)[1].payload
    again.close()


def test_the_sampler_measures_cpu_from_the_second_sample_on():
    sampler = ProcessSampler('self')
    first = sampler.sample()
    assert len(first) == 1
    (name, figures), = first.items()
    assert figures['cpu_percent'] is None and figures['rss_mb'] > 1
    sum(range(200_000))
    assert sampler.sample()[name]['cpu_percent'] is not None
    assert ProcessSampler('none').sample() == {}


def test_model_offers_from_paho_go_into_the_inbox_or_are_refused_each_with_an_event(tmp_path):
    inbox = tmp_path / 'models' / 'inbox'
    telemetry = worker(tmp_path, model_inbox=str(inbox), model_offer_max_bytes=1_000_000,
                       model_inbox_max=4)
    bundles.keygen(str(tmp_path / 'k.pem'), str(tmp_path / 'k.pub'))
    path = bundles.make_bundle(constant_manifest(tmp_path, 'm', SCENE), 1,
                               str(tmp_path / 'k.pem'), str(tmp_path / 'm.bundle'))
    with open(path, 'rb') as stream:
        payload = stream.read()
    topic = 'perception/r1/model'
    assert (topic, 1) in telemetry.link._subscriptions
    telemetry.start()
    try:
        # What paho's thread hands over: (message, topic, payload, retained).
        telemetry.inbox.put(('message', topic, payload, True))
        telemetry.inbox.put(('message', topic, payload, False))
        assert wait_until(lambda: telemetry.stats.get('counters', {}).get(
            'produced.event') == 2, 20), telemetry.stats
    finally:
        telemetry.stop()
    again = Outbox(str(tmp_path / 'outbox.db'), 100_000)
    events = [json.loads(e.payload)['body'] for e in again.pending(10)]
    again.close()
    assert [(e['event'], e.get('reason')) for e in events] == [
        ('model_offer_refused', 'retained'), ('model_offer_received', None)]
    assert os.listdir(inbox) == [events[1]['file']]
    assert (inbox / events[1]['file']).read_bytes() == payload


def test_without_an_inbox_the_worker_does_not_subscribe_to_offers(tmp_path):
    telemetry = worker(tmp_path)
    assert [topic for topic, _qos in telemetry.link._subscriptions] == ['perception/r1/request']
    telemetry.outbox.close()
