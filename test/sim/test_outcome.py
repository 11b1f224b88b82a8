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

"""The outcome of a run from its ground truth, and when two outcomes are the same."""

import copy
import math

import pytest

from perception.sim import outcome as o
from perception.sim.scenario import parse_scenario

SCENARIO = parse_scenario({
    'name': 'unit', 'duration_s': 10.0,
    'layout': {'floor_x': [-3.0, 20.0], 'floor_y': [-5.0, 5.0],
               'boxes': [{'name': 'carton', 'center': [12.0, 3.0], 'size': [0.4, 0.4, 0.3]}]},
    'robot': {'start': [0.0, 0.0, 0.0], 'route': {'speed': 1.0, 'waypoints': [[10.0, 0.0]]}},
    'actors': [{'name': 'worker', 'type': 'person', 'path': [[6.0, 3.0], [6.0, 0.0]]}],
}, 'unit.yaml', (0.7, 0.5))


def run(speeds, person=None, collisions=(), safety=()):
    """Ground truth of a robot driving along y = 0 at the given speeds, one step per 0.1 s."""
    records = [{'type': 'scenario', 'name': 'unit',
                'objects': {'worker': 'person', 'carton': 'box'},
                'robot': {'length': 0.7, 'width': 0.5}}]
    x = 0.0
    for i, v in enumerate(speeds):
        t = round(0.1 * i, 2)
        x += v * 0.1
        px, py = person(t) if person else (6.0, 3.0)
        records.append({'type': 'step', 't': t,
                        'robot': {'x': x, 'y': 0.0, 'yaw': 0.0, 'v': v, 'w': 0.0},
                        'objects': {'worker': {'class': 'person', 'distance': math.hypot(
                            max(0.0, abs(px - x) - 0.35), max(0.0, abs(py) - 0.25)),
                            'x': px, 'y': py},
                            'carton': {'class': 'box', 'distance': 2.5 + abs(12.0 - x)}}})
    records += [dict(type='collision', **c) for c in collisions]
    records += [dict(type='safety', **s) for s in safety]
    records.append({'type': 'summary', 'realtime_factor': 2.0, 'lockstep_misses': 0})
    return records


def test_a_stop_for_a_person_in_the_lane_is_justified_and_timed():
    speeds = [1.0] * 30 + [0.5, 0.2, 0.0] + [0.0] * 20  # brakes at t = 3.0 s
    result = o.outcome(run(speeds, person=lambda t: (5.0, 0.0 if t >= 1.0 else 3.0)),
                       SCENARIO)
    assert not result['collision'] and result['false_stops'] == 0
    assert [s['kind'] for s in result['stops']] == ['justified']
    assert result['stops'][0]['nearest'] == 'worker'
    # In the lane from t = 1.0, but within 2 m of the robot's front (x = 2.65 + 0.35) only
    # from t = 2.6; the robot is at rest from t = 3.2.
    assert result['intrusions'][0]['name'] == 'worker'
    assert result['intrusions'][0]['t'] == pytest.approx(2.6, abs=0.05)
    assert result['time_to_stop_s'] == [pytest.approx(0.6, abs=0.05)]
    assert result['min_clearance_m']['person'] == pytest.approx(5.0 - 3.1 - 0.35, abs=0.1)
    assert not result['reached_goal']


def test_a_stop_with_nothing_near_is_false_and_one_at_the_goal_is_not():
    speeds = [1.0] * 20 + [0.0] * 10 + [1.0] * 80 + [0.0] * 10  # stops at 2 m, then at 10 m
    result = o.outcome(run(speeds), SCENARIO)
    assert [s['kind'] for s in result['stops']] == ['false', 'goal']
    assert result['false_stops'] == 1 and result['reached_goal']
    assert o.failed(result)


def test_collisions_count_with_their_speed_and_put_the_run_first():
    hit = o.outcome(run([1.0] * 60, person=lambda t: (5.0, 0.0), collisions=[
        {'t': 4.3, 'name': 'worker', 'class': 'person', 'speed': 0.9}]), SCENARIO)
    clean = o.outcome(run([1.0] * 30 + [0.0] * 20, person=lambda t: (5.0, 0.0)), SCENARIO)
    assert hit['collision'] and hit['max_collision_speed_mps'] == 0.9
    assert hit['time_to_stop_s'] == [None]  # never stopped for the intruder
    assert sorted([clean, hit], key=o.severity)[0] is hit


def test_person_stops_and_latches_come_from_the_gate_state_on_record():
    result = o.outcome(run([1.0] * 10, safety=[
        {'t': 0.5, 'state': 'STOP', 'reason': 'a person in the stop field'},
        {'t': 0.8, 'state': 'STOP_LATCHED', 'reason': 'stopped for a person: waiting for reset'},
        {'t': 0.9, 'state': 'STOP', 'reason': 'scan: data 0.4 s old'}]), SCENARIO)
    assert result['person_stops'] == 2 and result['person_latches'] == 1


def test_the_same_outcome_is_the_same_verdicts_with_figures_within_tolerance():
    base = o.outcome(run([1.0] * 30 + [0.0] * 20, person=lambda t: (5.0, 0.0)), SCENARIO)
    near = copy.deepcopy(base)
    near['min_clearance_m']['person'] += 0.1
    assert o.same_outcome(base, near) == []
    far = copy.deepcopy(base)
    far['min_clearance_m']['person'] += 0.3
    assert o.same_outcome(base, far) == [
        f'min clearance to person: {base["min_clearance_m"]["person"]} != '
        f'{far["min_clearance_m"]["person"]}']
    hit = copy.deepcopy(base)
    hit['collisions'] = [{'name': 'worker', 'class': 'person', 't': 3.0, 'speed': 0.1}]
    assert any('collided_with' in d for d in o.same_outcome(base, hit))
