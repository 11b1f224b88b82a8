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
The outcome of one simulated run, from its ground truth, and when two outcomes are the same.

outcome() turns a run's ground-truth records into what a campaign counts: collisions (with the
robot's speed), the closest approach per object class, stops (each one justified by something
near, at the route's goal, or false), the time from each intrusion to a stop, and the safety
gate's stops and latches for people.

Definitions (the numbers are module constants):

- A stop is the robot coming to rest after moving (perception.sim.report.stops). It is at the
  goal within GOAL_M of the route's last waypoint (routes that do not loop), justified when an
  object the robot must not touch (a person, forklift, pallet or box) is within JUSTIFIED_M of
  its footprint, and false otherwise.
- An intrusion is a person or forklift whose centre enters the lane ahead of the moving robot:
  within LANE_AHEAD_M of its front and LANE_SIDE_M beside its footprint. The time to stop runs
  from the first moment of it to the robot at rest; None when the robot never stopped while
  the intruder was near.
- same_outcome() says two runs had the same outcome: the same collisions (object and whether
  at all), the same false-stop, goal and latch verdicts, and clearances, stop times and
  collision speeds within TOLERANCES. A run on simulated time across processes is repeatable
  only up to when each node heard each message (perception.campaign's lockstep keeps that
  within a camera frame), so figures are compared at a tolerance and verdicts exactly.
