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
Fleet telemetry without ROS: message envelopes, summaries, events, requests and images.

What a robot tells its fleet is summaries (once a period: detections, safety time shares, map
shares, node health, processes), events (at once: safety changes, node losses, sensor faults)
and snapshots (on request: the map as PNG, a camera frame as JPEG). Each is a JSON object in an
envelope (ENVELOPE_KEYS) with a schema version, a unique id and a sequence number; the
telemetry node fills them from ROS messages, perception.core.outbox keeps them until sent.
"""

import base64
from collections import Counter
from dataclasses import dataclass, field
import json
import math
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple
import uuid

import cv2
import numpy as np

#: Version of the payloads' layout; a receiver refuses what it does not know.
SCHEMA = 1

#: The kinds of message, each under its own topic: <prefix>/<robot>/<kind>. The robot sends the
#: first four; `request` (a snapshot asked for) and `model` (a model bundle's bytes, for the
#: detector's inbox) come to it.
KINDS = ('status', 'summary', 'event', 'snapshot', 'request', 'model')
#: Keys every message has.
ENVELOPE_KEYS = ('schema', 'id', 'seq', 'epoch', 'robot', 'kind', 'time', 'body')

#: A robot id is one MQTT topic level: no wildcards or separators, and a plain file name.
ROBOT_ID = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}')

#: Safety states of perception.core.safety, and the events that entering or leaving them make.
STOP_STATES = ('STOP', 'STOP_LATCHED')
LATCHED = 'STOP_LATCHED'

#: Confidence histogram: ten bins of 0.1 over [0, 1].
SCORE_BINS = 10

#: map_server's thresholds: occupied at 0.65 and up, free at 0.25 and below; the rest unknown.
OCCUPIED_AT = 65
FREE_UP_TO = 25

#: What can be asked for, and the longest request taken.
REQUESTS = ('map', 'camera')
MAX_REQUEST_BYTES = 4096
REQUEST_ID = re.compile(r'[A-Za-z0-9_.:-]{1,64}')

#: Diagnostic levels by their byte (diagnostic_msgs/DiagnosticStatus).
LEVEL_NAMES = {0: 'OK', 1: 'WARN', 2: 'ERROR', 3: 'STALE'}


def robot_id_from(candidate: str) -> str:
    """Turn a namespace or a host name into a robot id: other characters become '_'."""
    text = re.sub(r'[^A-Za-z0-9_.-]', '_', candidate.strip('/').replace('/', '.'))
    text = text.lstrip('.-')[:64]
    return text or 'robot'


def robot_id_problem(text: str) -> Optional[str]:
    """Say what is wrong with a robot id, or None when it is good."""
    if not ROBOT_ID.fullmatch(text):
        return (f'robot id {text!r} must be 1 to 64 of letters, digits, _, . and - (not first '
                '. or -): it is an MQTT topic level and a file name')
    return None


def topic(prefix: str, robot: str, kind: str) -> str:
    """Return the MQTT topic of a kind of message of a robot."""
    return f'{prefix}/{robot}/{kind}'


def new_id() -> str:
    """Return a fresh message id (random, 32 hex digits)."""
    return uuid.uuid4().hex


def envelope(kind: str, robot: str, seq: int, epoch: str, time_s: float, body: dict,
             message_id: Optional[str] = None) -> dict:
    """Wrap a body: schema, a unique id, the sequence number and its epoch, robot, time."""
    return {'schema': SCHEMA, 'id': message_id or new_id(), 'seq': seq, 'epoch': epoch,
            'robot': robot, 'kind': kind, 'time': round(time_s, 3), 'body': body}


def encode(message: dict) -> bytes:
    """Return compact JSON bytes; NaN and infinities become null (JSON has none)."""
    return json.dumps(_finite(message), separators=(',', ':'), allow_nan=False).encode()


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class PayloadError(ValueError):
    """A payload that is not a message of ours."""


def decode(payload: bytes) -> dict:
    """Parse a message; PayloadError says what is wrong with it."""
    try:
        message = json.loads(payload.decode('utf-8'))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f'not JSON: {exc}') from None
    if not isinstance(message, dict):
        raise PayloadError('not a JSON object')
    missing = [k for k in ENVELOPE_KEYS if k not in message]
    if missing:
        raise PayloadError(f'missing {", ".join(missing)}')
    if message['schema'] != SCHEMA:
        raise PayloadError(f'schema {message["schema"]!r}, not {SCHEMA}')
    if not isinstance(message['id'], str) or not message['id']:
        raise PayloadError('id must be a non-empty string')
    if not isinstance(message['body'], dict):
        raise PayloadError('body must be an object')
    return message


# --- requests ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """A snapshot asked for over MQTT."""

    request_id: str
    what: str


class RequestError(ValueError):
    """A request that is ignored; the message says why."""


def parse_request(payload: bytes) -> Request:
    """Parse {"schema": 1, "id": "...", "what": "map" | "camera"}; RequestError if malformed."""
    if len(payload) > MAX_REQUEST_BYTES:
        raise RequestError(f'{len(payload)} bytes, more than {MAX_REQUEST_BYTES}')
    try:
        data = json.loads(payload.decode('utf-8'))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RequestError('not JSON') from None
    if not isinstance(data, dict):
        raise RequestError('not a JSON object')
    if data.get('schema') != SCHEMA:
        raise RequestError(f'schema {data.get("schema")!r}, not {SCHEMA}')
    request_id = data.get('id')
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        raise RequestError('id must be 1 to 64 of letters, digits, _ . : -')
    what = data.get('what')
    if what not in REQUESTS:
        raise RequestError(f'what must be one of {", ".join(REQUESTS)}, not {what!r}'[:120])
    return Request(request_id, what)


# --- rate -------------------------------------------------------------------------------------

class TokenBucket:
    """
    Bytes per second with a burst allowance.

    A message bigger than the burst waits for a full bucket and then goes, leaving a debt, so
    nothing is too big to ever be sent.
    """

    def __init__(self, rate: float, burst: float, now: float):
        if rate <= 0 or burst <= 0:
            raise ValueError('rate and burst must be positive')
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now

    def _fill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)

    def take(self, size: float, now: float) -> bool:
        """Take size tokens if the bucket allows it now; say whether it did."""
        self._fill(now)
        if self.tokens >= min(size, self.burst):
            self.tokens -= size
            return True
        return False

    def wait(self, size: float, now: float) -> float:
        """Return the seconds until take(size) would succeed."""
        self._fill(now)
        need = min(size, self.burst) - self.tokens
        return max(0.0, need / self.rate)


# --- summaries --------------------------------------------------------------------------------

class DetectionTally:
    """Detections per class and a confidence histogram per class, over one summary period."""

    def __init__(self):
        self.frames = 0
        self.counts: Counter = Counter()
        self.histograms: Dict[str, List[int]] = {}

    def add(self, detections: Iterable[Tuple[str, float]]) -> None:
        """Count one message: each detection's best class and its score."""
        self.frames += 1
        for label, score in detections:
            self.counts[label] += 1
            bins = self.histograms.setdefault(label, [0] * SCORE_BINS)
            score = score if math.isfinite(score) else 0.0
            bins[min(SCORE_BINS - 1, max(0, int(score * SCORE_BINS)))] += 1

    def take(self) -> dict:
        """Return the period's figures and start a new period."""
        body = {'messages': self.frames, 'per_class': dict(self.counts),
                'score_histogram': dict(self.histograms)}
        self.__init__()
        return body


