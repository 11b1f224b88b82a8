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

"""The actor registry: each kind declared once, consistently, used by scenarios and the world."""

import math
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
import yaml

from perception.core import geometry
from perception.sim.actors import actor_type, ACTOR_TYPES, by_class, mjcf_bodies
from perception.sim.report import COLORS
from perception.sim.scenario import Actor, CLASSES, DETECTION_CLASSES, parse_scenario
from perception.sim.scenario import ScenarioError

TYPES = sorted(ACTOR_TYPES)

ROOM = """
name: room
duration_s: 10
layout:
  floor_x: [-2, 12]
  floor_y: [-4, 4]
robot:
  start: [0, 0, 0]
  route: {speed: 1.0, waypoints: [[8, 0]]}
actors:
"""


def scenario_with(actor_yaml):
    return parse_scenario(yaml.safe_load(ROOM + '  - ' + actor_yaml), 'test.yaml')


def test_the_shipped_kinds_are_registered():
    assert set(TYPES) == {'person', 'forklift'}


@pytest.mark.parametrize('name', TYPES)
def test_each_kind_declares_a_usable_class_colour_and_defaults(name):
    kind = ACTOR_TYPES[name]
    assert kind.name == name
    # Ground truth, the dataset and the detector know its class; the report colours it.
    assert kind.detection_class in CLASSES and kind.detection_class in DETECTION_CLASSES
    assert by_class(kind.detection_class) is kind  # one kind per class
    assert COLORS[kind.detection_class] == kind.plan_color
    assert all(0 <= c <= 255 for c in kind.plan_color) and kind.plan_legend
    assert 0 < kind.speed <= 6.0 and all(0 <= c <= 1 for c in kind.color)
    if kind.height_range:
        assert kind.height_range[0] <= kind.height <= kind.height_range[1]


@pytest.mark.parametrize('name', TYPES)
def test_a_scenario_takes_the_kinds_defaults(name):
    scenario = scenario_with(f'{{name: a, type: {name}, path: [[5, 1], [5, -1]]}}')
    actor, kind = scenario.actors[0], ACTOR_TYPES[name]
    assert (actor.speed, actor.color, actor.height) == (kind.speed, kind.color, kind.height)
    assert scenario.objects() == {'a': kind.detection_class}
    # An actor built in code gets the same defaults.
    assert Actor('a', name, ((5.0, 1.0),), kind.speed) == Actor(
        'a', name, ((5.0, 1.0),), kind.speed, color=kind.color, height=kind.height)


def test_unknown_kinds_are_refused_naming_the_known_ones():
    with pytest.raises(ScenarioError,
                       match=r'actors\[a\]\.type: must be person or forklift, got .robot.'):
        scenario_with('{name: a, type: robot, path: [[5, 1]]}')
    with pytest.raises(ValueError, match='unknown actor type .cart.; must be person or forklift'):
        Actor('a', 'cart', ((5.0, 1.0),), 1.0)
    with pytest.raises(ValueError, match='must be person or forklift'):
        actor_type(None)
    assert by_class('pallet') is None


def test_height_is_a_choice_only_where_the_kind_allows_it():
    assert scenario_with('{name: a, type: person, path: [[5, 1]], height: 1.9}'
                         ).actors[0].height == 1.9
    with pytest.raises(ScenarioError, match=r'height: must be within \[1.0, 2.2\]'):
        scenario_with('{name: a, type: person, path: [[5, 1]], height: 3.0}')
    with pytest.raises(ScenarioError, match=r'unknown key height in actors\[a\]'):
        scenario_with('{name: a, type: forklift, path: [[5, 1]], height: 1.9}')


def mocap_bodies(actor):
    """Parse an actor's MJCF: mocap body names and the names of their geoms."""
    root = ElementTree.fromstring('<worldbody>' + ''.join(mjcf_bodies(actor)) + '</worldbody>')
    bodies = root.findall('body')
    assert all(b.get('mocap') == 'true' for b in bodies)
    return {b.get('name'): [g.get('name') for g in b.iter('geom')] for b in bodies}


@pytest.mark.parametrize('name', TYPES)
def test_bodies_and_their_motion_agree(name):
    actor = Actor('mover', name, ((1.0, 2.0), (5.0, 2.0)), 1.0)
    bodies = mocap_bodies(actor)
    # Every geom belongs to the actor's object, so segmentation boxes it as one.
    assert all(g.startswith('obj:mover:') for geoms in bodies.values() for g in geoms)
    poses = actor_type(name).body_poses(actor, (3.0, -1.0, 0.5), 2.0, True)
    assert sorted(p[0] for p in poses) == sorted(bodies)  # each body is moved, none unknown
    for _body, position, quat in poses:
        assert len(position) == 3 and np.linalg.norm(quat) == pytest.approx(1.0)
    main = {p[0]: p for p in poses}['actor:mover']
    assert main[1] == (3.0, -1.0, 0.0)


def test_a_person_swings_limbs_only_when_walking():
    person = Actor('p', 'person', ((0.0, 0.0),), 1.2)
    kind = actor_type('person')

    def tilts(moving, travelled):
        # Pitch of each limb about its own y axis, from its quaternion (w, x, y, z) at yaw 0.
        return [2 * math.atan2(q[2], q[0]) for body, _p, q in
                kind.body_poses(person, (0.0, 0.0, 0.0), travelled, moving) if 'limb' in body]

    assert tilts(False, 0.35) == [0.0] * 4  # standing: limbs hang still
    walking = tilts(True, 0.35)  # a quarter stride: the widest swing
    assert [round(t, 3) for t in walking] == [0.45, -0.45, -0.45, 0.45]  # legs against arms


@pytest.mark.parametrize('name,heading', [(n, h) for n in TYPES for h in (0.0, 2.0)])
def test_the_footprint_holds_the_bodies_at_rest(name, heading):
    from perception.sim.world import World  # MuJoCo from here on
    scenario = scenario_with(f'{{name: a, type: {name}, path: [[5, 0]]}}')
    world = World(scenario)
    state = world.actors[0]
    state.pose = (5.0, 0.0, heading)
    world._place_actor(state)
    world.refresh()
    footprint = actor_type(name).footprint(state.pose)
    assert world.object_footprints()['a'] == footprint
    m, d = world.model, world.data
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    checked = 0
    for g in range(m.ngeom):
        if not m.geom(g).name.startswith('obj:a:'):
            continue
        center, half = m.geom_aabb[g, :3], m.geom_aabb[g, 3:]
        rotation = d.geom_xmat[g].reshape(3, 3)
        points = d.geom_xpos[g] + (center + corners * half) @ rotation.T
        for x, y, _z in points:
            assert geometry.polygon_distance([(x, y)], footprint) < 0.01, m.geom(g).name
        checked += 1
    assert checked == len(sum(mocap_bodies(scenario.actors[0]).values(), []))
    assert world.ground_truth()['objects']['a']['class'] == actor_type(name).detection_class
    world.close()
