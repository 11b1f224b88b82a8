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
The telemetry node's worker thread: outbox, encoding and sending, off the ROS callbacks.

The node hands it jobs (a summary, an event, possibly with a camera frame to encode) and reads
its figures; paho's thread hands it connection events, acknowledgements, requests and model
offers. Only this thread writes the outbox, encodes images and writes offered bundles into the
detector's inbox, so neither a ROS callback nor paho's network thread (which acknowledges what
arrives) waits for the disk, the network or a JPEG encoder.

Per pass it records new jobs (committed to the outbox before anything is sent), deletes what
the broker acknowledged, then sends what waits, events first and oldest first, as far as the
in-flight limit and the byte rate allow.
"""

from collections import deque
from dataclasses import dataclass, field
import hashlib
import os
import queue
import socket
import sqlite3
import threading
import time
from typing import Callable, Deque, Dict, List, Optional, Tuple

import psutil

from perception.core import model_offer as offers
from perception.core import telemetry as tm
from perception.core.outbox import BULK_PRIORITY, EVENT_PRIORITY, Outbox, OutboxError
from perception.mqtt_link import LinkConfig, MqttLink

#: MQTT bytes per PUBLISH besides topic and payload (fixed header, packet id, properties), and
#: per PUBACK back; used for the byte rate only.
PUBLISH_OVERHEAD = 40

#: An in-flight message without an acknowledgement for this long on a live connection is sent
#: again (paho resends on reconnection itself; this covers what falls between).
ACK_TIMEOUT_S = 60.0
#: Jobs held in memory while the disk refuses writes, at most (then the oldest go, counted).
MAX_UNWRITTEN = 1000
#: A message the broker refused (not authorised, quota) waits this long before a new try.
REFUSED_RETRY_S = 30.0


@dataclass
class Job:
    """Something to store and send: a summary, an event or a snapshot."""

    kind: str
    body: dict
    #: Wall-clock time it happened (the fleet view's time axis).
    time: float
    #: Returns (image, encoding, stamp_s) of the camera frame to attach as JPEG, or None.
    frame: Optional[Callable[[], Optional[Tuple[object, str, float]]]] = None
    #: Saved in the outbox together with the message (what must survive a restart).
    state: Dict[str, str] = field(default_factory=dict)
    #: Add the stack's processes' CPU and memory (summaries).
    processes: bool = False


@dataclass(frozen=True)
class WorkerConfig:
    """What the worker needs besides the outbox and the connection settings."""

    robot: str
    prefix: str
    drain_bytes_per_s: float
    max_inflight: int
    snapshot_size: Tuple[int, int]
    jpeg_quality: int
    request_min_interval_s: float
    process_scope: str
    flush_s: float = 1.5
    #: Model bundles published on <prefix>/<robot>/model go into this inbox ('' = not taken).
    model_inbox: str = ''
    model_offer_max_bytes: int = 0
    model_inbox_max: int = 1


class ProcessSampler:
    """CPU and memory of the stack's processes: this one, or its launcher's children."""

    def __init__(self, scope: str):
        self.scope = scope
        self._known: Dict[int, psutil.Process] = {}

    def _processes(self) -> List[psutil.Process]:
        me = psutil.Process()
        if self.scope == 'self':
            return [me]
        try:
            return psutil.Process(os.getppid()).children()
        except psutil.Error:
            return [me]

    def sample(self) -> Dict[str, dict]:
        """Return {name: {cpu_percent, rss_mb}}; CPU is since the previous sample."""
        if self.scope == 'none':
            return {}
        out, seen = {}, {}
        for found in self._processes():
            process = self._known.get(found.pid, found)
            seen[found.pid] = process
            try:
                with process.oneshot():
                    cpu = process.cpu_percent(None)
                    rss = process.memory_info().rss
                    name = _node_name(process)
            except psutil.Error:
                continue
            if found.pid not in self._known:
                cpu = None  # the first sample has no interval to measure over
            key = name if name not in out else f'{name}:{found.pid}'
            out[key] = {'cpu_percent': None if cpu is None else round(cpu, 1),
                        'rss_mb': round(rss / 1e6, 1)}
        self._known = seen
        return out


def _node_name(process: psutil.Process) -> str:
    for arg in process.cmdline():
        if arg.startswith('__node:='):
            return arg.split(':=', 1)[1]
    return process.name()


class TelemetryWorker:
    """The worker thread; see the module's notes."""

    def __init__(self, config: WorkerConfig, outbox: Outbox, link_config: LinkConfig,
                 latest_map: Callable[[], Optional[tuple]],
                 latest_frame: Callable[[], Optional[tuple]]):
        self.config = config
        self.outbox = outbox
        self.latest_map = latest_map
        self.latest_frame = latest_frame
        self.inbox: queue.Queue = queue.Queue()
        self.boot = tm.new_id()[:12]
        self.topics = {kind: tm.topic(config.prefix, config.robot, kind) for kind in tm.KINDS}
        subscriptions = [(self.topics['request'], 1)]
        if config.model_inbox:
            subscriptions.append((self.topics['model'], 1))
        self.link = MqttLink(link_config, self.inbox.put, will=self._will,
                             subscriptions=subscriptions)
        self.bucket = tm.TokenBucket(config.drain_bytes_per_s,
                                     max(config.drain_bytes_per_s, 4096.0), time.monotonic())
        self.sampler = ProcessSampler(config.process_scope)
        self.inflight: Dict[int, Tuple[int, float]] = {}      # mid -> (row, sent at)
        self.refused: Dict[int, float] = {}                   # row -> retry at
        self._candidates: Deque = deque()
        #: Jobs not yet committed (the disk refused a write): kept in memory meanwhile.
        self._unwritten: Deque = deque()
        self.unwritten_dropped = 0
        self._maybe_pending = True
        self._last_request = -float('inf')
        self.requests = {'served': 0, 'rejected': 0, 'last_rejected': ''}
        self.offers = {'received': 0, 'refused': 0, 'last_refused': ''}
        self.problems: Dict[str, str] = {}
        self.stats: Dict[str, object] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='telemetry', daemon=True)
        self._next_housekeeping = 0.0
        self._next_vacuum = time.monotonic() + 60.0

    # --- the node's side ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread (and the connection)."""
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue a job; returns at once."""
        self.inbox.put(('job', job))

    def remember(self, values: Dict[str, str]) -> None:
        """Queue values to save in the outbox (what a restart must know); returns at once."""
        self.inbox.put(('state', values))

    def stop(self) -> None:
        """Store what is queued, send for up to flush_s, say offline, close; wait for it."""
        if self._thread.ident is None:  # never started: the node failed while starting
            self.outbox.close()
            return
        self._stop.set()
        self.inbox.put(('wake',))
        self._thread.join(self.config.flush_s + 5.0)

    # --- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        self.link.start()
        deadline = None
        while True:
            timeout = 0.5
            if self._candidates and self.link.connected:
                timeout = min(timeout, max(0.01, self.bucket.wait(
                    self._cost(self._candidates[0]), time.monotonic())))
            try:
                items = [self.inbox.get(timeout=timeout)]
            except queue.Empty:
                items = []
            while len(items) < 200:
                try:
                    items.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write_unwritten()
                self._handle(items)
                self._pump()
                self._housekeeping()
            except OutboxError as exc:
                self.problems['outbox'] = str(exc)
            except sqlite3.Error as exc:  # disk full, I/O error: reported, the loop goes on
                self.problems['outbox'] = f'outbox write failed: {exc}'
                while len(self._unwritten) > MAX_UNWRITTEN:
                    self._unwritten.popleft()
                    self.unwritten_dropped += 1
            except Exception as exc:  # noqa: B902 - a bug must not end the telemetry for good
                self.problems['worker'] = f'{type(exc).__name__}: {exc}'[:300]
                time.sleep(0.1)
            if self._stop.is_set():
                now = time.monotonic()
                deadline = deadline or now + self.config.flush_s
                if self.inbox.empty() and (now >= deadline or not self._sendable()):
                    break
        self._finish()

    def _sendable(self) -> bool:
        return self.link.connected and (bool(self.inflight) or self.outbox.stats()['count'] > 0)

    def _finish(self) -> None:
        try:
            self.link.stop(last=self._status('offline', 'stopped'),
                           timeout=max(0.2, self.config.flush_s / 2))
        finally:
            self.outbox.close()

    def _handle(self, items: List[tuple]) -> None:
        acks = []
        for item in items:
            kind = item[0]
            if kind == 'job':
                self._record(item[1])
            elif kind == 'ack':
                _kind, mid, ok, reason = item
                entry = self.inflight.pop(mid, None)
                if entry is None:
                    continue  # a status, or a row sent again meanwhile
                if ok:
                    acks.append(entry[0])
                    self.refused.pop(entry[0], None)
                    self.problems.pop('refused', None)
                else:
                    self.refused[entry[0]] = time.monotonic() + REFUSED_RETRY_S
                    self.problems['refused'] = f'the broker refused a message: {reason}'
            elif kind == 'connected':
                self._maybe_pending = True
                self._candidates.clear()
                self.link.publish(self.topics['status'], self._status('online', '')[1],
                                  retain=True)
            elif kind == 'message' and item[1] == self.topics['model'] and \
                    self.config.model_inbox:
                self._on_model_offer(item[2], item[3])
            elif kind == 'message':
                self._on_request(item[1], item[2])
            elif kind == 'state':
                self.outbox.set_state(item[1])
        if acks:
            self.outbox.acknowledge(acks)

    def _record(self, job: Job) -> None:
        body = dict(job.body)
        if job.processes:
            body['processes'] = self.sampler.sample()
            body['telemetry'] = self._figures()
        if job.frame is not None:
            image = self._frame_field(job.frame)
            if image is not None:
                body['image'] = image
        self._unwritten.append((job, body))
        self._write_unwritten()

    def _write_unwritten(self) -> None:
        """Commit what waits to be written; on a write error it stays for the next pass."""
        while self._unwritten:
            job, body = self._unwritten[0]
            priority = EVENT_PRIORITY if job.kind == 'event' else BULK_PRIORITY

            def payload(seq: int, job=job, body=body) -> bytes:
                return tm.encode(tm.envelope(job.kind, self.config.robot, seq,
                                             self.outbox.epoch, job.time, body))
            try:
                added = self.outbox.add(job.kind, priority, self.topics[job.kind], payload,
                                        job.state or None)
            except (TypeError, ValueError) as exc:  # cannot be encoded: dropped, not retried
                self._unwritten.popleft()
                self.unwritten_dropped += 1
                self.problems['encoding'] = f'a {job.kind} could not be encoded: {exc}'[:300]
                continue
            self._unwritten.popleft()
            self.problems.pop('outbox', None)
            self._maybe_pending = True
            if priority == EVENT_PRIORITY or added.dropped:
                self._candidates.clear()  # events go ahead of what was picked; victims gone

    def _frame_field(self, frame: Callable) -> Optional[dict]:
        try:
            found = frame()
            if found is None:
                return None
            image, encoding, stamp = found
            width, height = self.config.snapshot_size
            data = tm.jpeg(image, encoding, width, height, self.config.jpeg_quality)
        except ValueError as exc:
            self.problems['image'] = f'no snapshot: {exc}'
            return None
        return tm.image_field(data, 'jpeg', *_jpeg_size(image, width, height), stamp=stamp)

    # --- requests ------------------------------------------------------------------------------

    def _on_request(self, topic: str, payload: bytes) -> None:
        try:
            if topic != self.topics['request']:
                raise tm.RequestError(f'unexpected topic {topic[:80]}')
            request = tm.parse_request(payload)
            now = time.monotonic()
            if now - self._last_request < self.config.request_min_interval_s:
                raise tm.RequestError('too soon after the previous request')
            self._last_request = now
        except tm.RequestError as exc:
            self.requests['rejected'] += 1
            self.requests['last_rejected'] = str(exc)[:160]
            return
        body = {'request_id': request.request_id, 'what': request.what}
        try:
            body['image'] = self._map_field() if request.what == 'map' else \
                self._camera_field()
        except ValueError as exc:
            body['error'] = str(exc)
        self.requests['served'] += 1
        self._record(Job('snapshot', body, time.time()))

    def _map_field(self) -> dict:
        found = self.latest_map()
        if found is None:
            raise ValueError('no map received yet')
        cells, width, height, resolution, origin, stamp = found
        data = tm.map_png(cells, width, height)
        return tm.image_field(data, 'png', width, height, resolution=resolution,
                              origin=list(origin), stamp=stamp)

    def _camera_field(self) -> dict:
        found = self.latest_frame()
        if found is None:
            raise ValueError('no camera frame received yet')
        image, encoding, stamp = found
        height, width = image.shape[:2]
        data = tm.jpeg(image, encoding, width, height, self.config.jpeg_quality)
        return tm.image_field(data, 'jpeg', width, height, stamp=stamp)

    # --- model offers ----------------------------------------------------------------------------

    def _on_model_offer(self, payload: bytes, retained: bool) -> None:
        """Put an offered bundle into the detector's inbox, or refuse it; an event says which."""
        body = {'bytes': len(payload)}
        if payload:
            body['sha256'] = hashlib.sha256(payload).hexdigest()
        try:
            if retained:
                # Offered again on every connection, and to robots yet to come: never taken.
                raise offers.OfferRefused(offers.RETAINED, 'a retained offer (publish bundles '
                                          'without retain)')
            done = offers.deliver(payload, self.config.model_inbox,
                                  self.config.model_offer_max_bytes, self.config.model_inbox_max)
        except Exception as exc:  # noqa: B902 - a refused offer, never a crash
            reason = exc.reason if isinstance(exc, offers.OfferRefused) else 'error'
            self.offers['refused'] += 1
            self.offers['last_refused'] = f'{reason}: {exc}'[:160]
            body.update(event='model_offer_refused', level='WARN', reason=reason,
                        message=str(exc)[:300] or type(exc).__name__)
        else:
            self.offers['received'] += 1
            body.update(event='model_offer_received', level='OK', file=done.file,
                        inbox=self.config.model_inbox, version=done.version, model=done.model,
                        key_id=done.key_id, message=f'{done.file} put in the inbox; the '
                        'detector verifies and installs it')
        self._record(Job('event', body, time.time()))

    # --- sending -----------------------------------------------------------------------------

    @staticmethod
    def _cost(entry) -> int:
        return len(entry.payload) + len(entry.topic) + PUBLISH_OVERHEAD

    def _pump(self) -> None:
        if not self.link.connected:
            return
        now = time.monotonic()
        self._expire(now)
        while len(self.inflight) < self.config.max_inflight:
            if not self._candidates:
                if not self._maybe_pending:
                    return
                busy = {row for row, _ in self.inflight.values()} | set(self.refused)
                wanted = self.config.max_inflight * 2
                found = self.outbox.pending(wanted, skip=busy)
                self._candidates.extend(found)
                self._maybe_pending = len(found) == wanted
                if not self._candidates:
                    return
            entry = self._candidates[0]
            if not self.bucket.take(self._cost(entry), now):
                return
            mid = self.link.publish(entry.topic, entry.payload)
            if mid is None:
                return
            self._candidates.popleft()
            self.inflight[mid] = (entry.row, now)

    def _expire(self, now: float) -> None:
        for mid, (row, sent) in list(self.inflight.items()):
            if now - sent > ACK_TIMEOUT_S:
                del self.inflight[mid]
                self._maybe_pending = True
        for row, retry_at in list(self.refused.items()):
            if now >= retry_at:
                del self.refused[row]
                self._maybe_pending = True

    # --- status and figures ------------------------------------------------------------------

    def _status(self, state: str, reason: str) -> Tuple[str, bytes]:
        body = {'state': state, 'reason': reason, 'boot': self.boot,
                'host': socket.gethostname(), 'broker': self.link.config.broker}
        message = tm.envelope('status', self.config.robot, self.outbox.last_seq,
                              self.outbox.epoch, time.time(), body)
        return self.topics['status'], tm.encode(message)

    def _will(self) -> Tuple[str, bytes]:
        return self._status('offline', 'connection lost')

    def _figures(self) -> dict:
        counters = self.outbox.counters()
        stats = self.outbox.stats()
        return {'queued': stats['count'], 'queued_bytes': stats['bytes'],
                'dropped': {k.split('.', 1)[1]: v for k, v in counters.items()
                            if k.startswith('dropped.')},
                'connected': self.link.connected, 'requests_served': self.requests['served'],
                'requests_rejected': self.requests['rejected'],
                'model_offers_received': self.offers['received'],
                'model_offers_refused': self.offers['refused']}

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now < self._next_housekeeping:
            return
        self._next_housekeeping = now + 1.0
        self.link.poll(now)
        if now >= self._next_vacuum:
            self._next_vacuum = now + 60.0
            self.outbox.vacuum()
        stats = self.outbox.stats()
        self.stats = {'stats': stats, 'counters': self.outbox.counters(),
                      'inflight': len(self.inflight), 'connected': self.link.connected,
                      'problem': self.link.problem, 'problem_is_error':
                      self.link.problem_is_error, 'requests': dict(self.requests),
                      'offers': dict(self.offers),
                      'problems': dict(self.problems), 'recovered': self.outbox.recovered,
                      'unwritten': len(self._unwritten),
                      'unwritten_dropped': self.unwritten_dropped}


def _jpeg_size(image, width: int, height: int) -> Tuple[int, int]:
    h, w = image.shape[:2]
    scale = min(width / w, height / h, 1.0)
    return (max(1, round(w * scale)), max(1, round(h * scale))) if scale < 1.0 else (w, h)
