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

"""Scenario files: every shipped one loads; bad ones name the key or the object."""

import os

import pytest
import yaml

from perception.core import geometry
from perception.sim.scenario import list_scenarios, load_scenario, parse_scenario
from perception.sim.scenario import position_on_path, ScenarioError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SCENARIOS = os.path.join(ROOT, 'config', 'scenarios')
REQUIRED = ('aisle_clear', 'person_crossing', 'pallet_blocking', 'forklift_crossing',
            'dim_aisle')

BASE = """
name: t
duration_s: 5
layout:
  floor_x: [0, 10]
  floor_y: [-3, 3]
  racks:
    - {name: r1, center: [5, 2], size: [4, 1, 2]}
robot:
  start: [1, 0, 0]
  route: {speed: 1.0, waypoints: [[8, 0]]}
actors:
  - {name: p1, type: person, path: [[5, 1], [5, -1]]}
"""


def parse(text):
    return parse_scenario(yaml.safe_load(text), 'test.yaml')


def test_the_required_scenarios_ship():
    assert set(REQUIRED) <= set(list_scenarios(SCENARIOS))


@pytest.mark.parametrize('name', list_scenarios(SCENARIOS))
def test_every_shipped_scenario_loads(name):
    scenario = load_scenario(os.path.join(SCENARIOS, f'{name}.yaml'))
    assert scenario.name == name and scenario.duration_s > 0 and scenario.route.waypoints


def test_dim_aisle_is_dim_and_has_people_and_pallets():
    scenario = load_scenario(os.path.join(SCENARIOS, 'dim_aisle.yaml'))
    kinds = set(scenario.objects().values())
    assert scenario.light_level <= 0.3 and {'person', 'pallet'} <= kinds


def test_base_parses():
    scenario = parse(BASE)
    assert scenario.objects() == {'r1': 'rack', 'p1': 'person'}
    assert scenario.actors[0].speed == 1.2  # a person's default walking speed


@pytest.mark.parametrize('edit,message', [
    (('duration_s: 5', 'duration_s: 5\ncolour: red'), 'unknown key colour in the scenario'),
    (('route: {speed', 'route: {sped: 1, speed'), 'unknown key sped in robot.route'),
    (('{name: r1,', '{name: r1, heigth: 3,'), r'unknown key heigth in layout.racks\[r1\]'),
    (('duration_s: 5\n', ''), 'missing field duration_s'),
    (('  start: [1, 0, 0]\n', ''), 'missing field robot.start'),
    (('size: [4, 1, 2]', 'size: [4, 1]'), 'size: expected 3 finite numbers'),
    (('type: person', 'type: robot'), 'must be person or forklift'),
    (('speed: 1.0', 'speed: fast'), 'speed: expected float'),
    (('speed: 1.0', 'speed: .nan'), 'speed: must be finite'),
    (('waypoints: [[8, 0]]', 'waypoints: [[8]]'), r'waypoints\[0\]: expected \[x, y\]'),
    (('floor_x: [0, 10]', 'floor_x: [10, 0]'), r'must be \[min, max\]'),
    (('duration_s: 5\n', 'duration_s: 5\nlighting: {schedule: [{at_s: 9, level: 2}]}\n'),
     r'lighting.schedule\[0\].at_s'),
    (('duration_s: 5\n', 'duration_s: 5\nlighting: {schedule: [{at_s: 1, level: 9}]}\n'),
     r'lighting.schedule\[0\].level'),
    (('duration_s: 5\n', 'duration_s: 5\nlighting: {schedule: [{at_s: 1}]}\n'),
     r'missing field lighting.schedule\[0\].level'),
    (('duration_s: 5\n', 'duration_s: 5\nlighting: {schedule: [{at_s: 3, level: 1}, '
      '{at_s: 2, level: 2}]}\n'), 'lighting.schedule must be in time order'),
])
def test_bad_files_name_the_key(edit, message):
    with pytest.raises(ScenarioError, match=message):
        parse(BASE.replace(*edit))


@pytest.mark.parametrize('edit,message', [
    (('  racks:\n', '  racks:\n    - {name: r2, center: [6, 2], size: [2, 1, 2]}\n'),
     'rack r2 overlaps rack r1|rack r1 overlaps rack r2'),
    (('start: [1, 0, 0]', 'start: [5, 2, 0]'), 'robot.start is inside rack r1'),
    (('start: [1, 0, 0]', 'start: [-1, 0, 0]'), 'robot.start lies outside the floor'),
    (('center: [5, 2]', 'center: [9.5, 2]'), 'rack r1 lies outside the floor'),
    (('[[5, 1], [5, -1]]', '[[5, 1], [5, -9]]'), r'actor p1 path\[1\] lies outside'),
    (('waypoints: [[8, 0]]', 'waypoints: [[8, 0], [30, 0]]'),
     r'waypoints\[1\] lies outside the floor'),
    (('{name: p1,', '{name: r1,'), "two objects are named 'r1'"),
])
def test_impossible_layouts_name_the_object(edit, message):
    with pytest.raises(ScenarioError, match=message):
        parse(BASE.replace(*edit))


def test_unreadable_files(tmp_path):
    with pytest.raises(ScenarioError, match='cannot read'):
        load_scenario(str(tmp_path / 'none.yaml'))
    bad = tmp_path / 'bad.yaml'
    bad.write_text('name: [')
    with pytest.raises(ScenarioError, match='not valid YAML'):
        load_scenario(str(bad))
    bad.write_text('- a list')
    with pytest.raises(ScenarioError, match='must be a mapping'):
        load_scenario(str(bad))


def test_position_on_path():
    path = ((0.0, 0.0), (4.0, 0.0), (4.0, 3.0))
    assert position_on_path(path, 2.0)[:2] == (2.0, 0.0)
    x, y, heading = position_on_path(path, 5.0)
    assert (x, y) == (4.0, 1.0) and heading == pytest.approx(1.5708, abs=1e-3)
    assert position_on_path(path, 100.0)[:2] == (4.0, 3.0)  # clamps at the end
    assert position_on_path(path, 12.0 + 2.0, loop=True)[:2] == pytest.approx((2.0, 0.0))


def test_geometry():
    a = geometry.rectangle((0, 0), 2, 2)
    b = geometry.rectangle((3, 0), 2, 2)
    assert not geometry.polygons_overlap(a, b)
    assert geometry.polygon_distance(a, b) == pytest.approx(1.0)
    c = geometry.rectangle((1.5, 0), 2, 2, 0.3)
    assert geometry.polygons_overlap(a, c) and geometry.polygon_distance(a, c) == 0.0
    circle = geometry.circle_polygon((0, 5), 1.0)
    assert geometry.polygon_distance(a, circle) == pytest.approx(3.0, abs=0.05)


def test_a_lighting_schedule_gives_the_level_at_each_time():
    scenario = parse(BASE.replace('duration_s: 5\n', 'duration_s: 5\nlighting: {level: 0.5, '
                                  'schedule: [{at_s: 1, level: 2}, {at_s: 3, level: 1}]}\n'))
    assert [scenario.light_level_at(t) for t in (0.0, 0.99, 1.0, 2.5, 3.0, 5.0)] == \
        [0.5, 0.5, 2.0, 2.0, 1.0, 1.0]
