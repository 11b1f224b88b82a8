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
The Gazebo worlds and the robot model, checked offline: Gazebo itself cannot run here.

libsdformat's own check (`ign sdf -k`) and a strict reading against the specification it
describes; the world against the compiled MuJoCo world, object by object; the actors' scripts
against the actors MuJoCo moves; the robot model against the robot description and the
simulator's parameters.
"""

import math
import os
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
import yaml

from perception import cli, gazebo
from perception.core.robot import Camera, Lidar, load_robot, parse_robot
from perception.core.route_follower import RouteFollower
from perception.core.sensor_points import Mount
from perception.params import config_path, load_defaults
from perception.sim import sdf, sdf_check
from perception.sim.scenario import list_scenarios, load_scenario, parse_scenario
from perception.sim.scenario import ScenarioError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SCENARIOS = os.path.join(ROOT, 'config', 'scenarios')
NAMES = list_scenarios(SCENARIOS)
FLAVOURS = sorted(sdf.FLAVOURS)
PARAMS = load_defaults(os.path.join(ROOT, 'config', 'simulator.yaml'))
TOOL = sdf_check.sdf_tool()
needs_tool = pytest.mark.skipif(TOOL is None, reason='no SDF tool: tools/bootstrap.sh installs '
                                "Debian's ignition-tools and libsdformat-dev (`ign sdf`)")


def scenario(name):
    return load_scenario(os.path.join(SCENARIOS, f'{name}.yaml'))


def world(name, flavour='harmonic'):
    loaded = scenario(name)
    text, _notes = gazebo.world_text(loaded, flavour, PARAMS)
    return loaded, text


def robot_text(flavour='harmonic', robot=None):
    return sdf.robot_sdf(robot or load_robot(config_path('robot.yaml')), PARAMS, flavour)


@pytest.fixture(scope='module')
def spec():
    if TOOL is None:
        pytest.skip('no SDF tool to describe the specification')
    return sdf_check.load_spec(sdf_check.describe('1.9', TOOL))


# --- libsdformat's check and the strict reading ----------------------------------------------

@needs_tool
@pytest.mark.slow  # libsdformat takes seconds over a world of a few hundred shapes
@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('flavour', FLAVOURS)
def test_every_world_is_valid_sdf_and_holds_nothing_unknown(name, flavour, spec, tmp_path):
    _loaded, text = world(name, flavour)
    path = tmp_path / f'{name}.sdf'
    path.write_text(text)
    valid, output = sdf_check.check_file_with_tool(str(path), TOOL)
    assert valid, output
    assert sdf_check.strict_check(text, spec, flavour) == []


@needs_tool
@pytest.mark.parametrize('flavour', FLAVOURS)
def test_the_robot_model_is_valid_sdf_and_holds_nothing_unknown(flavour, spec, tmp_path):
    text = robot_text(flavour)
    path = tmp_path / 'robot.sdf'
    path.write_text(text)
    valid, output = sdf_check.check_file_with_tool(str(path), TOOL)
    assert valid, output
    assert sdf_check.strict_check(text, spec, flavour) == []


@needs_tool
def test_the_strict_reading_refuses_what_libsdformat_lets_pass(spec, tmp_path):
    good = robot_text('harmonic')
    mistakes = {
        'a misspelled element': (good.replace('<visualize>', '<visualise>').replace(
            '</visualize>', '</visualise>'), 'unknown element visualise in sensor'),
        'a misspelled geometry': (good.replace('<box>', '<boks>', 1).replace(
            '</box>', '</boks>', 1), 'unknown element boks in geometry'),
        'an unknown attribute': (good.replace('<link name=', '<link colour="red" name=', 1),
                                 'unknown attribute colour'),
        'a value beyond the bounds': (good.replace('<horizontal_fov>', '<horizontal_fov>9',
                                                   1), 'is outside'),
        "the other flavour's frame element": (good.replace('gz_frame_id', 'ignition_frame_id'),
                                              'unknown element ignition_frame_id in sensor'),
        "a parameter the plugin doesn't read": (good.replace('<wheel_radius>', '<wheel_radios>')
                                                .replace('</wheel_radius>', '</wheel_radios>'),
                                                'wheel_radios: not a parameter of this plugin'),
        'a plugin of the other flavour': (good.replace('gz::sim::systems::DiffDrive',
                                                       'ignition::gazebo::systems::DiffDrive'),
                                          'holds gz::sim::systems::DiffDrive'),
    }
    for what, (text, problem) in mistakes.items():
        assert text != good, what
        path = tmp_path / 'mistake.sdf'
        path.write_text(text)
        problems = sdf_check.strict_check(text, spec, 'harmonic')
        assert any(problem in p for p in problems), (what, problems)
        if what in ('a misspelled element', 'a misspelled geometry', 'an unknown attribute',
                    "the other flavour's frame element"):
            # The very mistakes this reading is for: libsdformat calls the file valid.
            assert sdf_check.check_file_with_tool(str(path), TOOL)[0], what
    # A document without every required attribute, and one that is no SDF.
    assert any('missing attribute name' in p for p in sdf_check.strict_check(
        good.replace('<model name="warehouse_amr">', '<model>'), spec, 'harmonic'))
    assert sdf_check.strict_check('<robot/>', spec, 'harmonic') == [
        'the root element is <robot>, not <sdf>']


# --- the world against the MuJoCo world ------------------------------------------------------

def _rotation(rpy):
    return Mount(roll=rpy[0], pitch=rpy[1], yaw=rpy[2]).rotation()


def _pose(element):
    values = [float(v) for v in (element.findtext('pose') or '0 0 0 0 0 0').split()]
    return np.array(values[:3]), _rotation(values[3:])


def _geometry(visual):
    geometry = visual.find('geometry')[0]
    if geometry.tag in ('box', 'plane'):
        size = [float(v) for v in geometry.findtext('size').split()]
    elif geometry.tag == 'sphere':
        size = [float(geometry.findtext('radius'))]
    else:
        size = [float(geometry.findtext('radius')), float(geometry.findtext('length'))]
    return geometry.tag, size


def gazebo_shapes(text):
    """Return {MuJoCo geom name: (shape, size, position, rotation, rgba, solid)} of a world."""
    root = ElementTree.fromstring(text).find('world')
    out = {}
    for model in root.findall('model'):
        name = model.get('name')
        origin, turn = _pose(model)
        for link in model.findall('link'):
            link_origin, link_turn = _pose(link)
            collisions = {c.get('name') for c in link.findall('collision')}
            for visual in link.findall('visual'):
                position, rotation = _pose(visual)
                key = name if name in ('floor', 'ceiling') else f'obj:{name}:{visual.get("name")}'
                shape, size = _geometry(visual)
                rgba = [float(v) for v in visual.find('material').findtext('diffuse').split()]
                out[key] = (shape, size, origin + turn @ (link_origin + link_turn @ position),
                            turn @ link_turn @ rotation, rgba,
                            f'{visual.get("name")}_collision' in collisions)
    for actor in root.findall('actor'):
        # Where the script has it at the start: its first waypoint (Gazebo holds it there
        # until its delay is over).
        first = actor.find('script/trajectory/waypoint')
        origin, turn = _pose(first)
        for link in actor.findall('link'):
            link_origin, link_turn = _pose(link)
            for visual in link.findall('visual'):
                position, rotation = _pose(visual)
                shape, size = _geometry(visual)
                rgba = [float(v) for v in visual.find('material').findtext('diffuse').split()]
                out[f'obj:{actor.get("name")}:{visual.get("name")}'] = (
                    shape, size, origin + turn @ (link_origin + link_turn @ position),
                    turn @ link_turn @ rotation, rgba, False)
    return out


MUJOCO_TYPES = {0: 'plane', 2: 'sphere', 3: 'capsule', 5: 'cylinder', 6: 'box'}


def mujoco_shapes(w):
    """Return the same for the compiled MuJoCo world, robot left out, sizes as SDF gives them."""
    m, d = w.model, w.data
    out = {}
    for g in range(m.ngeom):
        name = m.geom(g).name
        if name.startswith('robot:'):
            continue
        shape = MUJOCO_TYPES[int(m.geom_type[g])]
        half = m.geom_size[g]
        size = {'box': lambda: list(2 * half), 'sphere': lambda: [half[0]],
                'plane': lambda: list(2 * half[:2]),
                'capsule': lambda: [half[0], 2 * half[1]],
                'cylinder': lambda: [half[0], 2 * half[1]]}[shape]()
        out[name] = (shape, size, d.geom_xpos[g].copy(), d.geom_xmat[g].reshape(3, 3).copy(),
                     list(m.geom_rgba[g]), bool(m.geom_contype[g]))
    return out


@pytest.mark.sim
@pytest.mark.parametrize('name', NAMES)
def test_the_world_holds_the_mujoco_worlds_objects_at_the_same_poses_and_sizes(name):
    from perception.sim.world import World  # MuJoCo from here on
    loaded, text = world(name)
    w = World(loaded)
    try:
        ours, theirs = gazebo_shapes(text), mujoco_shapes(w)
    finally:
        w.close()
    actors = {a.name for a in loaded.actors}
    assert sorted(ours) == sorted(theirs)
    assert len(ours) > 20  # floor, ceiling, racks with shelves and cartons, or the like
    for key, (shape, size, position, rotation, rgba, solid) in ours.items():
        m_shape, m_size, m_position, m_rotation, m_rgba, m_solid = theirs[key]
        assert shape == m_shape, key
        assert size == pytest.approx(m_size, abs=2e-4), key
        assert position == pytest.approx(m_position, abs=2e-4), key
        assert rotation == pytest.approx(m_rotation, abs=1e-5), key
        if key != 'floor':  # MuJoCo's floor is a checker texture, Gazebo's its mean colour
            assert rgba == pytest.approx(m_rgba, abs=1e-3), key
        # What the robot collides with in MuJoCo collides in Gazebo; Gazebo's floor carries
        # the wheels, where MuJoCo's robot slides on joints. Gazebo's physics leaves actors out
        # (they are drawn and seen by the sensors, never touched), so their shapes have none.
        if key.startswith('obj:') and key.split(':')[1] in actors:
            assert m_solid and not solid, key
        else:
            assert solid == (m_solid or key == 'floor'), key


@pytest.mark.sim
@pytest.mark.parametrize('name', ['dim_aisle', 'aisle_clear'])
def test_the_lamps_are_the_mujoco_worlds(name):
    from perception.sim.world import World
    loaded, text = world(name)
    w = World(loaded)
    lights = ElementTree.fromstring(text).find('world').findall('light')
    spots = [light for light in lights if light.get('type') == 'spot']
    assert len(spots) == w.model.nlight
    m = w.model
    for spot, position, direction, diffuse, cutoff in zip(
            spots, m.light_pos, m.light_dir, m.light_diffuse, m.light_cutoff):
        assert _pose(spot)[0] == pytest.approx(position, abs=0.01)
        assert [float(v) for v in spot.findtext('direction').split()] == pytest.approx(direction)
        # MuJoCo's cutoff (degrees) is measured from the axis; Gazebo's angle spans the cone.
        assert float(spot.findtext('spot/outer_angle')) == \
            pytest.approx(2 * math.radians(cutoff), abs=1e-5)
        assert [float(v) for v in spot.findtext('diffuse').split()][:3] == \
            pytest.approx(diffuse, abs=1e-3)
    ambient = ElementTree.fromstring(text).find('world/scene').findtext('ambient').split()
    assert [float(v) for v in ambient[:3]] == pytest.approx(w.model.vis.headlight.ambient,
                                                            abs=1e-3)
    w.close()


# --- the actors --------------------------------------------------------------------------------

def script_pose(actor_element, t):
    """Return where a scripted actor is at time t, interpolating its waypoints linearly."""
    script = actor_element.find('script')
    delay = float(script.findtext('delay_start'))
    loop = script.findtext('loop') == 'true'
    points = [(float(w.findtext('time')), [float(v) for v in w.findtext('pose').split()])
              for w in script.findall('trajectory/waypoint')]
    times = np.array([p[0] for p in points])
    local = max(0.0, t - delay)
    if loop:
        local %= times[-1]
    local = min(local, times[-1])
    k = int(np.searchsorted(times, local, side='right')) - 1
    k = min(k, len(points) - 2)
    (t0, a), (t1, b) = points[k], points[k + 1]
    share = 0.0 if t1 == t0 else (local - t0) / (t1 - t0)
    return a[0] + share * (b[0] - a[0]), a[1] + share * (b[1] - a[1]), b[5]


def run_mujoco(loaded, until):
    """Drive the route as the route driver does; yield the time and the actors' poses."""
    from perception.sim.world import World
    w = World(loaded)
    route = loaded.route
    follower = RouteFollower(route.waypoints, route.speed, route.goal_tolerance, route.loop)
    try:
        while w.time < until:
            w.set_command(*follower.command(*w.pose()))
            w.step(0.1)
            yield w.time, {s.actor.name: s.pose for s in w.actors}
    finally:
        w.close()


