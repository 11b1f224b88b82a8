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
Gazebo worlds (SDF 1.9) from the scenarios, and the robot as an SDF model.

The world is written from the same lists of primitives as the MuJoCo world
(perception.sim.layout, and each actor kind's parts in perception.sim.actors), so both hold the
same objects at the same poses and sizes. The robot model comes from the robot description
(config/robot.yaml) and the simulator's parameters (config/simulator.yaml): its sensors publish
on the topics our nodes take, with the frame ids of the description.

Two flavours: `harmonic` (gz-sim 8, Jazzy; plugins gz-sim-*, sensors' frame in gz_frame_id) and
`fortress` (Ignition Gazebo 6, Humble; plugins ignition-gazebo-*, ignition_frame_id). Nothing here
needs Gazebo, MuJoCo or ROS.
"""

from dataclasses import dataclass
import math
import re
from typing import Dict, List, Optional, Sequence, Tuple
import xml.etree.ElementTree as ElementTree

import numpy as np

from perception.core.robot import Camera, Lidar, RobotDescription, RobotError
from perception.sim.actors import actor_type, ActorPart, main_body
from perception.sim.layout import CEILING_HEIGHT, CHASSIS_CLEARANCE, floor_and_ceiling, lighting
from perception.sim.layout import PHYSICS_DT
from perception.sim.layout import ROBOT_MASS, static_primitives
from perception.sim.scenario import Actor, path_length, Scenario, ScenarioError
from perception.sim.shapes import Primitive

SDF_VERSION = '1.9'


@dataclass(frozen=True)
class Flavour:
    """What differs between Gazebo releases in the files we write."""

    name: str
    release: str            # for people: which Gazebo and ROS 2 go with it
    plugin_file: str        # prefix of a system's library name
    plugin_class: str       # namespace of a system's class
    frame_element: str      # the sensor element that sets the frame_id of its messages
    command: Tuple[str, ...]  # the command that runs the simulator


FLAVOURS: Dict[str, Flavour] = {f.name: f for f in (
    Flavour('harmonic', 'Gazebo Harmonic (gz-sim 8) with Jazzy; Ionic with Kilted',
            'gz-sim-', 'gz::sim::systems::', 'gz_frame_id', ('gz', 'sim')),
    Flavour('fortress', 'Ignition Gazebo Fortress (6) with Humble',
            'ignition-gazebo-', 'ignition::gazebo::systems::', 'ignition_frame_id',
            ('ign', 'gazebo')),
)}

#: The Gazebo topics of the robot model; each is the name of the ROS topic it is bridged to
#: (config/gz_bridge.yaml), relative, so that a namespace applies on the ROS side.
TOPICS = {'camera': 'camera/image_raw', 'depth': 'camera/depth/image_raw', 'scan': 'scan',
          'odom': 'odom', 'cmd_vel': 'cmd_vel'}

#: The drive Gazebo simulates (MuJoCo slides the body on planar joints instead): two wheels
#: inside the footprint and two frictionless casters, all touching the floor.
WHEEL_RADIUS = 0.1
WHEEL_WIDTH = 0.05
WHEEL_MASS = 1.0
CASTER_RADIUS = CHASSIS_CLEARANCE
#: Actor waypoints lie at most this far apart (m): Gazebo interpolates between them.
WAYPOINT_SPACING = 0.5
#: A turn at a path's corner takes this long (s); Gazebo keys waypoints by whole milliseconds.
TURN_TIME = 0.01
#: Where the start of an actor waiting for the robot is worked out, this fine (s).
TRIGGER_STEP = 0.01


def flavour(name: str) -> Flavour:
    """Return a flavour by name; ValueError names the known ones."""
    try:
        return FLAVOURS[name]
    except (KeyError, TypeError):
        raise ValueError(f'unknown Gazebo flavour {name!r}; known: '
                         f'{", ".join(FLAVOURS)}') from None


def world_name(scenario: Scenario) -> str:
    """Return the name of a scenario's Gazebo world: it appears in Gazebo's topic names."""
    return re.sub(r'[^A-Za-z0-9_]', '_', scenario.name) or 'world'


# --- XML helpers ----------------------------------------------------------------------------

def _num(value: float) -> str:
    text = f'{float(value):.6f}'.rstrip('0').rstrip('.')
    return '0' if text in ('-0', '') else text


def _nums(values: Sequence[float]) -> str:
    return ' '.join(_num(v) for v in values)


def _sub(parent: ElementTree.Element, tag: str, text=None, **attributes) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag, {k: str(v) for k, v in attributes.items()})
    if text is not None:
        element.text = text if isinstance(text, str) else (
            ('true' if text else 'false') if isinstance(text, bool) else _num(text))
    return element


def _pose(parent: ElementTree.Element, position: Sequence[float],
          rpy: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
    _sub(parent, 'pose', _nums(list(position) + list(rpy)))


def _colour(rgba: Sequence[float]) -> str:
    return _nums(list(rgba[:3]) + [rgba[3] if len(rgba) > 3 else 1.0])


def _plugin(parent: ElementTree.Element, kind: Flavour, system: str, library: str
            ) -> ElementTree.Element:
    return _sub(parent, 'plugin', filename=kind.plugin_file + library,
                name=kind.plugin_class + system)


def _geometry(parent: ElementTree.Element, shape: Primitive) -> None:
    geometry = _sub(parent, 'geometry')
    if shape.shape == 'box':
        _sub(_sub(geometry, 'box'), 'size', _nums(shape.size))
    elif shape.shape == 'sphere':
        _sub(_sub(geometry, 'sphere'), 'radius', shape.size[0])
    elif shape.shape in ('capsule', 'cylinder'):
        element = _sub(geometry, shape.shape)
        _sub(element, 'radius', shape.size[0])
        _sub(element, 'length', shape.size[1])
    elif shape.shape == 'plane':
        plane = _sub(geometry, 'plane')
        _sub(plane, 'normal', '0 0 1')
        _sub(plane, 'size', _nums(shape.size))
    else:
        raise ValueError(f'no SDF geometry for shape {shape.shape!r}')


def _visual(link: ElementTree.Element, shape: Primitive, name: str,
            offset: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
    visual = _sub(link, 'visual', name=name)
    _pose(visual, np.subtract(shape.position, offset), shape.rpy)
    _geometry(visual, shape)
    material = _sub(visual, 'material')
    _sub(material, 'ambient', _colour(shape.rgba))
    _sub(material, 'diffuse', _colour(shape.rgba))
    _sub(material, 'specular', '0.1 0.1 0.1 1')


def _collision(link: ElementTree.Element, shape: Primitive, name: str,
               offset: Sequence[float] = (0.0, 0.0, 0.0)) -> ElementTree.Element:
    # Names are unique among all of a link's children: a visual and its collision differ.
    collision = _sub(link, 'collision', name=f'{name}_collision')
    _pose(collision, np.subtract(shape.position, offset), shape.rpy)
    _geometry(collision, shape)
    return collision


def _document(root_child: ElementTree.Element, comment: str) -> str:
    sdf = ElementTree.Element('sdf', version=SDF_VERSION)
    sdf.append(ElementTree.Comment(f' {comment} '))
    sdf.append(root_child)
    ElementTree.indent(sdf, '  ')
    return '<?xml version="1.0"?>\n' + ElementTree.tostring(sdf, encoding='unicode') + '\n'


# --- the world ------------------------------------------------------------------------------

def _static_models(world: ElementTree.Element, scenario: Scenario) -> None:
    planes = floor_and_ceiling(scenario)
    names = {o.name for o in scenario.obstacles} | {a.name for a in scenario.actors}
    taken = {p.part for p in planes} & names
    if taken:
        raise ScenarioError(f'{scenario.source or scenario.name}: an object is named '
                            f'{", ".join(sorted(taken))}, as a model of the Gazebo world is; '
                            'rename it')
    objects: Dict[str, List[Primitive]] = {}
    for shape in planes + static_primitives(scenario):
        objects.setdefault(shape.obj or shape.part, []).append(shape)
    for name, shapes in objects.items():
        model = _sub(world, 'model', name=name)
        _sub(model, 'static', True)
        link = _sub(model, 'link', name='link')
        for shape in shapes:
            _visual(link, shape, shape.part)
            # Gazebo's robot stands on the floor on its wheels; MuJoCo's slides on joints.
            if shape.solid or shape.part == 'floor':
                _collision(link, shape, shape.part)


def _lights(world: ElementTree.Element, scenario: Scenario) -> None:
    light = lighting(scenario)
    (x0, x1), (y0, y1) = scenario.floor
    reach = math.sqrt((x1 - x0) ** 2 + (y1 - y0) ** 2 + CEILING_HEIGHT ** 2)
    scene = _sub(world, 'scene')
    _sub(scene, 'ambient', _colour(light.ambient))
    _sub(scene, 'background', '0.3 0.3 0.32 1')
    _sub(scene, 'shadows', False)
    _sub(scene, 'grid', False)
    for lamp in light.lights:
        element = _sub(world, 'light', name=lamp.name, type='spot')
        _pose(element, lamp.position)
        _sub(element, 'cast_shadows', False)
        _sub(element, 'diffuse', _colour(lamp.diffuse))
        _sub(element, 'specular', '0 0 0 1')
        attenuation = _sub(element, 'attenuation')
        # MuJoCo's lamps reach everywhere; Gazebo's stop at their range: the farthest corner.
        constant, linear, quadratic = lamp.attenuation
        _sub(attenuation, 'range', math.ceil(reach))
        _sub(attenuation, 'constant', constant)
        _sub(attenuation, 'linear', linear)
        _sub(attenuation, 'quadratic', quadratic)
        _sub(element, 'direction', _nums(lamp.direction))
        spot = _sub(element, 'spot')
        # Gazebo's cone angles span the whole cone (Ogre's); MuJoCo's cutoff is from the axis.
        _sub(spot, 'inner_angle', 0.0)
        _sub(spot, 'outer_angle', 2 * lamp.cutoff)
        _sub(spot, 'falloff', lamp.exponent)
    # MuJoCo's headlight lights what the camera looks at; Gazebo has none: light from above.
    overhead = _sub(world, 'light', name='overhead', type='directional')
    _sub(overhead, 'cast_shadows', False)
    _sub(overhead, 'diffuse', _colour(light.headlight))
    _sub(overhead, 'specular', '0 0 0 1')
    _sub(overhead, 'direction', '0 0 -1')


def route_position(scenario: Scenario, times: np.ndarray, max_speed: float,
                   accel: float) -> np.ndarray:
    """
    Return where the robot is (N, 2) at each time, driving its route undisturbed.

    It starts from rest, speeds up at `accel` to the route's speed (at most `max_speed`) and
    follows the straight legs through the waypoints, stopping at the last one unless the route
    loops. A model of the route driver without its turns, braking or the safety gate's stops.
    """
    route = scenario.route
    speed = min(route.speed, max_speed)
    start = scenario.robot_start[:2]
    if speed <= 0 or accel <= 0:
        return np.tile(np.asarray(start, float), (len(times), 1))
    t_ramp = speed / accel
    travelled = np.where(times < t_ramp, 0.5 * accel * times ** 2,
                         speed * times - 0.5 * speed * t_ramp)
    points = [start] + list(route.waypoints)
    if route.loop and len(route.waypoints) > 1:
        lap = path_length(list(route.waypoints) + [route.waypoints[0]])
        laps = int(travelled.max() / max(lap, 1e-6)) + 2
        points += list(route.waypoints) * laps  # after the last, the first again
    points = np.asarray(points, float)
    steps = np.hypot(*np.diff(points, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    travelled = np.minimum(travelled, along[-1])
    return np.column_stack([np.interp(travelled, along, points[:, 0]),
                            np.interp(travelled, along, points[:, 1])])


def actor_start_time(scenario: Scenario, actor: Actor, max_speed: float,
                     accel: float) -> Optional[float]:
    """
    Return when an actor starts moving, in a world without its trigger; None: never.

    Gazebo's actors follow a fixed script and cannot wait for the robot, so an actor that starts
    when the robot comes within some distance of its first point starts at the time the robot,
    driving its route undisturbed (route_position), first comes that near, not before its
    start_delay_s; None if that does not happen within the scenario's duration.
    """
    if actor.start_when_robot_within <= 0:
        return actor.start_delay_s
    times = np.arange(0.0, scenario.duration_s + TRIGGER_STEP / 2, TRIGGER_STEP)
    robot = route_position(scenario, times, max_speed, accel)
    near = np.hypot(robot[:, 0] - actor.path[0][0], robot[:, 1] - actor.path[0][1]) \
        <= actor.start_when_robot_within
    hits = np.flatnonzero(near & (times >= actor.start_delay_s - 1e-9))
    return float(times[hits[0]]) if len(hits) else None


def actor_waypoints(actor: Actor) -> List[Tuple[float, Tuple[float, float, float]]]:
    """
    Return an actor's script as (time, (x, y, heading)) from the moment it starts moving.

    It walks or drives its path at its speed, facing along each leg and turning at the corners
    within TURN_TIME, as the MuJoCo world moves it; a looping path closes back to its first
    point. Waypoints lie at most WAYPOINT_SPACING apart, evenly along each leg, so that Gazebo's
    interpolation between them keeps the speed.
    """
    points = list(actor.path) + ([actor.path[0]] if actor.loop and len(actor.path) > 1 else [])
    legs = [(a, b) for a, b in zip(points, points[1:]) if math.hypot(b[0] - a[0], b[1] - a[1])
            > 1e-9]
    if not legs or actor.speed <= 0:
        heading = math.atan2(legs[0][1][1] - legs[0][0][1], legs[0][1][0] - legs[0][0][0]) \
            if legs else 0.0
        still = (actor.path[0][0], actor.path[0][1], heading)
        return [(0.0, still), (1.0, still)]
    out = []
    clock = 0.0
    for i, (a, b) in enumerate(legs):
        length = math.hypot(b[0] - a[0], b[1] - a[1])
        heading = math.atan2(b[1] - a[1], b[0] - a[0])
        if i:  # turn on the spot at the corner
            clock += TURN_TIME
        pieces = max(1, math.ceil(length / WAYPOINT_SPACING))
        for k in range(pieces + 1):
            t = clock + (length * k / pieces) / actor.speed
            out.append((round(t, 3), (a[0] + (b[0] - a[0]) * k / pieces,
                                      a[1] + (b[1] - a[1]) * k / pieces, heading)))
        clock += length / actor.speed
    return out


def _actor(world: ElementTree.Element, actor: Actor, start: Optional[float]) -> None:
    element = _sub(world, 'actor', name=actor.name)
    kind = actor_type(actor.kind)
    for part in kind.parts(actor):
        link = _sub(element, 'link', name=actor_link_name(actor, part))
        _pose(link, part.origin)
        for shape in part.shapes:
            _visual(link, shape, shape.part)
    script = _sub(element, 'script')
    if start is None:
        element.insert(0, ElementTree.Comment(
            f' MuJoCo starts it when the robot comes within {actor.start_when_robot_within:g} m '
            'of its first point; driving its route, the robot never does: it stays. '))
        waypoints = actor_waypoints(Actor(actor.name, actor.kind, actor.path, 0.0))
    else:
        if actor.start_when_robot_within > 0:
            element.insert(0, ElementTree.Comment(
                f' MuJoCo starts it when the robot comes within '
                f'{actor.start_when_robot_within:g} m of its first point: here at '
                f'{start:.2f} s, when the robot driving its route undisturbed would. '))
        waypoints = actor_waypoints(actor)
    _sub(script, 'loop', bool(actor.loop and start is not None and actor.speed > 0))
    _sub(script, 'delay_start', start or 0.0)
    _sub(script, 'auto_start', True)
    trajectory = _sub(script, 'trajectory', id='0', type=actor.kind)
    for t, (x, y, heading) in waypoints:
        waypoint = _sub(trajectory, 'waypoint')
        _sub(waypoint, 'time', t)
        _pose(waypoint, (x, y, 0.0), (0.0, 0.0, heading))


def actor_link_name(actor: Actor, part: ActorPart) -> str:
    """Return the Gazebo link name of an actor's part: `body`, or the limb's name."""
    return 'body' if part.body == main_body(actor) else part.body.rsplit(':', 1)[-1]


def world_sdf(scenario: Scenario, gazebo: str = 'harmonic', max_speed: float = 1.5,
              accel: float = 1.0) -> Tuple[str, List[str]]:
    """
    Return a scenario as an SDF world, and notes on what Gazebo cannot do as MuJoCo does.

    max_speed and accel are the robot's drive limits (config/simulator.yaml), for the actors
    that wait for the robot (actor_start_time).
    """
    kind = flavour(gazebo)
    notes = []
    world = ElementTree.Element('world', name=world_name(scenario))
    physics = _sub(world, 'physics', name='default', type='ignored')
    _sub(physics, 'max_step_size', PHYSICS_DT)
    _sub(physics, 'real_time_factor', 1.0)
    _plugin(world, kind, 'Physics', 'physics-system')
    _sub(_plugin(world, kind, 'Sensors', 'sensors-system'), 'render_engine', 'ogre2')
    _plugin(world, kind, 'SceneBroadcaster', 'scene-broadcaster-system')
    # The service that ros_gz_sim's create spawns the robot through.
    _plugin(world, kind, 'UserCommands', 'user-commands-system')
    _sub(world, 'gravity', '0 0 -9.81')
    _lights(world, scenario)
    _static_models(world, scenario)
    for actor in scenario.actors:
        start = actor_start_time(scenario, actor, max_speed, accel)
        within = actor.start_when_robot_within
        if within > 0 and start is None:
            notes.append(f'actor {actor.name}: Gazebo cannot wait for the robot; driving its '
                         f'route undisturbed, the robot never comes within {within:g} m of its '
                         'first point, so the actor stays there')
        elif within > 0:
            notes.append(f'actor {actor.name}: Gazebo cannot wait for the robot; it starts at '
                         f'{start:.2f} s, when the robot driving its route undisturbed comes '
                         f'within {within:g} m of its first point')
        _actor(world, actor, start)
    for at, level in scenario.light_schedule:
        # A world's lights are fixed in SDF; Gazebo changes them only through its light_config
        # service while running.
        notes.append(f'lighting change to level {level:g} at {at:g} s: not in the world (its '
                     'lights keep the starting level)')
    for fault in scenario.faults:
        notes.append(f'fault {fault.effect} of the {fault.sensor} from {fault.from_s:g} s: '
                     'not simulated in Gazebo')
    x, y, yaw = scenario.robot_start
    comment = (f'Scenario {scenario.name} for {kind.release}, written by `perception '
               f'gazebo-world` from {scenario.source or scenario.name}; edit the scenario, not '
               f'this file. The robot starts at x {_num(x)}, y {_num(y)}, yaw {_num(yaw)} rad.')
    for note in notes:
        world.insert(0, ElementTree.Comment(f' {note} '))
    return _document(world, comment), notes


# --- the robot ------------------------------------------------------------------------------

def _box_inertia(mass: float, size: Sequence[float]) -> Tuple[float, float, float]:
    x, y, z = size
    return (mass * (y * y + z * z) / 12, mass * (x * x + z * z) / 12, mass * (x * x + y * y) / 12)


def _inertial(link: ElementTree.Element, mass: float, position: Sequence[float],
              diagonal: Sequence[float]) -> None:
    inertial = _sub(link, 'inertial')
    _sub(inertial, 'mass', mass)
    _pose(inertial, position)
    inertia = _sub(inertial, 'inertia')
    for name, value in zip(('ixx', 'iyy', 'izz'), diagonal):
        _sub(inertia, name, value)
    for name in ('ixy', 'ixz', 'iyz'):
        _sub(inertia, name, 0.0)


def _camera(sensor: ElementTree.Element, camera: Camera, name: str, image_format: str,
            far: float) -> None:
    fx, fy, cx, cy = camera.intrinsics()
    element = _sub(sensor, 'camera', name=name)
    _sub(element, 'horizontal_fov', 2 * math.atan(camera.width / 2 / fx))
    image = _sub(element, 'image')
    _sub(image, 'width', str(camera.width))
    _sub(image, 'height', str(camera.height))
    _sub(image, 'format', image_format)
    clip = _sub(element, 'clip')
    _sub(clip, 'near', 0.02)
    _sub(clip, 'far', far)
    # The simulator's pinhole, as its camera_info gives it, in Gazebo's camera_info too.
    lens = _sub(element, 'lens')
    intrinsics = _sub(lens, 'intrinsics')
    for key, value in zip(('fx', 'fy', 'cx', 'cy', 's'), (fx, fy, cx, cy, 0.0)):
        _sub(intrinsics, key, value)


def _sensor(link: ElementTree.Element, kind: Flavour, name: str, sensor_type: str,
            mount, frame_id: str, topic: str, rate: float) -> ElementTree.Element:
    sensor = _sub(link, 'sensor', name=name, type=sensor_type)
    _pose(sensor, (mount.x, mount.y, mount.z), (mount.roll, mount.pitch, mount.yaw))
    _sub(sensor, 'always_on', True)
    _sub(sensor, 'update_rate', rate)
    _sub(sensor, 'visualize', False)
    _sub(sensor, 'topic', topic)
    _sub(sensor, kind.frame_element, frame_id)
    return sensor


def lidar_angles(lidar: Lidar) -> Tuple[float, float]:
    """Return the first and last beam's angle: Gazebo spreads its samples between them."""
    angles = lidar.angles()
    return float(angles[0]), float(angles[-1])


def _lidar(link: ElementTree.Element, kind: Flavour, lidar: Lidar, rate: float,
           noise: float) -> None:
    sensor = _sensor(link, kind, 'lidar', 'gpu_lidar', lidar.mount, lidar.frame_id,
                     TOPICS['scan'], rate)
    element = _sub(sensor, 'lidar')
    horizontal = _sub(_sub(element, 'scan'), 'horizontal')
    first, last = lidar_angles(lidar)
    _sub(horizontal, 'samples', str(lidar.beams))
    _sub(horizontal, 'resolution', 1.0)
    _sub(horizontal, 'min_angle', first)
    _sub(horizontal, 'max_angle', last)
    ranges = _sub(element, 'range')
    _sub(ranges, 'min', lidar.range_min)
    _sub(ranges, 'max', lidar.range_max)
    _sub(ranges, 'resolution', 0.01)
    if noise > 0:
        element_noise = _sub(element, 'noise')
        _sub(element_noise, 'type', 'gaussian')
        _sub(element_noise, 'mean', 0.0)
        _sub(element_noise, 'stddev', noise)


def _wheel(model: ElementTree.Element, base: str, side: str, y: float) -> str:
    link = _sub(model, 'link', name=f'{side}_wheel')
    _pose(link, (0.0, y, WHEEL_RADIUS))
    wheel = Primitive('', 'wheel', 'cylinder', (0.0, 0.0, 0.0), (WHEEL_RADIUS, WHEEL_WIDTH),
                      (0.1, 0.1, 0.1, 1.0), (math.pi / 2, 0.0, 0.0))
    r, w = WHEEL_RADIUS, WHEEL_WIDTH
    _inertial(link, WHEEL_MASS, (0.0, 0.0, 0.0),
              (WHEEL_MASS * (3 * r * r + w * w) / 12, WHEEL_MASS * r * r / 2,
               WHEEL_MASS * (3 * r * r + w * w) / 12))
    _collision(link, wheel, 'wheel')
    _visual(link, wheel, 'wheel')
    joint = _sub(model, 'joint', name=f'{side}_wheel_joint', type='revolute')
    _sub(joint, 'parent', base)
    _sub(joint, 'child', f'{side}_wheel')
    axis = _sub(joint, 'axis')
    _sub(axis, 'xyz', '0 1 0')  # forward is a positive turn about y, left
    limit = _sub(axis, 'limit')
    _sub(limit, 'lower', -1e16)
    _sub(limit, 'upper', 1e16)
    return joint.get('name')


def robot_sdf(robot: RobotDescription, params: Dict[str, object],
              gazebo: str = 'harmonic') -> str:
    """
    Return the robot as an SDF model: its footprint, drive, sensors and odometry.

    params are the simulator's (config/simulator.yaml): which sensors of the description to
    simulate (`lidar`, `camera`), their rates, the scan noise, the drive limits and odom's
    frame. RobotError when the description lacks them.
    """
    kind = flavour(gazebo)
    lidar = robot.sensor(params['lidar'], Lidar)
    camera = robot.sensor(params['camera'], Camera)
    if not camera.depth and params['depth_enabled']:
        raise RobotError(f'{robot.source}: sensors.{params["camera"]}: depth_enabled needs a '
                         'camera with depth (set depth: true)')
    fp = robot.footprint
    if fp.width < 2 * WHEEL_WIDTH + 0.05 or fp.length < 4 * CASTER_RADIUS + 0.05:
        raise RobotError(f'{robot.source}: footprint: too small for the simulated drive')
    model = ElementTree.Element('model', name=robot.name)
    base = _sub(model, 'link', name=robot.base_frame)
    chassis = Primitive('', 'chassis', 'box', (0.0, 0.0, CHASSIS_CLEARANCE + fp.height / 2),
                        (fp.length, fp.width, fp.height), (0.9, 0.9, 0.9, 1.0))
    mass = ROBOT_MASS - 2 * WHEEL_MASS  # the MuJoCo robot's mass, wheels included
    _inertial(base, mass, chassis.position, _box_inertia(mass, chassis.size))
    _collision(base, chassis, 'chassis')
    _visual(base, chassis, 'chassis')
    for name, x in (('front_caster', fp.length / 2 - 2 * CASTER_RADIUS),
                    ('rear_caster', -fp.length / 2 + 2 * CASTER_RADIUS)):
        caster = Primitive('', name, 'sphere', (x, 0.0, CASTER_RADIUS), (CASTER_RADIUS,),
                           (0.2, 0.2, 0.2, 1.0))
        ode = _sub(_sub(_sub(_collision(base, caster, name), 'surface'), 'friction'), 'ode')
        _sub(ode, 'mu', 0.0)
        _sub(ode, 'mu2', 0.0)
        _visual(base, caster, name)
    _lidar(base, kind, lidar, params['scan_rate_hz'], params['scan_noise_std'])
    sensor = _sensor(base, kind, 'camera', 'camera', camera.mount, camera.frame_id,
                     TOPICS['camera'], params['camera_rate_hz'])
    _camera(sensor, camera, 'color', 'R8G8B8', 100.0)
    if params['depth_enabled']:
        sensor = _sensor(base, kind, 'depth_camera', 'depth_camera', camera.mount,
                         camera.frame_id, TOPICS['depth'], params['camera_rate_hz'])
        _camera(sensor, camera, 'depth', 'R_FLOAT32', camera.depth_range_max)
    separation = fp.width - WHEEL_WIDTH
    left = _wheel(model, robot.base_frame, 'left', separation / 2)
    right = _wheel(model, robot.base_frame, 'right', -separation / 2)
    drive = _plugin(model, kind, 'DiffDrive', 'diff-drive-system')
    _sub(drive, 'left_joint', left)
    _sub(drive, 'right_joint', right)
    _sub(drive, 'wheel_separation', separation)
    _sub(drive, 'wheel_radius', WHEEL_RADIUS)
    _sub(drive, 'topic', TOPICS['cmd_vel'])
    _sub(drive, 'odom_publish_frequency', params['odom_rate_hz'])
    for key, value in (('max_linear_velocity', params['robot_max_speed']),
                       ('min_linear_velocity', -params['robot_max_speed']),
                       ('max_angular_velocity', params['robot_max_yaw_rate']),
                       ('min_angular_velocity', -params['robot_max_yaw_rate']),
                       ('max_linear_acceleration', params['robot_max_accel']),
                       ('min_linear_acceleration', -params['robot_max_decel'])):
        _sub(drive, key, value)
    # odom: the true pose in the scenario's frame, as the MuJoCo simulator publishes it (the
    # route driver reads the route's waypoints in it); DiffDrive's own odometry starts at zero
    # where the robot spawns and stays on Gazebo's side.
    odom = _plugin(model, kind, 'OdometryPublisher', 'odometry-publisher-system')
    _sub(odom, 'odom_frame', params['odom_frame_id'])
    _sub(odom, 'robot_base_frame', robot.base_frame)
    _sub(odom, 'odom_topic', TOPICS['odom'])
    _sub(odom, 'odom_publish_frequency', params['odom_rate_hz'])
    comment = (f'Robot {robot.name} for {kind.release}, written by `perception gazebo-robot` '
               f'from {robot.source or "the robot description"} and the simulator parameters; '
               'edit those, not this file.')
    return _document(model, comment)
