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

ROS-free: the node feeds it readings, odometry, commands and detections with their stamps, and
asks for a decision on every sensor message and on a timer. Sources are objects of three kinds,
so a second lidar or a point cloud is one more source and no change here:

- `points`: a range sensor whose readings (perception.core.readings) give obstacle points, the
  floor they cover and the remembered obstacles they see through;
- `odometry`: the robot's pose (for the memory) and speed (for the field);
- `detections`: where people stand (they widen the field and count as obstacles).

Rules, in order:
1. A required source that never spoke, is older than its timeout, is stamped in the future
   beyond a tolerance, or sent a malformed message means STOP, naming the source.
2. Every part of the stop field must be covered by fresh valid data from a required points
   source; a sector no valid reading covers (a truncated scan, a lidar narrower than the field)
   means STOP, naming the sector.
3. Obstacles (at least min_points) in the stop field mean STOP; in the slow field, SLOW. The
   obstacles are the gate's memory (perception.core.obstacle_memory), in the odom frame: what a
   sensor saw stays until a sensor that can see that place and height sees it clear, so an
   object that drops out of view as the robot closes in still stops it.
4. People seen by the detector widen the fields (never shrink them) and count as obstacles. A
   stop for a person holds until the stop field has been clear of people for person_hold, or,
   where a site asks for it, latches until reset().
5. A more restrictive state applies at once; a less restrictive one only after the reason to be
   restrictive has been gone for release_hold, so flickering input cannot make it chatter.
"""

import bisect
from dataclasses import dataclass, field
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from perception.core.obstacle_memory import MemoryConfig, ObstacleMemory, Pose, to_base, to_odom
from perception.core.safety_field import Field, FieldConfig, footprint_distance, inside
from perception.core.safety_field import protective_field, zone_samples

CLEAR, SLOW, STOP, STOP_LATCHED = 'CLEAR', 'SLOW', 'STOP', 'STOP_LATCHED'
RANK = {CLEAR: 0, SLOW: 1, STOP: 2, STOP_LATCHED: 3}
POINTS, ODOMETRY, DETECTIONS = 'points', 'odometry', 'detections'
KINDS = (POINTS, ODOMETRY, DETECTIONS)
#: Fields kept for reuse (their keys are exact speeds: a handful while cruising or standing).
FIELD_CACHE = 64


class SafetyConfigError(ValueError):
    """A gate configuration that cannot keep the robot safe."""


@dataclass(frozen=True)
class SourceConfig:
    """A stream the gate listens to: its name, kind, timeout and whether it is required."""

    name: str
    kind: str
    timeout: float
    required: bool


@dataclass(frozen=True)
class SafetyConfig:
    """Everything the decision depends on."""

    field: FieldConfig = FieldConfig()
    sources: Tuple[SourceConfig, ...] = ()
    future_tolerance: float = 0.1
    min_points: int = 3
    release_hold: float = 0.5
    slow_scale: float = 0.4
    command_timeout: float = 0.5
    person_margin: float = 0.5
    person_memory: float = 1.0
    person_latch: bool = False
    person_hold: float = 3.0
    #: None decides on the newest readings only (allowed only without odometry).
    memory: Optional[MemoryConfig] = MemoryConfig()
    coverage_spacing: float = 0.1


@dataclass
class Decision:
    """The gate's state now, and what led to it."""

    state: str
    reason: str
    source: str = ''
    closest: float = math.inf      # m from the footprint to the closest obstacle point
    data_age: float = 0.0          # s, age of the data that triggered the state
    scale: float = 1.0             # factor applied to the commanded velocity
    person: bool = False           # a person in the stop field triggered it


@dataclass
class _Source:
    config: SourceConfig
    stamp: Optional[float] = None
    fault: str = ''
    reading: object = None         # the newest good reading of a points source
    pose: Optional[Pose] = None    # where the robot was when it was taken