@pytest.mark.sim
@pytest.mark.parametrize('name', [n for n in NAMES if scenario(n).actors])
def test_the_actors_follow_their_paths_at_their_speeds_as_in_mujoco(name):
    loaded, text = world(name)
    actors = {a.get('name'): a for a in ElementTree.fromstring(text).iter('actor')}
    assert sorted(actors) == sorted(a.name for a in loaded.actors)
    worst = {}
    for t, poses in run_mujoco(loaded, loaded.duration_s):
        for actor, (x, y, _heading) in poses.items():
            gx, gy, _ = script_pose(actors[actor], t)
            worst[actor] = max(worst.get(actor, 0.0), math.hypot(gx - x, gy - y))
    # Where an actor waits for the robot, Gazebo starts it when the robot, driving its route
    # undisturbed, would come near: on the shipped straight routes within a few centimetres of
    # MuJoCo's start, and a route driver that turns or brakes first would shift it further.
    # Elsewhere the scripts are MuJoCo's motion to within centimetres.
    for actor in loaded.actors:
        limit = 0.15 if actor.start_when_robot_within > 0 else 0.05
        assert worst[actor.name] < limit, (actor.name, worst[actor.name])


def test_a_start_when_near_becomes_a_delay_and_is_noted():
    text = """
name: t
duration_s: 20
layout: {floor_x: [-2, 22], floor_y: [-5, 5]}
robot:
  start: [0, 0, 0]
  route: {speed: 1.0, waypoints: [[20, 0]]}
actors:
  - {name: near, type: person, path: [[10, 3], [10, -3]], start_when_robot_within: 5.0}
  - {name: late, type: person, path: [[10, 3], [10, -3]], start_when_robot_within: 5.0,
     start_delay_s: 12.0}
  - {name: far, type: forklift, path: [[20, 4.5], [0, 4.5]], start_when_robot_within: 0.5}
  - {name: now, type: person, path: [[5, 4], [5, 3]], start_delay_s: 2.0}
"""
    loaded = parse_scenario(yaml.safe_load(text), 't.yaml')
    start = {a.name: sdf.actor_start_time(loaded, a, 1.5, 1.0) for a in loaded.actors}
    # A second to reach 1 m/s (0.5 m), then 1 m/s: 5 m from (10, 3) at x = 10 - 4 = 6.
    assert start['near'] == pytest.approx(1.0 + (6.0 - 0.5) / 1.0, abs=0.02)
    assert start['late'] == pytest.approx(12.0)  # near since 6.5 s: the delay decides
    assert start['far'] is None  # the robot never comes within 0.5 m of (20, 4.5)
    assert start['now'] == 2.0
    text, notes = sdf.world_sdf(loaded)
    assert any('actor near' in n and 'starts at 6.50 s' in n for n in notes)
    assert any('actor far' in n and 'never comes within 0.5 m' in n for n in notes)
    actors = {a.get('name'): a for a in ElementTree.fromstring(text).iter('actor')}
    assert float(actors['near'].findtext('script/delay_start')) == pytest.approx(6.5, abs=0.02)
    # An actor that never starts stays at its first point, facing along its path.
    assert script_pose(actors['far'], 1e6) == pytest.approx((20.0, 4.5, math.pi))


