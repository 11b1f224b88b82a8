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

"""Scenario families: each shipped one draws valid scenarios reproducibly; bad ones are refused."""

import os

import pytest
import yaml

from perception.config import config_path
from perception.sim.family import draw_scenario, FamilyError, list_families, load_family
from perception.sim.family import parse_family, write_scenario
from perception.sim.scenario import load_scenario

FAMILIES = list_families(config_path('families'))
FOOTPRINT = (0.7, 0.5)


def family_file(name):
    return os.path.join(config_path('families'), f'{name}.yaml')


def test_the_failure_classes_the_stack_must_not_have_are_shipped():
    assert set(FAMILIES) >= {'person_from_rack_gap', 'forklift_crossing_stop',
                             'low_object_in_lane', 'head_on_walker', 'dim_light',
                             'cross_aisle_turn'}


@pytest.mark.parametrize('name', FAMILIES)
def test_each_family_draws_valid_varied_scenarios_reproducibly(name, tmp_path):
    family = load_family(family_file(name))
    draws = [draw_scenario(family, seed, FOOTPRINT) for seed in range(30)]
    assert len({tuple(sorted(d.values.items())) for d in draws}) == 30  # all different
    again = draw_scenario(family, 7, FOOTPRINT)
    assert again.data == draws[7].data and again.values == draws[7].values
    assert draws[7].scenario.name == f'{family.name}-s7'
    # Written out, a draw is a scenario file like any other: the same scenario read back.
    path = tmp_path / 'draw.yaml'
    write_scenario(draws[7], str(path))
    loaded = load_scenario(str(path), FOOTPRINT)
    assert (loaded.obstacles, loaded.actors, loaded.route, loaded.duration_s) == (
        draws[7].scenario.obstacles, draws[7].scenario.actors, draws[7].scenario.route,
        draws[7].scenario.duration_s)


def test_another_family_name_draws_other_values():
    data = yaml.safe_load(open(family_file('head_on_walker')))
    a = draw_scenario(parse_family(data, 'a.yaml'), 3, FOOTPRINT)
    data['family'] = 'head_on_walker_copy'
    b = draw_scenario(parse_family(data, 'b.yaml'), 3, FOOTPRINT)
    assert a.values != b.values


def minimal(**variables):
    return {'family': 'tiny', 'variables': variables, 'scenario': {
        'duration_s': 5.0,
        'layout': {'floor_x': [-3.0, 10.0], 'floor_y': [-3.0, 3.0],
                   'boxes': [{'name': 'box', 'center': [{'var': 'box_x'}, 0.0],
                              'size': [0.5, 0.5, 0.3]}]},
        'robot': {'start': [0.0, 0.0, 0.0],
                  'route': {'speed': 1.0, 'waypoints': [[8.0, 0.0]]}}}}


def test_impossible_draws_are_drawn_again_and_counted():
    # The box overlaps the robot's start for box_x below 0.65: such draws are refused.
    family = parse_family(minimal(box_x={'uniform': [0.0, 2.0]}), 'tiny.yaml')
    draws = [draw_scenario(family, s, FOOTPRINT) for s in range(40)]
    assert all(d.scenario.obstacles[0].center[0] >= 0.6 for d in draws)
    refused = [d for d in draws if d.redraws]
    assert refused and all(len(d.refusals) == d.redraws for d in refused)
    assert all('robot.start is inside box box' in r for d in refused for r in d.refusals)


def test_a_family_with_no_valid_draw_is_refused():
    family = parse_family(dict(minimal(box_x={'uniform': [-0.2, 0.2]}), max_tries=20),
                          'tiny.yaml')
    with pytest.raises(FamilyError, match='no valid draw for seed 0 in 20 tries; the last was '
                       'refused: .*robot.start is inside box box'):
        draw_scenario(family, 0, FOOTPRINT)
    data = dict(minimal(box_x={'uniform': [2.0, 4.0]}), constraints=['box_x > 5'])
    with pytest.raises(FamilyError, match="constraint 'box_x > 5' does not hold"):
        draw_scenario(parse_family(data, 'tiny.yaml'), 0, FOOTPRINT)


@pytest.mark.parametrize('change,message', [
    (lambda d: d['variables'].update(box_x={'uniform': [3.0, 1.0]}),
     r'tiny.yaml: variables.box_x: uniform needs low <= high'),
    (lambda d: d['scenario']['robot']['route'].update(speed={'var': 'nope'}),
     "scenario.robot.route.speed: unknown variable 'nope'"),
    (lambda d: d.update(extra=1), 'unknown key extra'),
    (lambda d: d.pop('scenario'), 'missing field scenario'),
    (lambda d: d.update(constraints=['box_x >']), r'constraints\[0\]: cannot parse'),
])
def test_bad_families_are_refused_naming_the_key(change, message):
    data = minimal(box_x={'uniform': [2.0, 4.0]})
    change(data)
    with pytest.raises(FamilyError, match=message):
        parse_family(data, 'tiny.yaml')


def test_a_drawn_value_the_scenario_refuses_names_its_key():
    data = minimal(box_x={'uniform': [2.0, 4.0]})
    data['scenario']['robot']['route']['speed'] = {'uniform': [5.0, 6.0]}  # above 3 m/s
    with pytest.raises(FamilyError, match=r'robot.route.speed: must be within \[0.0, 3.0\]'):
        draw_scenario(parse_family(data, 'tiny.yaml'), 0, FOOTPRINT)
