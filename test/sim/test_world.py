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

"""The MuJoCo world: motion, collisions, sensors and ground truth."""

import math
import os

import numpy as np
import pytest
import yaml

from perception.core.route_follower import RouteFollower
from perception.sim import robot_model
from perception.sim.scenario import list_scenarios, load_scenario, parse_scenario
from perception.sim.world import World

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SCENARIOS = os.path.join(ROOT, 'config', 'scenarios')

ROOM = """
name: room
duration_s: 10
layout:
  floor_x: [-2, 12]
  floor_y: [-4, 4]
  walls:
    - {name: end_wall, from: [10, -3.5], to: [10, 3.5]}
robot:
  start: [0, 0, 0]
  route: {speed: 1.0, waypoints: [[8, 0]]}
"""


def world(text=ROOM, **kwargs):
    return World(parse_scenario(yaml.safe_load(text), 'test'), **kwargs)


def drive(w, route_of=None, until=None):
    scenario = w.scenario
    follower = RouteFollower(scenario.route.waypoints, scenario.route.speed,
                             scenario.route.goal_tolerance)
    while w.time < (until or scenario.duration_s):
        w.set_command(*follower.command(*w.pose()))
        w.step(0.05)
    return follower


@pytest.mark.parametrize('name', list_scenarios(SCENARIOS))
def test_every_scenario_runs(name):
    w = World(load_scenario(os.path.join(SCENARIOS, f'{name}.yaml')))
    drive(w)
    record = w.ground_truth()
    assert record['t'] == pytest.approx(w.scenario.duration_s, abs=0.06)
    assert set(record['objects']) == set(w.scenario.objects())
    w.close()


def test_clear_aisle_is_driven_to_its_end_without_contact():
    w = World(load_scenario(os.path.join(SCENARIOS, 'aisle_clear.yaml')))
    follower = drive(w)
    assert follower.done and not w.collisions
    assert w.pose()[0] == pytest.approx(20.0, abs=0.35)


def test_the_robot_follows_commands_within_its_limits():
    w = world(robot=robot_model.robot_spec(max_accel=1.0, max_decel=2.0))
    w.set_command(0.5, 0.0)
    w.step(0.1)
    assert w.body_velocity()[0] <= 0.1 * 1.0 + 0.02  # acceleration limit
    w.step(2.9)
    x, y, yaw = w.pose()
    assert w.body_velocity()[0] == pytest.approx(0.5, abs=0.02)
    assert x == pytest.approx(0.5 * 3.0 - 0.5 ** 2 / 2, abs=0.05) and abs(y) < 0.01
    w.set_command(0.0, 0.5)
    w.step(3.0)
    assert w.pose()[2] == pytest.approx(0.5 * 3.0 - 0.5 ** 2 / (2 * 3.0), abs=0.05)
    w.set_command(10.0, 0.0)  # beyond the base's limit: clamped
    w.step(3.0)
    assert w.body_velocity()[0] <= robot_model.robot_spec().max_speed + 0.01


def test_driving_into_a_rack_is_a_collision_not_a_pass_through():
    text = ROOM.replace('    - {name: end_wall', '    - {name: end_wall').replace(
        'robot:', '  racks:\n    - {name: rack_a, center: [4, 0], size: [2, 1, 2]}\nrobot:')
    w = world(text)
    w.set_command(1.0, 0.0)
    w.step(6.0)
    assert [c.name for c in w.collisions] == ['rack_a']
    assert w.collisions[0].kind == 'rack' and w.collisions[0].speed > 0.5
    # The front (x + 0.35) stopped at the rack's face (x = 3).
    assert w.pose()[0] + robot_model.robot_spec().length / 2 == pytest.approx(3.0, abs=0.05)
    assert w.ground_truth()['objects']['rack_a']['distance'] < 0.02


