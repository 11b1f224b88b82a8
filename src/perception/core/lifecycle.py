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
The life of a model on the robot: offered, checked, installed, shadowed, kept or rolled back.

Mender's cycle for a model: a bundle arrives in the inbox (any OTA agent, or the telemetry node
from MQTT, drops it there), is verified (signature, hash, version, labels) and installed into
the candidate slot; a probe in a separate process loads and runs it, so a model that crashes
ONNX Runtime takes down the probe, not the detector; the candidate then runs in shadow
(core/shadow.py) and is promoted or rejected. After a promotion a commit window watches the new
model's health (inference errors, latency, its detections against the previous model's on the
same frames) and rolls back by itself on a failure. No threads and no ROS here: the detector
node drives these steps from its lifecycle thread and publishes the events.
"""

from collections import deque
from dataclasses import dataclass, field
import os
import subprocess
import sys
import time
from typing import Deque, Dict, List, Optional, Tuple

import numpy as np

from perception.core import bundle as bundles
from perception.core.model_store import ModelStore, StoreError
from perception.core.shadow import latency_problem

#: Files an OTA agent is still writing: never taken from the inbox.
PARTIAL_SUFFIXES = ('.part', '.tmp', '.partial', '.download')
SUFFIX = '.bundle'


def default_model_dir() -> str:
    """Return where a robot keeps its models by default: $ROS_HOME/perception/models."""
    ros_home = os.environ.get('ROS_HOME', os.path.join(os.path.expanduser('~'), '.ros'))
    return os.path.join(ros_home, 'perception', 'models')


def inbox_of(model_dir: str) -> str:
    """Return the inbox folder of a model folder (bundles dropped there are offered)."""
    return os.path.join(model_dir or default_model_dir(), 'inbox')


@dataclass(frozen=True)
class Event:
    """One step of the lifecycle, for people and the fleet (telemetry/events, /diagnostics)."""

    name: str
    level: str               # OK, WARN or ERROR
    message: str
    values: Dict[str, object] = field(default_factory=dict)


class Inbox:
    """A folder bundles are dropped into; a bundle is taken once its size stops changing."""

    def __init__(self, path: str, keep_refused: int = 5):
        self.path = path
        self.refused = os.path.join(path, 'refused')
        self.keep_refused = keep_refused
        self._seen: Dict[str, Tuple[int, float]] = {}
        os.makedirs(self.refused, exist_ok=True)

    def ready(self) -> List[str]:
        """Return the bundles whose size and time did not change since the last look."""
        ready, seen = [], {}
        try:
            names = sorted(os.listdir(self.path))
        except OSError:
            return []
        for name in names:
            path = os.path.join(self.path, name)
            if name.startswith('.') or name.endswith(PARTIAL_SUFFIXES) or \
                    not os.path.isfile(path):
                continue
            try:
                stat = os.stat(path)
            except OSError:
                continue  # taken away between listing and looking
            seen[path] = (stat.st_size, stat.st_mtime)
            if self._seen.get(path) == seen[path]:
                ready.append(path)
        self._seen = seen
        return ready

    def done(self, path: str, reason: Optional[str] = None) -> None:
        """Take a bundle out of the inbox: removed, or kept in refused/ with its reason."""
        self._seen.pop(path, None)
        if reason is None:
            os.remove(path)
            return
        name = os.path.basename(path)
        os.replace(path, os.path.join(self.refused, name))
        with open(os.path.join(self.refused, name + '.reason'), 'w', encoding='utf-8') as out:
            out.write(reason + '\n')
        kept = sorted((e for e in os.listdir(self.refused) if not e.endswith('.reason')),
                      key=lambda e: os.path.getmtime(os.path.join(self.refused, e)))
        for old in kept[:-self.keep_refused]:
            for stale in (old, old + '.reason'):
                if os.path.exists(os.path.join(self.refused, stale)):
                    os.remove(os.path.join(self.refused, stale))


def probe(manifest_path: str, timeout_s: float = 120.0) -> Optional[str]:
    """
    Load and run a model in a child process; return why it failed, or None.

    A model that crashes ONNX Runtime (a segfault in a kernel, an abort) ends the child, never
    the detector.
    """
    command = [sys.executable, '-m', 'perception.core.lifecycle', 'probe', manifest_path]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                              env=env)
    except subprocess.TimeoutExpired:
        return f'the model did not load and run within {timeout_s:g} s'
    if done.returncode == 0:
        return None
    if done.returncode < 0:
        return f'the model crashed ONNX Runtime (signal {-done.returncode})'
    lines = [line for line in (done.stderr or done.stdout).strip().splitlines() if line]
    return lines[-1] if lines else f'the probe failed with status {done.returncode}'


def _probe_main(manifest_path: str) -> int:
    from perception.core.model import load_manifest, ModelError, OnnxDetector
    from perception.core.detection import DetectionError
    try:
        detector = OnnxDetector(load_manifest(manifest_path), ('cpu',), threads=1)
        rng = np.random.default_rng(0)
        for _ in range(2):  # noise: kernels see more than the blank image of the warm-up
            detector.detect(rng.integers(0, 256, (480, 640, 3), np.uint8), True)
    except (ModelError, DetectionError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


class CommitWatch:
    """The health of a newly promoted model over its commit window."""

    def __init__(self, window_s: float, budget_ms: float, started: float,
                 max_consecutive_errors: int = 3, max_count_ratio: float = 3.0,
                 min_compared: int = 30, max_latency_ratio: float = 1.5):
        self.window_s, self.budget_ms, self.started = window_s, budget_ms, started
        self.max_consecutive_errors = max_consecutive_errors
        self.max_count_ratio = max_count_ratio
        self.min_compared = min_compared
        self.max_latency_ratio = max_latency_ratio
        self.frames = self.errors = self.consecutive = 0
        self.last_error = ''
        self.first_failure: Optional[float] = None
        self.latencies: Deque[float] = deque(maxlen=30)
        self.previous_latencies: Deque[float] = deque(maxlen=30)
        self.new_count = self.old_count = self.compared = 0

    def frame(self, now: float, latency_ms: Optional[float], error: str = '') -> None:
        """Take one frame the new model served (error: why it could not)."""
        self.frames += 1
        if error:
            self.errors += 1
            self.consecutive += 1
            self.last_error = error
            if self.first_failure is None:
                self.first_failure = now
        else:
            self.consecutive = 0
            self.latencies.append(float(latency_ms))

    def compare(self, new_count: int, old_count: int,
                old_ms: Optional[float] = None) -> None:
        """Take one frame both the new and the previous model saw (the previous in shadow)."""
        self.compared += 1
        if old_ms is not None:
            self.previous_latencies.append(float(old_ms))
        self.new_count += new_count
        self.old_count += old_count

    def verdict(self, now: float) -> Optional[Tuple[bool, str]]:
        """Return (True, '') to commit, (False, why) to roll back, None while watching."""
        if self.consecutive >= self.max_consecutive_errors:
            return False, (f'{self.consecutive} inference errors in a row, the last: '
                           f'{self.last_error}')
        if self.frames >= 10 and self.errors > 0.2 * self.frames:
            return False, f'{self.errors} of {self.frames} frames failed: {self.last_error}'
        if len(self.latencies) >= 20:
            slow = latency_problem(self.budget_ms, list(self.latencies),
                                   list(self.previous_latencies), self.max_latency_ratio)
            if slow:
                return False, slow
        if self.compared >= self.min_compared and self.new_count + self.old_count >= 20:
            ratio = (self.new_count + 1) / (self.old_count + 1)
            if not 1 / self.max_count_ratio <= ratio <= self.max_count_ratio:
                return False, (f'{self.new_count / self.compared:.2f} detections a frame where '
                               f'the previous model finds {self.old_count / self.compared:.2f} '
                               'on the same frames')
        if now - self.started >= self.window_s and self.frames >= 10:
            return True, ''
        return None


class Lifecycle:
    """The checks and the store around every step; the caller loads and runs the models."""

    def __init__(self, model_dir: str, trusted_keys: str, labels: List[str],
                 shipped_manifest: str):
        self.model_dir = model_dir or default_model_dir()
        self.store = ModelStore(self.model_dir)
        self.labels = list(labels)
        self.trusted_keys = trusted_keys
        self.notes = self.store.recover()
        self.store.seed(shipped_manifest)
        self.inbox = Inbox(inbox_of(self.model_dir))

    def keys(self) -> Dict[str, object]:
        """Read the trusted keys now (a key added or revoked counts from the next bundle)."""
        if not self.trusted_keys:
            raise bundles.BundleError('no trusted_keys file is set: this robot takes no '
                                      'bundle')
        return bundles.load_public_keys(self.trusted_keys)

    def offer(self, path: str) -> Event:
        """Check a bundle and install it as the candidate; the event says which, or why not."""
        name = os.path.basename(path)
        try:
            bundle = bundles.read_bundle(path)
            bundles.verify(bundle, self.keys())
            bundles.check_compatible(bundle, self.labels)
            if self.store.slot('candidate') == bundle.version and \
                    self.store.installed_manifest(bundle.version) == bundle.manifest_bytes:
                version = bundle.version  # installed before a restart, still in the inbox
            else:
                version = self.store.install(bundle)
        except (bundles.BundleError, StoreError) as exc:
            self.inbox.done(path, str(exc)) if os.path.dirname(path) == self.inbox.path \
                else None
            return Event('model_refused', 'WARN', f'{name} refused: {exc}',
                         {'bundle': name, 'reason': str(exc)})
        if os.path.dirname(path) == self.inbox.path:
            self.inbox.done(path)
        return Event('model_installed', 'OK', f'{name}: version {version} installed as the '
                     'candidate', {'bundle': name, 'version': version,
                                   'key_id': bundle.key_id,
                                   'model_sha256': bundle.manifest.get('sha256', '')[:16]})

    def refuse_candidate(self, reason: str) -> Event:
        """Drop the candidate (a failed probe or shadow run)."""
        version = self.store.reject()
        return Event('candidate_rejected', 'WARN', f'candidate version {version} rejected: '
                     f'{reason}', {'version': version, 'reason': reason})

    def promote(self) -> int:
        """Make the candidate active, remembering that it is not committed yet."""
        version = self.store.promote()
        self.store.set_pending(True)
        return version

    def commit(self) -> int:
        """End the commit window: the active model stays."""
        self.store.set_pending(False)
        return self.store.slot('active')

    def rollback(self) -> int:
        """Make the previous model active again."""
        version = self.store.rollback()
        self.store.set_pending(False)
        return version

    def remove_inbox_leftovers(self) -> None:
        """Remove partial downloads older than a day (an agent that died mid-transfer)."""
        for name in os.listdir(self.inbox.path):
            path = os.path.join(self.inbox.path, name)
            if name.endswith(PARTIAL_SUFFIXES) and os.path.isfile(path) and \
                    time.time() - os.path.getmtime(path) > 86400:
                os.remove(path)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the probe child process."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == 'probe':
        return _probe_main(argv[1])
    print('usage: python -m perception.core.lifecycle probe MANIFEST', file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
