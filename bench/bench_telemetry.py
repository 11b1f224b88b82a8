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
Fleet telemetry: bytes sent against the bytes summarised, and no event lost in an outage.

The bytes the telemetry node sends are set against those of what it summarises, through a
broker outage with a restart of the telemetry node inside it.

The sim stack runs the lidar_faults scenario (stops and sensor faults) through the launcher, in
real time, with its telemetry node sending to a mosquitto of this benchmark's through a relay
that counts every byte the robot sends to the broker (MQTT headers, acknowledgements and
reconnections included). This process also publishes a marker event a second on
telemetry/events, and listens, undeserialised, to every topic the telemetry node takes but
/clock: those bytes are what the summaries stand for. The fleet's side (perception.fleet)
stores what arrives.

Timeline (wall clock): once the first summary has arrived, `--before` seconds of normal
running; then the broker is killed (SIGKILL) for `--outage` seconds; `--restart-after` seconds
into the outage the telemetry node is killed (SIGKILL) and the launcher respawns it; after the
broker is back, the outbox drains and `--after` seconds more run before the stack is stopped.

events_produced is what the telemetry node committed to its outbox over both of its lives (the
outbox's own counters); events_received is the distinct events the fleet stored. The last line
of output is one JSON object.

Usage: bench/bench_telemetry.py [--outage 40] [--before 20] [--after 20] [--restart-after 12]
"""

import argparse
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import psutil
import rclpy
from rclpy.executors import SingleThreadedExecutor
import yaml

from perception import stack
from perception.broker import Broker, Relay
from perception.fleet import FleetCollector, FleetStore
from perception.launcher import find_executable, stack_environment
from perception.mqtt_link import LinkConfig
from perception.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS

ROBOT = 'bench_robot'
QOS = {'sensor': SENSOR_QOS, 'reliable': RELIABLE_QOS, 'latched': LATCHED_QOS}


class Listener:
    """Counts the serialised bytes of the telemetry node's inputs; publishes marker events."""

    def __init__(self):
        self.node = rclpy.create_node('telemetry_bench')
        self.bytes = 0
        self.counting = False
        self.lock = threading.Lock()
        self.topics = [t for t in stack.TOPICS if 'telemetry' in t.subscribers and
                       t.name != '/clock']
        for topic in self.topics:
            module, _, name = topic.message.replace('/msg/', '/').partition('/')
            msg_type = getattr(__import__(f'{module}.msg', fromlist=[name]), name)
            self.node.create_subscription(msg_type, topic.name, self._count, QOS[topic.qos],
                                          raw=True)
        self.events = self.node.create_publisher(DiagnosticStatus, 'telemetry/events',
                                                 RELIABLE_QOS)
        self.telemetry = {}
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._diagnostics,
                                      RELIABLE_QOS)
        self.markers = 0
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        threading.Thread(target=self.executor.spin, daemon=True).start()

    def _count(self, data: bytes) -> None:
        if self.counting:
            with self.lock:
                self.bytes += len(data)

    def _diagnostics(self, msg) -> None:
        for status in msg.status:
            if status.name == 'telemetry: telemetry':
                self.telemetry = {kv.key: kv.value for kv in status.values}

    def marker(self) -> None:
        self.markers += 1
        self.events.publish(DiagnosticStatus(name='bench_marker', message='a marker',
                                             values=[KeyValue(key='n', value=str(self.markers))]))


def wait_until(predicate, timeout: float, period: float = 0.5) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(period)
    return False


def telemetry_process(launcher_pid: int):
    for child in psutil.Process(launcher_pid).children():
        try:
            if '__node:=telemetry' in child.cmdline():
                return child
        except psutil.Error:
            continue
    return None


def outbox_counters(path: str) -> dict:
    db = sqlite3.connect(f'file:{path}?mode=ro', uri=True)
    try:
        counters = dict(db.execute('SELECT name, value FROM counter').fetchall())
        queued = dict(db.execute('SELECT kind, COUNT(*) FROM message GROUP BY kind').fetchall())
    finally:
        db.close()
    return {'counters': counters, 'queued': queued}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n')[0])
    parser.add_argument('--outage', type=float, default=40.0)
    parser.add_argument('--before', type=float, default=20.0)
    parser.add_argument('--after', type=float, default=20.0)
    parser.add_argument('--restart-after', type=float, default=12.0)
    parser.add_argument('--scenario', default='lidar_faults')
    args = parser.parse_args()
    os.environ.update(stack_environment())
    work = tempfile.mkdtemp(prefix='bench-telemetry-')
    broker = Broker(os.path.join(work, 'broker')).start()
    try:
        result = measure(args, work, broker)
    finally:
        broker.stop()
        rclpy.try_shutdown()
    print(f'stack log and databases in {work}', file=sys.stderr)
    print(json.dumps(result))
    ok = result['ratio'] <= 0.01 and result['events_received'] == result['events_produced']
    return 0 if ok else 1


