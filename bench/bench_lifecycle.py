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
Model lifecycle in the sim stack: updates, a rollback and a drift alarm, measured.

The sim stack runs the lighting_change scenario through the launcher in real time, its
detector serving the shipped INT8 model and taking bundles signed with this run's key. The
scenario is stretched so that the light doubles at `--change-at` simulated seconds, after a
long stretch of the light the held-out scenes had. This process drops bundles into the
detector's inbox, as an OTA agent would, and follows its events on telemetry/events and the
simulated time on /clock:

1. At the start, a tampered bundle (refused) and version 1: the shipped INT8 model made to
   fail on bright frames (an input mean above `--fragile-above`), which passes its probe and
   its shadow run in the scenario's first light. It is promoted; its commit window
   (`--commit-window` s) outlasts the light change, which makes it fail: it must be rolled
   back by itself.
2. After the rollback, version 2: the FP32 model with noise on its weights; shadow validation
   must reject it.
3. Then version 3: the shipped INT8 model itself, issued again, promoted in the new light.

frames_dropped_at_swap counts the frames the detector received and never answered between the
last frame of the old model and the first of the new (the detector's own count, checked against
the stamps of the detections this process receives). rollback_s is from the first failing
frame to the previous model's return; promote_s is the promotion itself (the swap), and
offer_to_promote_s from the offer through probe and shadow. drift_alarm_after_s is simulated
time from the light change to the drift event and drift_alarm_frames the frames the detector
answered in between; false_drift_alarms counts drift events before it (`--change-at` s of the
usual light). bad_bundle_rejected: the tampered bundle refused and version 2 rejected. The
last line of output is one JSON object.