def test_the_robot_drives_its_route_from_rest_and_loops_back_to_the_first_waypoint():
    text = """
name: t
duration_s: 60
layout: {floor_x: [-5, 5], floor_y: [-5, 5]}
robot:
  start: [-2, 0, 0]
  route: {speed: 1.0, loop: true, waypoints: [[0, 0], [2, 0], [2, 2]]}
"""
    loaded = parse_scenario(yaml.safe_load(text), 't.yaml')
    at = dict(zip((0.0, 1.0, 2.5, 4.5, 9.33, 11.33),
                  sdf.route_position(loaded, np.array([0.0, 1.0, 2.5, 4.5, 9.33, 11.33]),
                                     max_speed=1.5, accel=1.0)))
    assert at[0.0] == pytest.approx((-2.0, 0.0))
    assert at[1.0] == pytest.approx((-1.5, 0.0))  # half a metre while speeding up
    assert at[2.5] == pytest.approx((0.0, 0.0))   # at the first waypoint
    assert at[4.5] == pytest.approx((2.0, 0.0))
    # 2 + 2 + 2.83 m around the loop from the first waypoint, then on along it again.
    assert at[9.33] == pytest.approx((0.0, 0.0), abs=0.01)
    assert at[11.33] == pytest.approx((2.0, 0.0), abs=0.01)