def test_depth_and_scan_measure_the_wall():
    w = world(camera=robot_model.camera(width=160, height=120, pitch_deg=0.0),
              lidar=robot_model.lidar(beams=360), scan_noise=0.0)
    frame = w.render(rgb=True, depth=True)
    # Camera at x = 0.3, wall face at x = 9.9: z-depth 9.6 m at the image centre.
    assert frame.depth[60, 80] == pytest.approx(9.6, abs=0.03)
    assert frame.rgb.shape == (120, 160, 3) and frame.rgb.dtype == np.uint8
    ranges = w.scan()
    angles = w.lidar.angles()
    ahead = int(np.argmin(np.abs(angles)))
    assert ranges[ahead] == pytest.approx(9.9 - 0.2, abs=0.01)  # lidar at x = 0.2
    assert np.isinf(ranges[int(np.argmin(np.abs(angles - math.pi / 2)))])  # nothing left


def test_colour_and_depth_in_one_pass_are_those_of_separate_passes():
    # render() reads colour and depth from one pass when it wants both: the same pixels and
    # metres as a colour pass and a depth pass (a scene with lamps, racks, a person, cartons).
    w = World(load_scenario(os.path.join(SCENARIOS, 'dim_aisle.yaml')),
              camera=robot_model.camera(width=160, height=120))
    w.step(3.0)
    both = w.render(rgb=True, depth=True)
    colour, depth = w.render(rgb=True, depth=False), w.render(rgb=False, depth=True)
    assert both.depth is not None and np.isfinite(both.depth).any()
    assert np.array_equal(both.rgb, colour.rgb)
    assert np.array_equal(np.isnan(both.depth), np.isnan(depth.depth))
    assert np.allclose(both.depth, depth.depth, atol=1e-5, equal_nan=True)


PERSON = ROOM + """actors:
  - {name: someone, type: person, path: [[5, 0]], height: 1.8}
"""


def projected_box(camera, x, y, z0, z1, half_width):
    fx, fy, cx, cy = camera.intrinsics()
    depth = x - camera.mount.x
    u = [cx - fx * (y + s * half_width) / depth for s in (1, -1)]
    v = [cy - fy * (z - camera.mount.z) / depth for z in (z1, z0)]
    return [u[0], v[0], u[1], v[1]]


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_ground_truth_boxes_match_the_objects_in_view():
    camera = robot_model.camera(width=320, height=240, pitch_deg=0.0)
    w = world(PERSON, camera=camera)
    boxes = {b['name']: b for b in w.render(rgb=False, depth=False, boxes=True).boxes}
    assert boxes['someone']['class'] == 'person'
    # A person 1.8 m tall, about 0.5 m wide with arms, standing 4.7 m ahead of the camera.
    expected = projected_box(camera, 5.0, 0.0, 0.0, 1.8 * 0.9 + 0.11, 0.3)
    assert iou(boxes['someone']['bbox'], expected) > 0.6, (boxes['someone'], expected)
    assert 'end_wall' in boxes


def test_ground_truth_boxes_respect_occlusion():
    blocked = PERSON.replace('  walls:', '  boxes:\n    - {name: crate, center: [3, 0], '
                             'size: [0.4, 1.5, 2.2]}\n  walls:')
    w = world(blocked, camera=robot_model.camera(width=320, height=240, pitch_deg=0.0))
    names = {b['name'] for b in w.render(rgb=False, depth=False, boxes=True).boxes}
    assert 'crate' in names and 'someone' not in names


def test_people_walk_their_path_when_triggered():
    text = ROOM + """actors:
  - {name: walker, type: person, path: [[6, 3], [6, -3]], speed: 1.0,
     start_when_robot_within: 4.0}
"""
    w = world(text)
    w.step(2.0)
    assert w.ground_truth()['objects']['walker']['y'] == pytest.approx(3.0)  # waiting
    w.set_command(1.0, 0.0)
    w.step(4.0)  # the robot passes x = 3.35, 4 m from the walker's start, after about 3.9 s
    w.set_command(0.0, 0.0)
    w.step(6.5)
    assert w.ground_truth()['objects']['walker']['y'] == pytest.approx(-3.0)  # walked across


def test_the_light_changes_when_the_schedule_says():
    lit = ROOM.replace('duration_s: 10\n', 'duration_s: 10\nlighting: {level: 1.0, schedule: '
                       '[{at_s: 1.0, level: 2.0}]}\n')
    w = world(lit)
    try:
        w.step(0.5)
        before = float(w.render(depth=False).rgb.mean())
        w.step(1.0)
        after = float(w.render(depth=False).rgb.mean())
    finally:
        w.close()
    assert after > 1.4 * before, (before, after)