"""

import math
from typing import Dict, List, Optional

from perception.sim.actors import by_class
from perception.sim.report import stops, WATCHED
from perception.sim.scenario import Scenario

GOAL_M = 0.6
JUSTIFIED_M = 3.0
LANE_AHEAD_M = 2.0
LANE_SIDE_M = 0.5
#: Below this clearance to a person or forklift, a run without a collision is a near miss.
NEAR_MISS_M = 0.3
#: At rest: slower than this (m/s).
REST_MPS = 0.05
#: Moving: faster than this (m/s).
MOVING_MPS = 0.1
#: How far figures of two runs of the same seed may differ and still be the same outcome.
TOLERANCES = {'clearance_m': 0.15, 'time_to_stop_s': 0.3, 'collision_speed_mps': 0.25}


def _robot_frame(robot: dict, x: float, y: float):
    dx, dy = x - robot['x'], y - robot['y']
    c, s = math.cos(robot['yaw']), math.sin(robot['yaw'])
    return c * dx + s * dy, -s * dx + c * dy


def intrusions(steps: List[dict], objects: Dict[str, str], length: float,
               width: float) -> List[dict]:
    """List each person's or forklift's first entry into the lane ahead, and the stop after."""
    out = []
    actors = [name for name, kind in objects.items() if by_class(kind)]
    for name in actors:
        start = None
        for i, record in enumerate(steps):
            robot, entry = record['robot'], record['objects'][name]
            ahead, side = _robot_frame(robot, entry['x'], entry['y'])
            if robot['v'] > MOVING_MPS and length / 2 < ahead <= length / 2 + LANE_AHEAD_M \
                    and abs(side) <= width / 2 + LANE_SIDE_M:
                start = i
                break
        if start is None:
            continue
        t0 = steps[start]['t']
        stopped = next((r['t'] for r in steps[start:] if abs(r['robot']['v']) < REST_MPS),
                       None)
        out.append({'name': name, 'class': objects[name], 't': round(t0, 3),
                    'time_to_stop_s': None if stopped is None else round(stopped - t0, 3)})
    return out


def _classify_stop(stop: dict, record: dict, watched: set, goal, loop: bool) -> dict:
    near = {name: record['objects'][name]['distance'] for name in watched
            if record['objects'][name]['distance'] <= JUSTIFIED_M}
    if goal is not None and not loop and math.hypot(stop['x'] - goal[0],
                                                    stop['y'] - goal[1]) <= GOAL_M:
        kind = 'goal'
    elif near:
        kind = 'justified'
    else:
        kind = 'false'
    nearest = min(near, key=near.get) if near else None
    return {'t': stop['t'], 'x': stop['x'], 'y': stop['y'], 'kind': kind, 'nearest': nearest,
            'nearest_class': record['objects'][nearest]['class'] if nearest else None}


def outcome(records: List[dict], scenario: Optional[Scenario] = None) -> dict:
    """Return the outcome of a run from its ground truth (and its scenario, for the goal)."""
    head = next(r for r in records if r['type'] == 'scenario')
    steps = [r for r in records if r['type'] == 'step']
    summary = next((r for r in records if r['type'] == 'summary'), None)
    collisions = [{'name': c['name'], 'class': c['class'], 't': c['t'], 'speed': c['speed']}
                  for c in records if c['type'] == 'collision']
    safety = [r for r in records if r['type'] == 'safety']
    objects = head['objects']
    watched = {name for name, kind in objects.items() if kind in WATCHED and '~' not in name}
    clearance: Dict[str, float] = {}
    for name in watched:
        closest = min((s['objects'][name]['distance'] for s in steps), default=None)
        if closest is not None:
            kind = objects[name]
            clearance[kind] = round(min(clearance.get(kind, math.inf), closest), 3)
    goal = scenario.route.waypoints[-1] if scenario is not None else None
    loop = scenario.route.loop if scenario is not None else False
    classified = []
    for stop in stops(steps, REST_MPS):
        record = min(steps, key=lambda s, t=stop['t']: abs(s['t'] - t))
        classified.append(_classify_stop(stop, record, watched, goal, loop))
    robot = head['robot']
    entered = intrusions(steps, objects, robot['length'], robot['width'])
    last = steps[-1] if steps else None
    reached = bool(goal is not None and last is not None and not loop and
                   math.hypot(last['robot']['x'] - goal[0], last['robot']['y'] - goal[1])
                   <= GOAL_M)
    people = [r for r in safety if r['state'] in ('STOP', 'STOP_LATCHED') and
              'person' in r['reason']]
    return {
        'complete': summary is not None,
        'sim_time_s': last['t'] if last else 0.0,
        'collision': bool(collisions),
        'collisions': collisions,
        'max_collision_speed_mps': max((c['speed'] for c in collisions), default=0.0),
        'min_clearance_m': dict(sorted(clearance.items())),
        'near_miss': not collisions and any(
            clearance.get(k, math.inf) < NEAR_MISS_M for k in ('person', 'forklift')),
        'stops': classified,
        'false_stops': sum(1 for s in classified if s['kind'] == 'false'),
        'reached_goal': reached,
        'intrusions': entered,
        'time_to_stop_s': [i['time_to_stop_s'] for i in entered],
        'person_stops': len(people),
        'person_latches': sum(1 for r in safety if r['state'] == 'STOP_LATCHED'),
        'realtime_factor': summary.get('realtime_factor') if summary else None,
        'lockstep_misses': summary.get('lockstep_misses', 0) if summary else None,
    }


def failed(result: dict) -> bool:
    """Tell whether an outcome is a failure of the stack: a collision, or a false stop."""
    return result['collision'] or result['false_stops'] > 0


def severity(result: dict) -> tuple:
    """Return a sort key that puts the worst outcomes first."""
    closest = min((result['min_clearance_m'].get(k, math.inf) for k in ('person', 'forklift')),
                  default=math.inf)
    unstopped = sum(1 for t in result['time_to_stop_s'] if t is None)
    return (not result['collision'], -result['max_collision_speed_mps'], -unstopped,
            closest, -result['false_stops'])


def verdict(result: dict) -> dict:
    """Return what same_outcome compares exactly."""
    return {'collided_with': sorted({c['name'] for c in result['collisions']}),
            'false_stop': result['false_stops'] > 0, 'reached_goal': result['reached_goal'],
            'latched': result['person_latches'] > 0,
            'stopped_for_intrusion': [t is not None for t in result['time_to_stop_s']]}


def same_outcome(a: dict, b: dict) -> List[str]:
    """Return how two outcomes differ beyond TOLERANCES; an empty list when they are the same."""
    out = []
    va, vb = verdict(a), verdict(b)
    for key in va:
        if va[key] != vb[key]:
            out.append(f'{key}: {va[key]} != {vb[key]}')
    for kind in sorted(set(a['min_clearance_m']) | set(b['min_clearance_m'])):
        ca, cb = a['min_clearance_m'].get(kind), b['min_clearance_m'].get(kind)
        if ca is None or cb is None or abs(ca - cb) > TOLERANCES['clearance_m']:
            out.append(f'min clearance to {kind}: {ca} != {cb}')
    for ta, tb in zip(a['time_to_stop_s'], b['time_to_stop_s']):
        if ta is not None and tb is not None and abs(ta - tb) > TOLERANCES['time_to_stop_s']:
            out.append(f'time to stop: {ta} != {tb}')
    if abs(a['max_collision_speed_mps'] - b['max_collision_speed_mps']) > \
            TOLERANCES['collision_speed_mps']:
        out.append(f'collision speed: {a["max_collision_speed_mps"]} != '
                   f'{b["max_collision_speed_mps"]}')
    return out