def test_scripts_turn_at_corners_and_loop():
    from perception.sim.scenario import Actor
    square = Actor('a', 'person', ((0.0, 0.0), (2.0, 0.0), (2.0, 2.0)), 1.0, loop=True)
    waypoints = sdf.actor_waypoints(square)
    times = [t for t, _ in waypoints]
    assert times == sorted(times) and len(set(times)) == len(times)
    # 2 + 2 + 2.83 m at 1 m/s, and a turn of TURN_TIME at each of the two corners.
    assert times[-1] == pytest.approx(2 + 2 + math.sqrt(8) + 2 * sdf.TURN_TIME, abs=1e-3)
    assert waypoints[-1][1][:2] == pytest.approx((0.0, 0.0))  # closed back to the start
    gaps = [math.hypot(b[1][0] - a[1][0], b[1][1] - a[1][1])
            for a, b in zip(waypoints, waypoints[1:])]
    assert max(gaps) <= sdf.WAYPOINT_SPACING + 1e-9
    headings = sorted({round(p[2], 4) for _, p in waypoints})
    assert headings == [round(h, 4) for h in sorted((0.0, math.pi / 2, -3 * math.pi / 4))]


# --- the robot model --------------------------------------------------------------------------

def sensors(text):
    return {s.get('name'): s for s in ElementTree.fromstring(text).iter('sensor')}