Usage: bench/bench_lifecycle.py [--change-at 130] [--after 60] [--commit-window 600]
"""

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from diagnostic_msgs.msg import DiagnosticStatus
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rosgraph_msgs.msg import Clock
from vision_msgs.msg import Detection2DArray
import yaml

from perception.config import config_path, package_share
from perception.conversions import stamp_to_ns
from perception.core import bundle as bundles
from perception.core.lifecycle import inbox_of
from perception.core.model import load_manifest
from perception.launcher import find_executable, stack_environment
from perception.modeltools import faults
from perception.qos import RELIABLE_QOS

SHIPPED_FP32 = 'models/warehouse_detector_fp32.yaml'
SHIPPED_INT8 = 'models/warehouse_detector_int8.yaml'


class Watcher:
    """Follows the detector's events, detections and the simulated time."""

    def __init__(self):
        self.node = rclpy.create_node('lifecycle_bench')
        self.lock = threading.Lock()
        self.events = []                 # (simulated s, wall s, name, values)
        self.sim_s = 0.0
        self.answered = set()
        self.node.create_subscription(DiagnosticStatus, 'telemetry/events', self._event,
                                      RELIABLE_QOS)
        self.node.create_subscription(Clock, '/clock', self._clock, 10)
        self.node.create_subscription(Detection2DArray, 'detections', self._detections,
                                      RELIABLE_QOS)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        threading.Thread(target=self.executor.spin, daemon=True).start()

    def _clock(self, msg) -> None:
        self.sim_s = msg.clock.sec + msg.clock.nanosec * 1e-9

    def _detections(self, msg) -> None:
        with self.lock:
            self.answered.add(stamp_to_ns(msg.header.stamp))

    def _event(self, msg) -> None:
        with self.lock:
            self.events.append((self.sim_s, time.monotonic(), msg.name,
                                {kv.key: kv.value for kv in msg.values}))

    def find(self, name: str, after: int = 0):
        with self.lock:
            return next((e for e in self.events[after:] if e[2] == name), None)

    def wait(self, names, timeout: float, after: int = 0):
        """Return the first of these events after index `after`, or None after timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                found = next((e for e in self.events[after:] if e[2] in names), None)
            if found:
                return found
            time.sleep(0.2)
        return None


def write_bundles(work: str, key: str, fragile_above: float) -> dict:
    """Write the bundles this run offers; return their paths by role."""
    # Versions 1 and 3 are INT8 like the active model: on a machine the simulator loads, an
    # FP32 model is held to the INT8 one's latency and is slower.
    fp32, int8 = (os.path.join(package_share(), m) for m in (SHIPPED_FP32, SHIPPED_INT8))
    paths = {}

    def derived(name, shipped, make):
        onnx_path = os.path.join(work, f'{name}.onnx')
        make(load_manifest(shipped).model_path, onnx_path)
        manifest = os.path.join(work, f'{name}.yaml')
        faults.with_manifest(shipped, onnx_path, manifest)
        return manifest

    # The probe's noise has an input mean near 0.5: below `below` only bright scenes fail.
    fragile = derived('fragile', int8, lambda a, b: faults.failing_when_bright(
        a, b, fragile_above, 0.45))
    noisy = derived('noisy', fp32, lambda a, b: faults.degraded(a, b, 0.5))
    for role, manifest, version in (('fragile', fragile, 1), ('noisy', noisy, 2),
                                    ('good', int8, 3), ('tampered', int8, 9)):
        paths[role] = bundles.make_bundle(manifest, version, key,
                                          os.path.join(work, f'{role}_v{version}.bundle'))
    with open(paths['tampered'], 'r+b') as stream:   # one byte of the model changed
        stream.seek(os.path.getsize(paths['tampered']) // 2)
        byte = stream.read(1)
        stream.seek(-1, os.SEEK_CUR)
        stream.write(bytes([byte[0] ^ 0xFF]))
    return paths


def drop(path: str, inbox: str, name: str) -> float:
    """Put a bundle into the inbox as an OTA agent would (partial name, then renamed)."""
    os.makedirs(inbox, exist_ok=True)
    target = os.path.join(inbox, name)
    shutil.copyfile(path, target + '.part')
    os.replace(target + '.part', target)
    return time.monotonic()


def scenario_file(work: str, change_at: float, after: float) -> str:
    """Write lighting_change with the light change at change_at and `after` s after it."""
    with open(config_path('scenarios/lighting_change.yaml'), encoding='utf-8') as stream:
        doc = yaml.safe_load(stream)
    doc['duration_s'] = change_at + after
    doc['lighting']['schedule'] = [{'at_s': change_at, 'level': 2.0}]
    # Slow enough to be on its way the whole run.
    doc['robot']['route']['speed'] = round(18.0 / (change_at + after), 3)
    path = os.path.join(work, 'lighting_change.yaml')
    with open(path, 'w', encoding='utf-8') as stream:
        yaml.safe_dump(doc, stream, sort_keys=False)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n')[0])
    parser.add_argument('--change-at', type=float, default=130.0,
                        help='simulated s of in-distribution light before the change')
    parser.add_argument('--after', type=float, default=60.0,
                        help='simulated s after the light change')
    parser.add_argument('--commit-window', type=float, default=600.0)
    parser.add_argument('--fragile-above', type=float, default=0.3,
                        help='input mean above which version 1 fails (scenario: 0.24, 0.36)')
    args = parser.parse_args()
    os.environ.update(stack_environment())
    work = tempfile.mkdtemp(prefix='bench-lifecycle-')
    result = measure(args, work)
    print(f'stack log and bundles in {work}', file=sys.stderr)
    print(json.dumps(result))
    ok = (result.get('frames_dropped_at_swap') == [0, 0] and
          all(result.get('swap_frames_answered') or [False]) and
          result.get('bad_bundle_rejected') and
          (result.get('rollback_s') or 1e9) <= 5.0 and result.get('false_drift_alarms') == 0 and
          result.get('drift_alarm_after_s') is not None)
    return 0 if ok else 1


def measure(args, work: str) -> dict:
    """Run the stack through the timeline; return the figures."""
    private, public = os.path.join(work, 'k.pem'), os.path.join(work, 'k.pub')
    bundles.keygen(private, public)
    paths = write_bundles(work, private, args.fragile_above)
    model_dir = os.path.join(work, 'models')
    params = os.path.join(work, 'params.yaml')
    scenario = scenario_file(work, args.change_at, args.after)
    with open(params, 'w', encoding='utf-8') as stream:
        yaml.safe_dump({
            '/**/simulator': {'ros__parameters': {'scenario': scenario}},
            '/**/route_driver': {'ros__parameters': {'scenario': scenario}},
            '/**/detector': {'ros__parameters': {
                'trusted_keys': public, 'model_dir': model_dir,
                'commit_window_s': args.commit_window}},
            '/**/telemetry': {'ros__parameters': {'enabled': False}},
        }, stream)
    rclpy.init()
    try:
        return run_stack(args, work, paths, model_dir, params)
    finally:
        rclpy.try_shutdown()


def run_stack(args, work: str, paths: dict, model_dir: str, params: str) -> dict:
    """Start the stack, drive the timeline, stop it; return the figures."""
    inbox = inbox_of(model_dir)
    watcher = Watcher()
    log = open(os.path.join(work, 'stack.log'), 'w+b')
    launch = subprocess.Popen([find_executable('perception', 'perception'), 'launch', 'sim',
                               '--use-sim-time', '--params-file', params],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    result = {'change_at_sim_s': args.change_at}
    wall_limit = (args.change_at + args.after) * 4 + 300
    swaps = []
    try:
        timeline(args, watcher, launch, log.name, paths, inbox, result, swaps, wall_limit)
    except RuntimeError as exc:  # the figures so far, and what went wrong
        result['error'] = str(exc)
    finally:
        os.killpg(launch.pid, signal.SIGINT)
        try:
            launch.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(launch.pid, signal.SIGKILL)
            launch.wait(10)
        watcher.executor.shutdown()
        watcher.node.destroy_node()
    return figures(args, watcher, result, swaps)


def timeline(args, watcher: Watcher, launch, log: str, paths: dict, inbox: str, result: dict,
             swaps: list, wall_limit: float) -> None:
    """Offer the bundles in turn as the detector's events come; fill in result and swaps."""
    start = time.monotonic()
    while not watcher.answered and launch.poll() is None:
        if time.monotonic() - start > 300:
            raise RuntimeError(f'no detections in 300 s (see {log})')
        time.sleep(0.5)
    drop(paths['tampered'], inbox, 'a_tampered.bundle')
    offered = drop(paths['fragile'], inbox, 'b_fragile.bundle')
    result['tampered_refused'] = watcher.wait(['model_refused'], 120) is not None
    promoted = watcher.wait(['model_promoted', 'candidate_rejected'], 300)
    if not promoted or promoted[2] != 'model_promoted':
        raise RuntimeError(f'version 1 was not promoted: {promoted}')
    result['offer_to_promote_s'] = round(promoted[1] - offered, 2)
    result['promote_s'] = float(promoted[3]['promote_s'])
    swaps.append(promoted[3])
    result['promoted_at_sim_s'] = round(promoted[0], 1)
    mark = len(watcher.events)
    back = watcher.wait(['model_rolled_back', 'model_committed'], wall_limit, mark)
    if not back or back[2] != 'model_rolled_back':
        raise RuntimeError(f'version 1 was not rolled back: {back}')
    result['rollback_s'] = float(back[3]['rollback_s'])
    result['rolled_back_at_sim_s'] = round(back[0], 1)
    result['rollback_reason'] = back[3]['reason']
    mark = len(watcher.events)
    drop(paths['noisy'], inbox, 'c_noisy.bundle')
    verdict = watcher.wait(['model_promoted', 'candidate_rejected'], 300, mark)
    result['noisy_rejected'] = bool(verdict and verdict[2] == 'candidate_rejected')
    result['noisy_reasons'] = verdict[3].get('reason', '') if verdict else 'no verdict'
    mark = len(watcher.events)
    offered = drop(paths['good'], inbox, 'd_good.bundle')
    promoted = watcher.wait(['model_promoted', 'candidate_rejected'], 300, mark)
    if promoted and promoted[2] == 'model_promoted':
        swaps.append(promoted[3])
        result['good_offer_to_promote_s'] = round(promoted[1] - offered, 2)
    else:
        result['good_not_promoted'] = promoted[3] if promoted else 'no verdict'
    # The drift alarm comes soon after the change; wait for it if it has not yet.
    after = next((i for i, e in enumerate(watcher.events) if e[0] >= args.change_at),
                 len(watcher.events))
    watcher.wait(['drift'], 60, after)


