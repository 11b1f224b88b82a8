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
The safety gate's decision: CLEAR, SLOW, STOP or STOP_LATCHED, and why.

ROS-free: the node feeds it obstacle points, odom, commands and detections with their stamps,
and asks for a decision on every sensor message and on a timer. Rules:
- A required source that never spoke, is older than its timeout, is stamped in the future
  beyond a tolerance, or sent a malformed message means STOP, naming the source.
- Obstacle points (at least min_points) in the stop field mean STOP; in the slow field, SLOW.
- People seen by the detector widen the field; their floor positions count as obstacles, and a
  person in the stop field may latch the stop until reset() (ISO 3691-4 forbids restarting by
  itself after a person stop), or hold it for person_hold_s.
- A more restrictive state applies at once; a less restrictive one only after the reason to be
  restrictive has been gone for release_hold_s, so flickering input cannot make it chatter.
"""

from dataclasses import dataclass, field
import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from perception.core.safety_field import FieldConfig, footprint_distance, inside
from perception.core.safety_field import protective_field

CLEAR, SLOW, STOP, STOP_LATCHED = 'CLEAR', 'SLOW', 'STOP', 'STOP_LATCHED'
RANK = {CLEAR: 0, SLOW: 1, STOP: 2, STOP_LATCHED: 3}


@dataclass(frozen=True)
class SourceConfig:
    """A stream the gate listens to."""

    name: str
    timeout: float
    required: bool


@dataclass(frozen=True)
class SafetyConfig:
    """Everything the decision depends on."""

    field: FieldConfig = FieldConfig()
    sources: Tuple[SourceConfig, ...] = ()
    future_tolerance: float = 0.05
    min_points: int = 3
    release_hold: float = 0.5
    slow_scale: float = 0.4
    command_timeout: float = 0.5
    person_margin: float = 0.5
    person_memory: float = 1.0
    person_latch: bool = True
    person_hold: float = 3.0


@dataclass
class Decision:
    """The gate's state now, and what led to it."""

    state: str
    reason: str
    source: str = ''
    closest: float = math.inf      # m from the footprint to the closest obstacle point
    data_age: float = 0.0          # s, age of the data that triggered the state
    scale: float = 1.0             # factor applied to the commanded velocity


@dataclass
class _Source:
    config: SourceConfig
    stamp: Optional[float] = None
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    fault: str = ''
    messages: int = 0