def plugin(text, system):
    return next(p for p in ElementTree.fromstring(text).iter('plugin')
                if p.get('name').endswith('::' + system))


@pytest.mark.parametrize('flavour', FLAVOURS)
def test_the_sensors_are_the_robot_descriptions_on_our_topics(flavour):
    robot = load_robot(config_path('robot.yaml'))
    lidar = robot.sensor(PARAMS['lidar'], Lidar)
    camera = robot.sensor(PARAMS['camera'], Camera)
    found = sensors(robot_text(flavour))
    frame = sdf.FLAVOURS[flavour].frame_element
    assert set(found) == {'lidar', 'camera', 'depth_camera'}
    scan = found['lidar']
    assert (scan.get('type'), scan.findtext('topic'), scan.findtext(frame)) == \
        ('gpu_lidar', 'scan', lidar.frame_id)
    horizontal = scan.find('lidar/scan/horizontal')
    assert int(horizontal.findtext('samples')) == lidar.beams
    # Gazebo spreads samples from min to max angle: the same beams as the simulator's.
    first, last = float(horizontal.findtext('min_angle')), float(horizontal.findtext('max_angle'))
    gz_angles = np.linspace(first, last, lidar.beams)
    assert gz_angles == pytest.approx(lidar.angles(), abs=1e-5)
    assert float(scan.findtext('lidar/range/min')) == lidar.range_min
    assert float(scan.findtext('lidar/range/max')) == lidar.range_max
    assert float(scan.findtext('lidar/noise/stddev')) == PARAMS['scan_noise_std']
    assert float(scan.findtext('update_rate')) == PARAMS['scan_rate_hz']
    fx, fy, cx, cy = camera.intrinsics()
    for name, topic, image_format in (('camera', 'camera/image_raw', 'R8G8B8'),
                                      ('depth_camera', 'camera/depth/image_raw', 'R_FLOAT32')):
        sensor = found[name]
        assert (sensor.findtext('topic'), sensor.findtext(frame)) == (topic, camera.frame_id)
        assert float(sensor.findtext('update_rate')) == PARAMS['camera_rate_hz']
        image = sensor.find('camera/image')
        assert (int(image.findtext('width')), int(image.findtext('height')),
                image.findtext('format')) == (camera.width, camera.height, image_format)
        lens = sensor.find('camera/lens/intrinsics')
        assert [float(lens.findtext(k)) for k in ('fx', 'fy', 'cx', 'cy')] == \
            pytest.approx([fx, fy, cx, cy], abs=1e-4)
        # The field of view Gazebo renders with is the one these intrinsics give.
        hfov = float(sensor.findtext('camera/horizontal_fov'))
        assert camera.width / 2 / math.tan(hfov / 2) == pytest.approx(fx, abs=1e-3)
        assert 2 * math.degrees(math.atan(camera.height / 2 / fy)) == \
            pytest.approx(camera.fovy_deg)
    assert float(found['depth_camera'].findtext('camera/clip/far')) == camera.depth_range_max
    # Each sensor sits where the description mounts it (REP 103: x ahead, y left, z up; pitch
    # down is positive, as Gazebo's sensor looks along its x).
    for name, sensor in (('lidar', lidar), ('camera', camera), ('depth_camera', camera)):
        m = sensor.mount
        assert [float(v) for v in found[name].findtext('pose').split()] == pytest.approx(
            [m.x, m.y, m.z, m.roll, m.pitch, m.yaw], abs=1e-6)