def best_hypotheses(detections: Iterable[Iterable[Tuple[str, float]]]
                    ) -> List[Tuple[str, float]]:
    """Return each detection's best (class, score) from its hypotheses; none: skipped."""
    out = []
    for hypotheses in detections:
        best = max(hypotheses, key=lambda h: h[1], default=None)
        if best is not None:
            out.append(best)
    return out


@dataclass
class SafetyChange:
    """A change of the safety state, as the gate reported it."""

    before: Optional[str]
    after: str
    reason: str
    source: str
    closest_m: Optional[float]
    transitions: Optional[int]
    across_restart: bool = False
    missed: Optional[int] = None

    def event_name(self) -> str:
        """Return the event's name: person latch, reset, stop, or a plain change."""
        if self.after == LATCHED:
            return 'person_latched'
        if self.before == LATCHED:
            return 'person_reset'
        if self.after in STOP_STATES:
            return 'safety_stop'
        return 'safety_state'

    def body(self) -> dict:
        """Return the event's body."""
        body = {'event': self.event_name(), 'from': self.before, 'to': self.after,
                'reason': self.reason, 'source': self.source, 'closest_m': self.closest_m}
        if self.across_restart:
            body['across_restart'] = True
            body['missed_transitions'] = self.missed
        return body


def _float(text) -> Optional[float]:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _int(text) -> Optional[int]:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