def measure(args, work: str, broker: Broker) -> dict:
    """Run the stack through the timeline; return the figures."""
    relay = Relay(broker.port)
    store = FleetStore(os.path.join(work, 'fleet.db'))
    fleet = FleetCollector(store, LinkConfig('127.0.0.1', broker.port, 'bench-fleet',
                                             clean_start=False, session_expiry_s=3600))
    if not fleet.start(timeout=30):
        raise RuntimeError(f'the fleet collector could not subscribe: {fleet.link.problem}')
    outbox = os.path.join(work, 'outbox.db')
    params = os.path.join(work, 'params.yaml')
    with open(params, 'w', encoding='utf-8') as stream:
        yaml.safe_dump({
            '/**/simulator': {'ros__parameters': {'scenario': args.scenario,
                                                  'duration_s': 3600.0}},
            '/**/route_driver': {'ros__parameters': {'scenario': args.scenario}},
            '/**/telemetry': {'ros__parameters': {
                'robot_id': ROBOT, 'broker_host': '127.0.0.1', 'broker_port': relay.port,
                'outbox_path': outbox, 'reconnect_max_s': 5}},
        }, stream)
    rclpy.init()
    listener = Listener()
    log = open(os.path.join(work, 'stack.log'), 'w+b')
    launch = subprocess.Popen([find_executable('perception', 'perception'), 'launch', 'sim',
                               '--use-sim-time', '--params-file', params],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    timeline = {}
    result = {}
    try:
        if not wait_until(lambda: store.figures(ROBOT)['summaries'] > 0 or
                          launch.poll() is not None, 300) or launch.poll() is not None:
            raise RuntimeError(f'no summary arrived (see {log.name})')
        start = time.monotonic()
        sent_at_start = relay.sent
        listener.counting = True
        markers = threading.Event()

        def mark():
            while not markers.wait(1.0):
                listener.marker()
        threading.Thread(target=mark, daemon=True).start()
        time.sleep(args.before)
        broker.stop(kill=True)
        timeline['broker_killed_s'] = time.monotonic() - start
        time.sleep(args.restart_after)
        victim = telemetry_process(launch.pid)
        if victim is None:
            raise RuntimeError("no telemetry node among the launcher's children")
        victim.kill()
        timeline['telemetry_killed_s'] = time.monotonic() - start
        if not wait_until(lambda: (telemetry_process(launch.pid) or victim).pid != victim.pid,
                          60, 0.2):
            raise RuntimeError('the launcher did not respawn the telemetry node')
        timeline['telemetry_respawned_s'] = time.monotonic() - start
        time.sleep(max(0.0, args.outage - (time.monotonic() - start -
                                           timeline['broker_killed_s'])))
        broker.start()
        timeline['broker_back_s'] = time.monotonic() - start
        timeline['outage_s'] = timeline['broker_back_s'] - timeline['broker_killed_s']

        def drained():
            values = listener.telemetry
            return values.get('queued') == '0' and values.get('connected') == 'true' and \
                store.figures(ROBOT)['events'] >= int(values.get('produced_event', 0))
        drained_in = wait_until(drained, 300)
        timeline['drained_s'] = time.monotonic() - start
        time.sleep(args.after)
        markers.set()
        listener.counting = False
        elapsed = time.monotonic() - start
        sent = relay.sent - sent_at_start
        result.update(raw_bytes_per_s=listener.bytes / elapsed, sent_bytes_per_s=sent / elapsed)
        result['ratio'] = result['sent_bytes_per_s'] / max(result['raw_bytes_per_s'], 1e-9)
        result['drained'] = drained_in
    finally:
        os.killpg(launch.pid, signal.SIGINT)
        try:
            launch.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(launch.pid, signal.SIGKILL)
            launch.wait(10)
    time.sleep(3.0)                               # the last words of the stopped node arrive
    fleet.stop()
    box = outbox_counters(outbox)
    figures = store.figures(ROBOT)
    produced = box['counters'].get('produced.event', 0)
    result.update(
        events_produced=produced, events_received=figures['events'],
        duplicates_dropped=figures['duplicates_dropped'],
        events_dropped_for_budget=box['counters'].get('dropped.event', 0),
        events_queued_at_end=box['queued'].get('event', 0),
        events_by_kind=figures['by_event'], markers_published=listener.markers,
        markers_received=figures['by_event'].get('bench_marker', 0),
        summaries_produced=box['counters'].get('produced.summary', 0),
        summaries_received=figures['summaries'], missing_in_sequence=figures['missing_seq'],
        stops_with_image=figures['events_with_image'],
        status_at_end=(figures['status'] or {}).get('state'), relay_connections=relay.connections,
        window_s=round(elapsed, 1), **{k: round(v, 1) for k, v in timeline.items()},
        load_average=os.getloadavg(), cpus=os.cpu_count(), machine=platform.machine())
    for key in ('raw_bytes_per_s', 'sent_bytes_per_s'):
        result[key] = round(result[key], 1)
    result['ratio'] = round(result['ratio'], 6)
    store.close()
    relay.close()
    return result


if __name__ == '__main__':
    sys.exit(main())