def test_a_mount_off_the_centre_line_is_kept():
    data = yaml.safe_load(open(config_path('robot.yaml')))
    data['sensors']['camera'].update(y=0.1, yaw_deg=30.0, roll_deg=2.0)
    robot = parse_robot(data, 'turned.yaml')
    pose = [float(v) for v in sensors(robot_text('harmonic', robot))['camera']
            .findtext('pose').split()]
    assert pose[1:] == pytest.approx([0.1, 1.0, math.radians(2.0), math.radians(10.0),
                                      math.radians(30.0)], abs=1e-6)


@pytest.mark.sim
@pytest.mark.parametrize('flavour', FLAVOURS)
def test_the_body_and_drive_are_the_simulators(flavour):
    from perception.sim import robot_model
    from perception.sim.world import World
    text = robot_text(flavour)
    model = ElementTree.fromstring(text).find('model')
    robot = load_robot(config_path('robot.yaml'))
    assert model.get('name') == robot.name
    base = model.find('link')
    assert base.get('name') == robot.base_frame  # REP 105: odom -> base_link
    # The chassis is MuJoCo's chassis, at the same height above the floor.
    w = World(scenario('aisle_clear'))
    chassis = w.model.geom('robot:chassis')
    chassis_z = w.data.geom_xpos[chassis.id][2]
    w.close()
    visual = next(v for v in base.findall('visual') if v.get('name') == 'chassis')
    assert _geometry(visual)[1] == pytest.approx(list(2 * chassis.size))
    assert _pose(visual)[0][2] == pytest.approx(chassis_z)
    mass = sum(float(link.findtext('inertial/mass')) for link in model.findall('link'))
    assert mass == pytest.approx(robot_model.robot_spec().mass)
    # Wheels: where DiffDrive is told they are, of the radius it is told, on the floor.
    drive = plugin(text, 'DiffDrive')
    separation = float(drive.findtext('wheel_separation'))
    radius = float(drive.findtext('wheel_radius'))
    links = {link.get('name'): link for link in model.findall('link')}
    joints = {j.get('name'): j for j in model.findall('joint')}
    for side, sign in (('left', 1), ('right', -1)):
        joint = joints[drive.findtext(f'{side}_joint')]
        wheel = links[joint.findtext('child')]
        assert joint.findtext('parent') == robot.base_frame and joint.get('type') == 'revolute'
        assert joint.findtext('axis/xyz') == '0 1 0'  # turning forward drives forward
        position = _pose(wheel)[0]
        assert position[1] == pytest.approx(sign * separation / 2)
        assert position[2] == pytest.approx(radius)
        assert _geometry(wheel.find('visual'))[1][0] == pytest.approx(radius)
        assert abs(position[1]) + float(_geometry(wheel.find('visual'))[1][1]) / 2 <= \
            robot.footprint.width / 2 + 1e-9  # inside the footprint
    assert drive.findtext('topic') == 'cmd_vel'
    limits = {key: float(drive.findtext(key)) for key in (
        'max_linear_velocity', 'max_angular_velocity', 'max_linear_acceleration',
        'min_linear_acceleration')}
    assert limits == {'max_linear_velocity': PARAMS['robot_max_speed'],
                      'max_angular_velocity': PARAMS['robot_max_yaw_rate'],
                      'max_linear_acceleration': PARAMS['robot_max_accel'],
                      'min_linear_acceleration': -PARAMS['robot_max_decel']}
    odom = plugin(text, 'OdometryPublisher')
    assert (odom.findtext('odom_frame'), odom.findtext('robot_base_frame'),
            odom.findtext('odom_topic')) == (PARAMS['odom_frame_id'], robot.base_frame, 'odom')
    assert float(odom.findtext('odom_publish_frequency')) == PARAMS['odom_rate_hz']