class SafetyTally:
    """Safety state time shares, transitions and the closest obstacle over a summary period."""

    def __init__(self, now: float, remembered: Optional[Dict[str, object]] = None):
        self.state: Optional[str] = None
        self.since = now
        self.window_start = now
        self.durations: Dict[str, float] = {}
        self.transitions = 0
        self.closest: Optional[float] = None
        #: The last state before a restart of the telemetry node: {'state', 'transitions'}.
        self.remembered = remembered

    def update(self, values: Dict[str, str], now: float) -> Optional[SafetyChange]:
        """Take a safety/state report; return the change it makes, if any."""
        state = values.get('state')
        if not state:
            return None
        closest = _float(values.get('closest_m'))
        if closest is not None:
            self.closest = closest if self.closest is None else min(self.closest, closest)
        self._account(now)
        before = self.state
        self.state = state
        transitions = _int(values.get('transitions'))
        change = None
        if before is None and self.remembered:
            # The first report after a restart: a change only if it differs from the last one
            # heard before, and the gate's own counter says how many went by unheard.
            old = self.remembered.get('state')
            if old and old != state:
                old_count = _int(self.remembered.get('transitions'))
                missed = transitions - old_count - 1 if (
                    transitions is not None and old_count is not None and
                    transitions >= old_count + 1) else None
                change = SafetyChange(old, state, values.get('reason', ''),
                                      values.get('source', ''), closest, transitions, True,
                                      missed)
        elif before is not None and before != state:
            change = SafetyChange(before, state, values.get('reason', ''),
                                  values.get('source', ''), closest, transitions)
        self.remembered = None
        if change is not None:
            self.transitions += 1
        return change

    def _account(self, now: float) -> None:
        key = self.state or 'unknown'
        self.durations[key] = self.durations.get(key, 0.0) + max(0.0, now - self.since)
        self.since = now

    def take(self, now: float) -> dict:
        """Return the period's figures and start a new period."""
        self._account(now)
        span = max(now - self.window_start, 1e-9)
        body = {'state': self.state,
                'shares': {k: round(v / span, 4) for k, v in sorted(self.durations.items())
                           if v > 0},
                'transitions': self.transitions, 'closest_m': self.closest}
        self.window_start = now
        self.durations = {}
        self.transitions = 0
        self.closest = None
        return body


def map_shares(data: np.ndarray) -> Dict[str, float]:
    """Return the occupied, free and unknown shares of an occupancy grid's cells (-1..100)."""
    cells = np.asarray(data).ravel()
    if cells.size == 0:
        return {'occupied': 0.0, 'free': 0.0, 'unknown': 1.0}
    occupied = np.count_nonzero(cells >= OCCUPIED_AT) / cells.size
    free = np.count_nonzero((cells >= 0) & (cells <= FREE_UP_TO)) / cells.size
    return {'occupied': round(occupied, 4), 'free': round(free, 4),
            'unknown': round(max(0.0, 1.0 - occupied - free), 4)}


# --- node health ------------------------------------------------------------------------------

class PaceClock:
    """
    A clock for silences, between wall time and ROS time.

    It advances by the lesser of wall and ROS time, or by wall time alone once ROS time has
    stood still for `stall` wall seconds. In a simulation slower than real time nodes report
    once a simulated second, so wall time alone would call them lost; with ROS time alone a dead
    simulator (its /clock stopped) would hide every loss. Without simulated time both advance
    alike.
    """

    def __init__(self, stall: float, wall: float, ros: float):
        self.stall = stall
        self.now = 0.0
        self._wall, self._ros = wall, ros
        self._still = 0.0

    def tick(self, wall: float, ros: float) -> float:
        """Advance to these readings of the two clocks; return the pace clock's time."""
        d_wall, d_ros = max(0.0, wall - self._wall), ros - self._ros
        self._still = self._still + d_wall if d_ros <= 0 else 0.0
        self.now += d_wall if self._still > self.stall else min(d_wall, max(0.0, d_ros))
        self._wall, self._ros = wall, max(ros, self._ros)
        return self.now


@dataclass
class NodeHealth:
    """What /diagnostics last said of one node."""

    level: int
    message: str
    seen: float
    lost: bool = False
    faults: Dict[str, str] = field(default_factory=dict)
    #: Known from before a restart of the telemetry node, not heard since.
    restored: bool = False