def figures(args, watcher: Watcher, result: dict, swaps: list) -> dict:
    """Add the figures from the events and detections received to result; return it."""
    with watcher.lock:
        events = list(watcher.events)
        answered = set(watcher.answered)
    dropped, published = [], []
    for swap in swaps:
        last, first = (int(swap[k].replace('.', '')) for k in ('last_old_stamp',
                                                               'first_new_stamp'))
        # Both frames either side of the swap were answered on `detections`.
        published.append(last in answered and first in answered)
        dropped.append(int(swap['frames_dropped_at_swap']))
    result['swap_frames_answered'] = published
    drift = [e for e in events if e[2] == 'drift']
    after = [e for e in drift if e[0] >= args.change_at]
    result.update(
        frames_dropped_at_swap=dropped,
        false_drift_alarms=len([e for e in drift if e[0] < args.change_at]),
        in_distribution_sim_s=args.change_at,
        drift_alarm_after_s=round(after[0][0] - args.change_at, 2) if after else None,
        drift_alarm_frames=len([s for s in answered if args.change_at * 1e9 <= s <=
                                int(after[0][3]['stamp'].replace('.', ''))]) if after else None,
        bad_bundle_rejected=bool(result.get('tampered_refused') and
                                 result.get('noisy_rejected')),
        drift_stats=after[0][3].get('stats') if after else None,
        events=[f'{e[0]:.1f} s {e[2]}' for e in events],
        load_average=[round(v, 2) for v in os.getloadavg()], cpus=os.cpu_count(),
        machine=platform.machine(), processor=platform.processor() or platform.machine())
    return result


if __name__ == '__main__':
    sys.exit(main())