class SafetyMonitor:
    """Keeps the newest reading of each source and decides, with debouncing and latching."""

    def __init__(self, config: SafetyConfig):
        self.config = config
        self.sources: Dict[str, _Source] = {s.name: _Source(s) for s in config.sources}
        self.odom = (0.0, 0.0)
        self.command = (0.0, 0.0)
        self.command_time: Optional[float] = None
        self.person_points = np.zeros((0, 2))
        self.person_time: Optional[float] = None
        self.state = STOP  # nothing heard yet: stopped until every required source speaks
        self.decision = Decision(STOP, 'starting: no data yet')
        self._release_since: Optional[float] = None
        self._person_stop_time: Optional[float] = None
        self.transitions = 0

    # --- inputs ------------------------------------------------------------------------------

    def _source(self, name: str) -> _Source:
        if name not in self.sources:
            raise KeyError(f'unknown source {name!r}')
        return self.sources[name]

    def set_points(self, name: str, points: np.ndarray, stamp: float) -> None:
        """Take a good reading: obstacle points (N, 2) in the base frame, stamped."""
        source = self._source(name)
        source.points, source.stamp, source.fault = points, stamp, ''
        source.messages += 1

    def set_fault(self, name: str, problem: str, stamp: Optional[float] = None) -> None:
        """Take a malformed reading: the source is untrusted until a good one arrives."""
        source = self._source(name)
        source.fault = problem
        source.points = np.zeros((0, 2))
        if stamp is not None:
            source.stamp = stamp
        source.messages += 1

    def set_odom(self, linear: float, angular: float, stamp: float) -> None:
        """Take the base's measured velocity."""
        self.odom = (linear, angular)
        self.set_points('odom', np.zeros((0, 2)), stamp)

    def set_command(self, linear: float, angular: float, now: float) -> None:
        """Take the newest command from cmd_vel_in."""
        self.command = (linear, angular)
        self.command_time = now

    def set_people(self, points: np.ndarray, stamp: float) -> None:
        """Take the floor positions (N, 2) of people the detector sees (base frame)."""
        self.person_points = points
        self.person_time = stamp
        if 'detections' in self.sources:
            self.set_points('detections', np.zeros((0, 2)), stamp)

    # --- decisions ---------------------------------------------------------------------------

    def fresh_command(self, now: float) -> Tuple[float, float]:
        """Return the newest command if it is recent enough, else zero."""
        if self.command_time is None or now - self.command_time > self.config.command_timeout:
            return 0.0, 0.0
        return self.command

    def _source_problem(self, now: float) -> Optional[Decision]:
        for source in self.sources.values():
            if not source.config.required:
                continue
            name = source.config.name
            if source.fault:
                return Decision(STOP, f'{name}: {source.fault}', name)
            if source.stamp is None:
                return Decision(STOP, f'{name}: no message yet', name)
            age = now - source.stamp
            if age > source.config.timeout:
                return Decision(STOP, f'{name}: data {age:.2f} s old (timeout '
                                f'{source.config.timeout:g} s)', name, data_age=age)
            if -age > self.config.future_tolerance:
                return Decision(STOP, f'{name}: stamped {-age:.2f} s in the future', name,
                                data_age=age)
        return None

    def _usable(self, source: _Source, now: float) -> bool:
        if source.fault or source.stamp is None or not len(source.points):
            return False
        age = now - source.stamp
        return -self.config.future_tolerance <= age <= source.config.timeout

    def _speeds(self, now: float) -> Tuple[float, float]:
        """Speed and turn rate the field is sized for: measured, or commanded when larger."""
        cmd_v, cmd_w = self.fresh_command(now)
        odom_v, odom_w = self.odom
        v = cmd_v if abs(cmd_v) > abs(odom_v) else odom_v
        w = cmd_w if abs(cmd_w) > abs(odom_w) else odom_w
        return v, w

    def raw(self, now: float) -> Decision:
        """Return what the readings call for now, before holds and latches."""
        problem = self._source_problem(now)
        if problem is not None:
            return problem
        cfg = self.config
        people_recent = self.person_time is not None and \
            now - self.person_time <= cfg.person_memory
        extra = cfg.person_margin if people_recent else 0.0
        v, w = self._speeds(now)
        zones = protective_field(cfg.field, v, w, extra)
        best = Decision(CLEAR, 'field clear')
        candidates = [(s.config.name, s.points, now - s.stamp) for s in self.sources.values()
                      if s.config.name not in ('odom', 'detections') and self._usable(s, now)]
        if people_recent and len(self.person_points):
            candidates.append(('person', self.person_points, now - self.person_time))
        for name, points, age in candidates:
            in_stop = inside(zones.stop, points)
            in_slow = inside(zones.slow, points)
            closest = float(footprint_distance(cfg.field, points).min())
            best.closest = min(best.closest, closest)
            needed = 1 if name == 'person' else cfg.min_points
            if in_stop.sum() >= needed and RANK[best.state] < RANK[STOP]:
                what = 'a person' if name == 'person' else f'{int(in_stop.sum())} points'
                best = Decision(STOP, f'{what} in the stop field ({zones.length:.2f} m ahead at '
                                f'{abs(v):.2f} m/s)', name, best.closest, age)
            elif in_slow.sum() >= needed and best.state == CLEAR:
                best = Decision(SLOW, f'{"a person" if name == "person" else "obstacle"} in '
                                'the slow field', name, best.closest, age, cfg.slow_scale)
        return best

    def evaluate(self, now: float) -> Decision:
        """Decide now: apply holds and latches to the raw decision; update the state."""
        raw = self.raw(now)
        cfg = self.config
        current = self.state
        if raw.state == STOP and raw.source == 'person':
            self._person_stop_time = now
            target = STOP_LATCHED if cfg.person_latch else STOP
        else:
            target = raw.state
        if current == STOP_LATCHED:
            target = STOP_LATCHED  # only reset() leaves it
        elif self._person_stop_time is not None and not cfg.person_latch and \
                now - self._person_stop_time < cfg.person_hold:
            target = STOP if RANK[target] < RANK[STOP] else target
        if RANK[target] >= RANK[current]:
            new_state = target
            self._release_since = None
        else:
            # Less restrictive: only once the reason has been gone for release_hold.
            self._release_since = self._release_since if self._release_since is not None \
                else now
            new_state = target if now - self._release_since >= cfg.release_hold else current
        if new_state != current:
            self.transitions += 1
            if RANK[new_state] < RANK[current]:
                self._release_since = None
        self.state = new_state
        if new_state == raw.state or (new_state == STOP_LATCHED and raw.source == 'person'):
            decision = raw
        elif new_state == STOP_LATCHED:
            decision = Decision(STOP_LATCHED, 'stopped for a person: waiting for reset',
                                'person', raw.closest, raw.data_age)
        else:
            decision = Decision(new_state, f'holding {new_state} for {cfg.release_hold:g} s '
                                f'after: {self.decision.reason}', self.decision.source,
                                raw.closest, raw.data_age, self.decision.scale)
        decision.state = new_state
        if new_state in (STOP, STOP_LATCHED):
            decision.scale = 0.0
        elif new_state == SLOW:
            decision.scale = cfg.slow_scale
        self.decision = decision
        return decision

    def reset(self, now: float) -> Tuple[bool, str]:
        """Release a latched person stop, if nothing is in the stop field any more."""
        if self.state != STOP_LATCHED:
            return False, f'not latched (state {self.state})'
        raw = self.raw(now)
        if raw.state in (STOP, STOP_LATCHED):
            return False, f'cannot reset: {raw.reason}'
        self.state = STOP  # then released through the normal hold
        self._person_stop_time = None
        self._release_since = None
        self.transitions += 1
        self.decision = Decision(STOP, 'reset: releasing after the hold', raw.source,
                                 raw.closest, raw.data_age, 0.0)
        return True, 'reset accepted'


def gate(command: Sequence[float], decision: Decision) -> Tuple[float, float]:
    """Return the command the base gets: passed through, scaled, or zero."""
    return command[0] * decision.scale, command[1] * decision.scale