@dataclass
class _People:
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # odom or base frame
    in_odom: bool = False
    stamp: Optional[float] = None  # when people were last seen
    source: str = ''


def check_config(config: SafetyConfig) -> None:
    """Raise SafetyConfigError for sources the gate cannot work with."""
    names = [s.name for s in config.sources]
    if len(set(names)) != len(names):
        raise SafetyConfigError(f'two sources share a name: {", ".join(names)}')
    for source in config.sources:
        if source.kind not in KINDS:
            raise SafetyConfigError(f'source {source.name}: kind {source.kind!r} is not one of '
                                    f'{", ".join(KINDS)}')
    if not any(s.kind == POINTS and s.required for s in config.sources):
        raise SafetyConfigError('no required range sensor (points source): the gate could '
                                'never see its stop field covered')
    odometry = [s for s in config.sources if s.kind == ODOMETRY]
    if len(odometry) > 1:
        raise SafetyConfigError('more than one odometry source')
    if config.memory is not None and not (odometry and odometry[0].required):
        raise SafetyConfigError('the obstacle memory keeps what the sensors saw in the odom '
                                'frame and needs a required odometry source')


class SafetyMonitor:
    """Keeps the sources' newest data and the obstacle memory; decides with holds and latches."""

    def __init__(self, config: SafetyConfig):
        check_config(config)
        self.config = config
        self.sources: Dict[str, _Source] = {s.name: _Source(s) for s in config.sources}
        self.names = list(self.sources)
        self._origin = {name: i for i, name in enumerate(self.names)}
        # Fields and their coverage samples by (speed, turn rate, widening): a robot cruising
        # or standing asks for the same ones decision after decision.
        self._fields: Dict[Tuple[float, float, float], Tuple[Field, np.ndarray]] = {}
        self.memory = ObstacleMemory(config.memory) if config.memory is not None else None
        self.velocity = (0.0, 0.0)
        self._poses: List[Tuple[float, Pose]] = []   # odometry history, oldest first
        self.command = (0.0, 0.0)
        self.command_time: Optional[float] = None
        self.people = _People()
        self.state = STOP  # nothing heard yet: stopped until every required source speaks
        self.decision = Decision(STOP, 'starting: no data yet')
        self._release_since: Optional[float] = None
        self._person_stop_time: Optional[float] = None
        self._cause: Optional[Decision] = None
        self.transitions = 0
        self.forgotten = 0

    # --- inputs ------------------------------------------------------------------------------

    def _source(self, name: str, kind: Optional[str] = None) -> _Source:
        source = self.sources.get(name)
        if source is None:
            raise KeyError(f'unknown source {name!r}')
        if kind is not None and source.config.kind != kind:
            raise KeyError(f'source {name!r} is of kind {source.config.kind}, not {kind}')
        return source

    def pose_at(self, stamp: float) -> Optional[Pose]:
        """Return the odometry pose at a time: interpolated, or the nearest one outside."""
        if not self._poses:
            return None
        times = [t for t, _ in self._poses]
        i = bisect.bisect_left(times, stamp)
        if i == 0:
            return self._poses[0][1]
        if i == len(times):
            return self._poses[-1][1]
        (t0, a), (t1, b) = self._poses[i - 1], self._poses[i]
        f = (stamp - t0) / (t1 - t0) if t1 > t0 else 1.0
        turn = math.atan2(math.sin(b[2] - a[2]), math.cos(b[2] - a[2]))
        return a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * turn

    @property
    def pose(self) -> Optional[Pose]:
        """The newest odometry pose."""
        return self._poses[-1][1] if self._poses else None

    def set_reading(self, name: str, reading, stamp: float) -> None:
        """Take a good reading of a points source (see perception.core.readings)."""
        source = self._source(name, POINTS)
        source.reading, source.stamp, source.fault = reading, stamp, ''
        source.pose = self.pose_at(stamp)
        if self.memory is not None and source.pose is not None:
            self.forgotten += self.memory.update(reading.points, source.pose, stamp,
                                                 reading.sees_free, self._origin[name])

    def set_fault(self, name: str, problem: str, stamp: Optional[float] = None) -> None:
        """Take a malformed message: the source is untrusted until a good one arrives."""
        source = self._source(name)
        source.fault = problem
        source.reading = None
        if stamp is not None:
            source.stamp = stamp

    def set_odom(self, name: str, pose: Pose, linear: float, angular: float,
                 stamp: float) -> None:
        """Take the base's pose (odom frame) and measured velocity."""
        source = self._source(name, ODOMETRY)
        source.stamp, source.fault = stamp, ''
        self.velocity = (linear, angular)
        if self._poses and stamp < self._poses[-1][0]:
            self._poses.clear()  # time went backwards (a restarted simulation): start over
        self._poses.append((stamp, tuple(pose)))
        while len(self._poses) > 2 and stamp - self._poses[1][0] > 2.0:
            self._poses.pop(0)

    def set_detections(self, name: str, people: np.ndarray, people_seen: bool,
                       stamp: float) -> None:
        """Take a frame's people: floor points (N, 2) in the base frame at stamp, if any."""
        source = self._source(name, DETECTIONS)
        source.stamp, source.fault = stamp, ''
        if not people_seen:
            return
        pose = self.pose_at(stamp)
        points = np.asarray(people, float).reshape(-1, 2)
        self.people = _People(to_odom(points, pose) if pose is not None else points,
                              pose is not None, stamp, name)

    def set_command(self, linear: float, angular: float, now: float) -> None:
        """Take the newest command from cmd_vel_in."""
        self.command = (linear, angular)
        self.command_time = now

    # --- decisions ---------------------------------------------------------------------------

    def fresh_command(self, now: float) -> Tuple[float, float]:
        """Return the newest command if it is recent enough, else zero."""
        if self.command_time is None or now - self.command_time > self.config.command_timeout:
            return 0.0, 0.0
        return self.command

    def _age_problem(self, source: _Source, now: float) -> str:
        if source.fault:
            return source.fault
        if source.stamp is None:
            return 'no message yet'
        age = now - source.stamp
        if age > source.config.timeout:
            return f'data {age:.2f} s old (timeout {source.config.timeout:g} s)'
        if -age > self.config.future_tolerance:
            return f'stamped {-age:.2f} s in the future'
        return ''

    def _source_problem(self, now: float) -> Optional[Decision]:
        for source in self.sources.values():
            if source.config.required:
                problem = self._age_problem(source, now)
                if problem:
                    age = now - source.stamp if source.stamp is not None else 0.0
                    return Decision(STOP, f'{source.config.name}: {problem}',
                                    source.config.name, data_age=age)
        return None

    def _speeds(self, now: float) -> Tuple[float, float]:
        """Speed and turn rate the field is sized for: measured, or commanded when larger."""
        cmd_v, cmd_w = self.fresh_command(now)
        odom_v, odom_w = self.velocity
        v = cmd_v if abs(cmd_v) > abs(odom_v) else odom_v
        w = cmd_w if abs(cmd_w) > abs(odom_w) else odom_w
        return v, w

    def _in_reading_frame(self, xy: np.ndarray, source: _Source) -> np.ndarray:
        """Base-frame points now, in the base frame of when the source's reading was taken."""
        now_pose = self.pose
        if now_pose is None or source.pose is None:
            return xy
        return to_base(to_odom(xy, now_pose), source.pose)

    def _field(self, v: float, w: float, widen: float) -> Tuple[Field, np.ndarray]:
        """Return the protective field at (v, w) widened by `widen`, and its stop samples."""
        key = (v, w, widen)
        found = self._fields.get(key)
        if found is None:
            if len(self._fields) >= FIELD_CACHE:
                self._fields.clear()
            zones = protective_field(self.config.field, v, w, widen)
            found = self._fields[key] = (zones, self._samples(zones.stop))
        return found

    def _samples(self, stop_zone: np.ndarray) -> np.ndarray:
        """Sample points of a stop zone (base frame) that coverage is checked at."""
        fp = self.config.field
        samples = zone_samples(stop_zone, self.config.coverage_spacing)
        body = (np.abs(samples[:, 0]) < fp.length / 2) & (np.abs(samples[:, 1]) < fp.width / 2)
        return samples[~body]  # nothing but the robot can be inside its own footprint

    def uncovered(self, samples: np.ndarray, now: float) -> np.ndarray:
        """Return the stop field's samples (base frame) that no fresh required reading covers."""
        covered = np.zeros(len(samples), bool)
        for source in self.sources.values():
            if source.config.kind != POINTS or not source.config.required or \
                    source.reading is None or self._age_problem(source, now):
                continue
            covered |= source.reading.covers(self._in_reading_frame(samples, source))
        return samples[~covered]

    def _obstacles(self, now: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return obstacle points now (base frame), weights, sources (into self.names), ages."""
        empty = np.zeros((0, 2)), np.zeros(0, int), np.zeros(0, int), np.zeros(0)
        if self.memory is not None:
            if self.pose is None or not len(self.memory):
                return empty
            xy, counts = self.memory.in_base(self.pose)
            return xy, counts, self.memory.origin, now - self.memory.stamp
        parts, weights, origins, ages = [], [], [], []
        for name, source in self.sources.items():
            if source.config.kind == POINTS and source.reading is not None and \
                    not self._age_problem(source, now) and len(source.reading.points):
                xy = source.reading.points[:, :2]
                if self.pose is not None and source.pose is not None:
                    xy = to_base(to_odom(xy, source.pose), self.pose)
                parts.append(xy)
                weights.append(np.ones(len(xy), int))
                origins.append(np.full(len(xy), self._origin[name]))
                ages.append(np.full(len(xy), now - source.stamp))
        if not parts:
            return empty
        return (np.vstack(parts), np.concatenate(weights), np.concatenate(origins),
                np.concatenate(ages))

    def _people_now(self, now: float) -> Optional[np.ndarray]:
        people = self.people
        if people.stamp is None or now - people.stamp > self.config.person_memory:
            return None
        if people.in_odom:
            return to_base(people.points, self.pose) if self.pose is not None else \
                np.zeros((0, 2))
        return people.points

    def raw(self, now: float) -> Decision:
        """Return what the data call for now, before holds and latches."""
        problem = self._source_problem(now)
        if problem is not None:
            return problem
        cfg = self.config
        people = self._people_now(now)
        v, w = self._speeds(now)
        zones, samples = self._field(v, w, cfg.person_margin if people is not None else 0.0)
        gaps = self.uncovered(samples, now)
        if len(gaps):
            return Decision(STOP, f'stop field not covered by any required sensor: '
                            f'{describe_sectors(gaps)}', 'coverage')
        best = Decision(CLEAR, 'field clear')
        xy, weights, origins, ages = self._obstacles(now)
        if len(xy):
            distance = footprint_distance(cfg.field, xy)
            best.closest = float(distance.min())
            in_stop, in_slow = inside(zones.stop, xy), inside(zones.slow, xy)
            for mask, state in ((in_stop, STOP), (in_slow, SLOW)):
                if weights[mask].sum() >= cfg.min_points:
                    nearest = int(np.flatnonzero(mask)[np.argmin(distance[mask])])
                    origin = self.names[int(origins[nearest])]
                    remembered = ages[nearest] > self.sources[origin].config.timeout
                    what = (f'{int(weights[mask].sum())} points' if state == STOP else
                            'obstacle') + (' (remembered, out of view now)' if remembered
                                           else '')
                    where = (f'the stop field ({zones.length:.2f} m ahead at {abs(v):.2f} m/s)'
                             if state == STOP else 'the slow field')
                    best = Decision(state, f'{what} in {where}', origin,
                                    best.closest, float(ages[nearest]),
                                    cfg.slow_scale if state == SLOW else 1.0)
                    break
        if people is not None and len(people):
            distance = footprint_distance(cfg.field, people)
            best.closest = min(best.closest, float(distance.min()))
            age = now - self.people.stamp
            if inside(zones.stop, people).any():
                return Decision(STOP, 'a person in the stop field', self.people.source,
                                best.closest, age, person=True)
            if best.state == CLEAR and inside(zones.slow, people).any():
                best = Decision(SLOW, 'a person in the slow field', self.people.source,
                                best.closest, age, cfg.slow_scale)
        return best

    def evaluate(self, now: float) -> Decision:
        """Decide now: apply holds and latches to the raw decision; update the state."""
        raw = self.raw(now)
        cfg = self.config
        current = self.state
        if raw.state == STOP and raw.person:
            self._person_stop_time = now
            target = STOP_LATCHED if cfg.person_latch else STOP
        else:
            target = raw.state
        person_hold = self._person_stop_time is not None and not cfg.person_latch and \
            now - self._person_stop_time < cfg.person_hold
        if current == STOP_LATCHED:
            target = STOP_LATCHED  # only reset() leaves it
        elif person_hold and RANK[target] < RANK[STOP]:
            target = STOP
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
        if new_state == raw.state or (new_state == STOP_LATCHED and raw.person):
            decision = raw
        elif new_state == STOP_LATCHED:
            decision = Decision(STOP_LATCHED, 'stopped for a person: waiting for reset',
                                self.people.source, raw.closest, raw.data_age, person=True)
        elif person_hold and new_state == STOP:
            left = cfg.person_hold - (now - self._person_stop_time)
            decision = Decision(STOP, f'person stop: resuming after the stop field has been '
                                f'clear of people for {cfg.person_hold:g} s ({left:.1f} s '
                                'left)', self.people.source, raw.closest, raw.data_age,
                                person=True)
        else:
            cause = self._cause if self._cause is not None else self.decision
            decision = Decision(new_state, f'holding {new_state} for {cfg.release_hold:g} s '
                                f'after: {cause.reason}', cause.source, raw.closest,
                                raw.data_age, cause.scale)
        decision.state = new_state
        if raw.state == new_state:
            self._cause = raw  # what a later hold of this state refers to
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


def describe_sectors(points: np.ndarray, gap_deg: float = 20.0) -> str:
    """Name the bearings (from base_link) of uncovered field points, grouped into sectors."""
    bearings = np.sort(np.degrees(np.arctan2(points[:, 1], points[:, 0])))
    if not len(bearings):
        return 'nothing'
    # Split where neighbours are far apart; join the ends across +-180 when they touch.
    cuts = np.flatnonzero(np.diff(bearings) > gap_deg)
    groups = np.split(bearings, cuts + 1)
    if len(groups) > 1 and bearings[0] + 360 - bearings[-1] <= gap_deg:
        groups[0] = np.concatenate([groups[-1] - 360, groups[0]])
        groups.pop()
    names = []
    for group in groups:
        start, end = group[0], group[-1]
        names.append(f'bearings {_wrap(start):.0f} to {_wrap(end):.0f} deg '
                     f'({_direction((start + end) / 2)})')
    return '; '.join(names)


def _wrap(degrees: float) -> float:
    return (degrees + 180.0) % 360.0 - 180.0


def _direction(degrees: float) -> str:
    d = _wrap(degrees)
    if abs(d) <= 45:
        return 'ahead'
    if abs(d) >= 135:
        return 'behind'
    return 'left' if d > 0 else 'right'


def gate(command: Sequence[float], decision: Decision) -> Tuple[float, float]:
    """Return the command the base gets: passed through, scaled, or zero."""
    return command[0] * decision.scale, command[1] * decision.scale