# --- errors ------------------------------------------------------------------------------------

BASE = open(os.path.join(SCENARIOS, 'person_crossing.yaml')).read()


@pytest.mark.parametrize('edit', [
    ('duration_s: 20.0', 'duration_s: 20.0\ncolour: red'),
    ('speed: 1.4', 'speed: fast'),
    ('type: person', 'type: robot'),
    ('center: [10.5, 2.2]', 'center: [2.5, 2.2]'),
    ('start: [0.0, 0.0, 0.0]', 'start: [2.5, 2.2, 0.0]'),
    ('[[6.5, 3.0], [6.5, 0.0]]', '[[6.5, 3.0], [6.5, -30.0]]'),
    ('floor_x: [-3.0, 23.0]', 'floor_x: [23.0, -3.0]'),
])
def test_a_bad_scenario_gets_the_same_error_as_for_mujoco(edit, tmp_path, capfd):
    path = tmp_path / 'bad.yaml'
    path.write_text(BASE.replace(*edit))
    with pytest.raises(ScenarioError) as mujoco_error:
        load_scenario(str(path))  # what the MuJoCo simulator reads
    assert cli.main(['gazebo-world', str(path), '--output', str(tmp_path / 'w.sdf')]) == 2
    assert capfd.readouterr().err == f'perception gazebo-world: {mujoco_error.value}\n'
    assert not (tmp_path / 'w.sdf').exists()


def test_unreadable_input_and_a_clashing_name_are_clear_errors(tmp_path, capfd):
    assert cli.main(['gazebo-world', str(tmp_path / 'none.yaml')]) == 2
    assert 'cannot read scenario' in capfd.readouterr().err
    path = tmp_path / 'floor.yaml'
    path.write_text(BASE.replace('name: wall_north', 'name: floor'))
    assert cli.main(['gazebo-world', str(path)]) == 2
    assert 'an object is named floor, as a model of the Gazebo world is' in \
        capfd.readouterr().err
    assert cli.main(['gazebo-robot', '--description', str(tmp_path / 'none.yaml')]) == 2
    assert 'cannot read' in capfd.readouterr().err
    with pytest.raises(ValueError, match='unknown Gazebo flavour .garden.; known: harmonic'):
        sdf.world_sdf(scenario('aisle_clear'), 'garden')


def test_the_commands_write_files_and_say_what_gazebo_does_otherwise(tmp_path, capfd):
    out = tmp_path / 'lidar_faults.sdf'
    assert cli.main(['gazebo-world', 'lidar_faults', '--gazebo', 'fortress', '-o',
                     str(out)]) == 0
    assert 'ignition-gazebo-physics-system' in out.read_text()
    err = capfd.readouterr().err
    assert 'fault truncate of the lidar from 13 s: not simulated in Gazebo' in err
    assert cli.main(['gazebo-robot', '--gazebo', 'harmonic']) == 0
    printed = capfd.readouterr().out
    assert ElementTree.fromstring(printed).find('model').get('name') == 'warehouse_amr'
    assert gazebo.default_gazebo({'ROS_DISTRO': 'humble'}) == 'fortress'
    assert gazebo.default_gazebo({'ROS_DISTRO': 'jazzy'}) == 'harmonic'
    assert gazebo.default_gazebo({}) == 'harmonic'


def test_prepare_writes_both_files_and_the_commands_use_them(tmp_path):
    run = gazebo.prepare('empty_pallet_in_lane', 'fortress', str(tmp_path))
    assert run.world_file == str(tmp_path / 'empty_pallet_in_lane.sdf')
    assert run.robot_file == str(tmp_path / 'warehouse_amr.model.sdf')
    assert os.path.isfile(run.world_file) and os.path.isfile(run.robot_file)
    assert run.gz_command(True) == ['ign', 'gazebo', '-r', '-s', '--headless-rendering',
                                    run.world_file]
    assert run.spawn_arguments() == ['-world', 'empty_pallet_in_lane', '-file', run.robot_file,
                                     '-name', 'warehouse_amr', '-x=2', '-y=-6', '-z=0',
                                     '-Y=1.5708']
    assert load_scenario(gazebo.route_driver_parameters(run)['scenario']).name == \
        'empty_pallet_in_lane'