class HealthWatch:
    """
    Each node's health from /diagnostics, and events when that changes.

    A node is 'lost' once it has been silent for timeout seconds (it died, hangs, or its host
    went away) and 'back' when it reports again (a respawn); a safety source fault appears as
    '<source>_fault' among the gate's values and makes sensor_fault and sensor_ok events.

    remembered (a snapshot() saved before a restart of the telemetry node) carries on what was
    reported: a fault or a loss still there after the restart is not reported again, one that
    ended meanwhile is.
    """

    def __init__(self, timeout: float, remembered: Optional[Dict[str, dict]] = None,
                 now: float = 0.0):
        self.timeout = timeout
        self.nodes: Dict[str, NodeHealth] = {}
        for node, saved in (remembered or {}).items():
            try:
                self.nodes[str(node)] = NodeHealth(
                    int(saved['level']), '', now, bool(saved['lost']),
                    {str(k): str(v) for k, v in dict(saved['faults']).items()}, True)
            except (KeyError, TypeError, ValueError):
                continue  # a snapshot of another version: that node starts afresh

    def snapshot(self) -> Dict[str, dict]:
        """Return what must survive a restart: each node's level, faults and whether lost."""
        return {node: {'level': h.level, 'lost': h.lost, 'faults': dict(h.faults)}
                for node, h in self.nodes.items()}

    def update(self, statuses: Sequence[Tuple[str, int, str, Dict[str, str]]],
               now: float) -> List[dict]:
        """Take one DiagnosticArray's statuses (name, level, message, values); return events."""
        events = []
        worst: Dict[str, Tuple[int, str]] = {}
        faults: Dict[str, Dict[str, str]] = {}
        for name, level, message, values in statuses:
            node = name.split(':', 1)[0].strip() or name
            if node not in worst or level > worst[node][0]:
                worst[node] = (level, message)
            for key, value in values.items():
                if key.endswith('_fault'):
                    faults.setdefault(node, {})[key[:-len('_fault')]] = value
        for node, (level, message) in worst.items():
            known = self.nodes.get(node)
            if known is None:  # first heard: as if it had been OK before
                known = self.nodes[node] = NodeHealth(0, message, now)
            elif known.lost:
                # Lost before a restart of telemetry: how long it was silent is not known.
                events.append({'event': 'node_back', 'node': node, 'silent_s': None
                               if known.restored else round(now - known.seen, 1)})
                known.lost = False
            known.restored = False
            if level == 2 and known.level != 2:
                events.append({'event': 'node_error', 'node': node, 'message': message[:200]})
            elif known.level == 2 and level != 2:
                events.append({'event': 'node_recovered', 'node': node,
                               'level': LEVEL_NAMES.get(level, str(level))})
            known.level, known.message, known.seen = level, message, now
            for source, problem in faults.get(node, {}).items():
                before = known.faults.get(source, 'none')
                if problem != 'none' and before == 'none':
                    events.append({'event': 'sensor_fault', 'node': node, 'sensor': source,
                                   'problem': problem[:200]})
                elif problem == 'none' and before != 'none':
                    events.append({'event': 'sensor_ok', 'node': node, 'sensor': source})
                known.faults[source] = problem
        return events

    def check(self, now: float) -> List[dict]:
        """Return node_lost events for nodes silent longer than the timeout."""
        events = []
        for node, known in self.nodes.items():
            if not known.lost and now - known.seen > self.timeout:
                known.lost = True
                events.append({'event': 'node_lost', 'node': node,
                               'silent_s': round(now - known.seen, 1),
                               'last_message': known.message[:200]})
        return events

    def summary(self, now: float) -> Dict[str, dict]:
        """Return each node's level, message (short) and seconds since it last reported."""
        return {node: {'level': 'LOST' if h.lost else LEVEL_NAMES.get(h.level, str(h.level)),
                       'message': h.message[:80], 'age_s': round(now - h.seen, 1)}
                for node, h in sorted(self.nodes.items())}


# --- images -----------------------------------------------------------------------------------

def jpeg(image: np.ndarray, encoding: str, width: int, height: int, quality: int) -> bytes:
    """Encode a camera image (bgr8, rgb8 or mono8) as JPEG, scaled to fit width x height."""
    if encoding == 'rgb8':
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif encoding not in ('bgr8', 'mono8'):
        raise ValueError(f'cannot make a JPEG of a {encoding} image')
    h, w = image.shape[:2]
    if w == 0 or h == 0:
        raise ValueError('empty image')
    scale = min(width / w, height / h, 1.0)
    if scale < 1.0:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode('.jpg', np.ascontiguousarray(image),
                            [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError('JPEG encoding failed')
    return data.tobytes()


def map_png(cells: np.ndarray, width: int, height: int) -> bytes:
    """Draw an occupancy grid (row 0 at the origin, -1..100) as a grey PNG, north up."""
    grid = np.asarray(cells, np.int16).reshape(height, width)
    image = np.full(grid.shape, 128, np.uint8)                  # unknown: grey
    known = grid >= 0
    image[known] = (255 - np.clip(grid[known], 0, 100) * 255 // 100).astype(np.uint8)
    ok, data = cv2.imencode('.png', np.ascontiguousarray(image[::-1]),
                            [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise ValueError('PNG encoding failed')
    return data.tobytes()


def image_field(data: bytes, fmt: str, width: int, height: int, **extra) -> dict:
    """Return an image as a message field: format, size and base64 data."""
    return {'format': fmt, 'width': width, 'height': height, **extra,
            'data': base64.b64encode(data).decode('ascii')}
