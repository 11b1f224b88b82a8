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
Warehouse scenarios as data: the layout, the lighting, the robot's route and the actors.

A scenario is a YAML file (config/scenarios/*.yaml). load_scenario() checks it strictly: an
unknown key, a missing field, a wrong type or an impossible layout (objects that overlap, a
robot that starts inside something, a path outside the floor) raises ScenarioError naming the
key or the object.
"""

from dataclasses import dataclass
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

from perception.core import geometry
from perception.core.yamlfile import FieldReader, read_yaml
from perception.sim.actors import actor_type, ACTOR_TYPES, known_types

CLASSES = ('person', 'forklift', 'pallet', 'box', 'rack')
#: Classes a detector learns; racks are structure, not objects.
DETECTION_CLASSES = ('person', 'forklift', 'pallet', 'box')


class ScenarioError(ValueError):
    """A scenario that cannot be simulated; the message names the key or the object."""


@dataclass(frozen=True)
class Obstacle:
    """A static object: a rack, a pallet, a box or a wall."""

    name: str
    kind: str  # rack | pallet | box | wall
    center: Tuple[float, float]
    size: Tuple[float, float, float]  # x, y, z extents in metres, before yaw
    yaw: float = 0.0
    color: Tuple[float, float, float] = (0.5, 0.5, 0.5)
    load_height: float = 0.0  # pallets: height of the load stacked on them
    levels: int = 4  # racks: shelf levels

    def footprint(self) -> List[Tuple[float, float]]:
        """Corners of the object's footprint on the floor."""
        return geometry.rectangle(self.center, self.size[0], self.size[1], self.yaw)


@dataclass(frozen=True)
class Actor:
    """Someone or something that moves along a path: a kind of perception.sim.actors."""

    name: str
    kind: str  # a key of perception.sim.actors.ACTOR_TYPES
    path: Tuple[Tuple[float, float], ...]
    speed: float
    start_delay_s: float = 0.0
    start_when_robot_within: float = 0.0  # metres from the path's first point; 0: not used
    loop: bool = False
    color: Optional[Tuple[float, float, float]] = None  # None: the kind's colour
    height: Optional[float] = None  # None: the kind's height

    def __post_init__(self):
        kind = actor_type(self.kind)  # ValueError for a kind that is not registered
        if self.color is None:
            object.__setattr__(self, 'color', kind.color)
        if self.height is None:
            object.__setattr__(self, 'height', kind.height)


@dataclass(frozen=True)
class Route:
    """Where the robot drives: waypoints at a cruise speed."""

    waypoints: Tuple[Tuple[float, float], ...]
    speed: float
    loop: bool = False
    goal_tolerance: float = 0.3


#: What a sensor fault does to the simulated lidar: `truncate` sends only the first half of
#: each scan's ranges while its angles still claim all of them (a malformed scan), `narrow`
#: sends a well-formed scan of only `fov_deg` around ahead (a lidar narrower than described).
FAULT_EFFECTS = ('truncate', 'narrow')


@dataclass(frozen=True)
class SensorFault:
    """A fault of a simulated sensor from one time to another."""

    sensor: str     # lidar
    effect: str     # one of FAULT_EFFECTS
    from_s: float
    to_s: float = math.inf
    fov_deg: float = 180.0

    def active(self, t: float) -> bool:
        """Tell whether the fault is on at simulated time t."""
        return self.from_s <= t < self.to_s


@dataclass(frozen=True)
class Scenario:
    """A warehouse, a robot on a route, and the actors around it."""

    name: str
    description: str
    duration_s: float
    floor: Tuple[Tuple[float, float], Tuple[float, float]]  # (x min, x max), (y min, y max)
    light_level: float
    obstacles: Tuple[Obstacle, ...]
    robot_start: Tuple[float, float, float]  # x, y, yaw
    route: Route
    actors: Tuple[Actor, ...] = ()
    source: str = ''
    faults: Tuple[SensorFault, ...] = ()
    #: Changes of the light level while the scenario runs: (time s, level), in time order.
    light_schedule: Tuple[Tuple[float, float], ...] = ()

    def light_level_at(self, t: float) -> float:
        """Return the light level at simulated time t (the schedule's last change before it)."""
        level = self.light_level
        for at, value in self.light_schedule:
            if at > t:
                break
            level = value
        return level

    def objects(self) -> Dict[str, str]:
        """Map every named object (obstacles and actors) to its class."""
        out = {o.name: o.kind for o in self.obstacles if o.kind != 'wall'}
        out.update({a.name: actor_type(a.kind).detection_class for a in self.actors})
        return out


# Standard sizes, used when a scenario leaves them out.
PALLET_SIZE = (1.2, 0.8, 0.144)


def default_footprint() -> Tuple[float, float]:
    """Return the length and width of the default robot (config/robot.yaml)."""
    from perception.sim.robot_model import robot_spec
    spec = robot_spec()
    return spec.length, spec.width


class _Reader(FieldReader):
    """Takes fields out of a scenario's mappings; errors name the file and the key."""

    def __init__(self, data, where: str, source: str):
        super().__init__(data, where, source, ScenarioError, 'the scenario')

    def vector(self, key: str, length: int, default=None, required=False):
        value = self.take(key, list, default, required)
        if value is None:
            return None
        if len(value) != length or not all(isinstance(v, (int, float)) and
                                           not isinstance(v, bool) and math.isfinite(v)
                                           for v in value):
            raise self.error(key, f'expected {length} finite numbers, got {value!r}')
        return tuple(float(v) for v in value)

    def points(self, key: str, required=False, minimum: int = 1):
        value = self.take(key, list, None, required)
        if value is None:
            return ()
        points = []
        for i, point in enumerate(value):
            if not (isinstance(point, list) and len(point) == 2 and
                    all(isinstance(v, (int, float)) and not isinstance(v, bool) and
                        math.isfinite(v) for v in point)):
                raise self.error(f'{key}[{i}]', f'expected [x, y], got {point!r}')
            points.append((float(point[0]), float(point[1])))
        if len(points) < minimum:
            raise self.error(key, f'needs at least {minimum} points')
        return tuple(points)


def _obstacle(item, kind: str, index: int, source: str) -> Obstacle:
    plural = 'boxes' if kind == 'box' else f'{kind}s'
    reader = _Reader(item, f'layout.{plural}[{index}]', source)
    name = reader.take('name', str, f'{kind}_{index}')
    reader.where = f'layout.{plural}[{name}]'
    if kind == 'wall':
        start = reader.vector('from', 2, required=True)
        end = reader.vector('to', 2, required=True)
        height = reader.number('height', 3.0, low=0.1)
        thickness = reader.number('thickness', 0.2, low=0.01)
        reader.done()
        length = math.hypot(end[0] - start[0], end[1] - start[1])
        if length < 0.05:
            raise ScenarioError(f'{source}: wall {name} has no length')
        center = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        yaw = math.atan2(end[1] - start[1], end[0] - start[0])
        return Obstacle(name, 'wall', center, (length, thickness, height), yaw, (0.75, 0.75, 0.7))
    center = reader.vector('center', 2, required=True)
    default_size = {'pallet': PALLET_SIZE, 'rack': None, 'box': None}[kind]
    size = reader.vector('size', 3, default_size, required=default_size is None)
    if min(size) <= 0:
        raise reader.error('size', f'must be positive, got {list(size)}')
    yaw = math.radians(reader.number('yaw_deg', 0.0))
    defaults = {'rack': (0.15, 0.3, 0.6), 'pallet': (0.6, 0.45, 0.25), 'box': (0.65, 0.5, 0.3)}
    color = reader.vector('color', 3, defaults[kind])
    load = reader.number('load_height', 0.0, low=0.0, high=2.5) if kind == 'pallet' else 0.0
    levels = int(reader.number('levels', 4.0, low=1, high=8)) if kind == 'rack' else 4
    reader.done()
    return Obstacle(name, kind, center, size, yaw, color, load, levels)


def _actor(item, index: int, source: str) -> Actor:
    reader = _Reader(item, f'actors[{index}]', source)
    name = reader.take('name', str, f'actor_{index}')
    reader.where = f'actors[{name}]'
    kind = reader.take('type', str, required=True)
    if kind not in ACTOR_TYPES:
        raise reader.error('type', f'must be {known_types()}, got {kind!r}')
    spec = ACTOR_TYPES[kind]
    path = reader.points('path', required=True, minimum=1)
    speed = reader.number('speed', spec.speed, low=0.0, high=6.0)
    delay = reader.number('start_delay_s', 0.0, low=0.0)
    within = reader.number('start_when_robot_within', 0.0, low=0.0)
    loop = reader.take('loop', bool, False)
    color = reader.vector('color', 3, spec.color)
    height = spec.height  # a key `height` is unknown where the kind's model fixes it
    if spec.height_range:
        height = reader.number('height', spec.height, low=spec.height_range[0],
                               high=spec.height_range[1])
    reader.done()
    return Actor(name, kind, path, speed, delay, within, loop, color, height)


def _fault(item, index: int, source: str, duration: float) -> SensorFault:
    reader = _Reader(item, f'faults[{index}]', source)
    sensor = reader.take('sensor', str, required=True)
    if sensor != 'lidar':
        raise reader.error('sensor', f'only lidar faults are simulated, got {sensor!r}')
    effect = reader.take('effect', str, required=True)
    if effect not in FAULT_EFFECTS:
        raise reader.error('effect', f'must be one of {", ".join(FAULT_EFFECTS)}, got '
                           f'{effect!r}')
    start = reader.number('from_s', required=True, low=0.0, high=duration)
    end = reader.number('to_s', math.inf, low=start)
    fov = reader.number('fov_deg', 180.0, low=1.0, high=359.0)
    reader.done()
    return SensorFault(sensor, effect, start, end, fov)


def _light_change(item, index: int, source: str, duration: float) -> Tuple[float, float]:
    reader = _Reader(item, f'lighting.schedule[{index}]', source)
    at = reader.number('at_s', required=True, low=0.0, high=duration)
    level = reader.number('level', required=True, low=0.02, high=2.0)
    reader.done()
    return at, level


def parse_scenario(data, source: str = '<scenario>',
                   robot_footprint: Optional[Sequence[float]] = None) -> Scenario:
    """Build a Scenario from parsed YAML, checking every key and the layout."""
    top = _Reader(data, '', source)
    name = top.take('name', str, required=True)
    description = top.take('description', str, '')
    duration = top.number('duration_s', required=True, low=0.1, high=3600.0)
    lighting = _Reader(top.take('lighting', dict, {}), 'lighting', source)
    light_level = lighting.number('level', 1.0, low=0.02, high=2.0)
    schedule = tuple(_light_change(item, i, source, duration)
                     for i, item in enumerate(lighting.take('schedule', list, [])))
    if any(b[0] <= a[0] for a, b in zip(schedule, schedule[1:])):
        raise ScenarioError(f'{source}: lighting.schedule must be in time order, one change '
                            'at a time')
    lighting.done()

    layout = _Reader(top.take('layout', dict, required=True), 'layout', source)
    floor_x = layout.vector('floor_x', 2, required=True)
    floor_y = layout.vector('floor_y', 2, required=True)
    if floor_x[0] >= floor_x[1] or floor_y[0] >= floor_y[1]:
        raise ScenarioError(f'{source}: layout.floor_x and floor_y must be [min, max]')
    obstacles = []
    for kind, key in (('wall', 'walls'), ('rack', 'racks'), ('pallet', 'pallets'),
                      ('box', 'boxes')):
        items = layout.take(key, list, [])
        obstacles += [_obstacle(item, kind, i, source) for i, item in enumerate(items)]
    layout.done()

    robot = _Reader(top.take('robot', dict, required=True), 'robot', source)
    start = robot.vector('start', 3, required=True)  # x, y, yaw in degrees
    route = _Reader(robot.take('route', dict, required=True), 'robot.route', source)
    waypoints = route.points('waypoints', required=True, minimum=1)
    speed = route.number('speed', required=True, low=0.0, high=3.0)
    loop = route.take('loop', bool, False)
    tolerance = route.number('goal_tolerance', 0.3, low=0.01, high=5.0)
    route.done()
    robot.done()

    actors = tuple(_actor(item, i, source) for i, item in enumerate(top.take('actors', list, [])))
    faults = tuple(_fault(item, i, source, duration)
                   for i, item in enumerate(top.take('faults', list, [])))
    top.done()

    scenario = Scenario(name, description, duration, (floor_x, floor_y), light_level,
                        tuple(obstacles), (start[0], start[1], math.radians(start[2])),
                        Route(waypoints, speed, loop, tolerance), actors, source, faults,
                        schedule)
    check_layout(scenario, robot_footprint)
    return scenario


def _inside_floor(scenario: Scenario, point) -> bool:
    (x0, x1), (y0, y1) = scenario.floor
    return x0 <= point[0] <= x1 and y0 <= point[1] <= y1


def check_layout(scenario: Scenario, robot_footprint: Optional[Sequence[float]] = None) -> None:
    """Raise ScenarioError for a layout that cannot be: overlaps, blocked start, off the floor."""
    robot_footprint = robot_footprint or default_footprint()
    source = scenario.source or scenario.name
    names: Dict[str, str] = {}
    for item in list(scenario.obstacles) + list(scenario.actors):
        if item.name in names:
            raise ScenarioError(f'{source}: two objects are named {item.name!r}')
        names[item.name] = item.kind
    solid = list(scenario.obstacles)
    for obstacle in solid:
        if not all(_inside_floor(scenario, p) for p in obstacle.footprint()):
            raise ScenarioError(f'{source}: {obstacle.kind} {obstacle.name} lies outside '
                                'the floor')
    for i, a in enumerate(solid):
        for b in solid[i + 1:]:
            if 'wall' in (a.kind, b.kind):
                continue  # racks may stand against walls
            if geometry.polygons_overlap(a.footprint(), b.footprint(), margin=-0.01):
                raise ScenarioError(f'{source}: {a.kind} {a.name} overlaps {b.kind} {b.name}')
    x, y, yaw = scenario.robot_start
    robot = geometry.rectangle((x, y), robot_footprint[0], robot_footprint[1], yaw)
    if not _inside_floor(scenario, (x, y)):
        raise ScenarioError(f'{source}: robot.start lies outside the floor')
    for obstacle in solid:
        if geometry.polygons_overlap(robot, obstacle.footprint()):
            raise ScenarioError(f'{source}: robot.start is inside {obstacle.kind} {obstacle.name}')
    for i, point in enumerate(scenario.route.waypoints):
        if not _inside_floor(scenario, point):
            raise ScenarioError(f'{source}: robot.route.waypoints[{i}] lies outside the floor')
    for actor in scenario.actors:
        for i, point in enumerate(actor.path):
            if not _inside_floor(scenario, point):
                raise ScenarioError(f'{source}: actor {actor.name} path[{i}] lies outside the '
                                    'floor')


def load_scenario(path: str, robot_footprint: Optional[Sequence[float]] = None) -> Scenario:
    """Read and check a scenario file."""
    return parse_scenario(read_yaml(path, ScenarioError, 'scenario'), path, robot_footprint)


def scenario_path(name_or_path: str, scenarios_dir: str) -> str:
    """Resolve a scenario name (config/scenarios/<name>.yaml) or a path."""
    if os.path.sep in name_or_path or name_or_path.endswith('.yaml'):
        return name_or_path
    return os.path.join(scenarios_dir, f'{name_or_path}.yaml')


def list_scenarios(scenarios_dir: str) -> List[str]:
    """Names of the scenarios shipped in a directory."""
    return sorted(f[:-5] for f in os.listdir(scenarios_dir) if f.endswith('.yaml'))


def path_length(points: Sequence[Tuple[float, float]]) -> float:
    """Length of a polyline."""
    return sum(math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in zip(points, points[1:]))


def position_on_path(points: Sequence[Tuple[float, float]], distance: float,
                     loop: bool = False) -> Tuple[float, float, float]:
    """Point (x, y, heading) at a distance along a polyline; clamps at the end unless loop."""
    if len(points) == 1:
        return points[0][0], points[0][1], 0.0
    pts = list(points) + ([points[0]] if loop else [])
    total = path_length(pts)
    if loop and total > 0:
        distance %= total
    distance = max(0.0, min(distance, total))
    for a, b in zip(pts, pts[1:]):
        seg = math.hypot(b[0] - a[0], b[1] - a[1])
        heading = math.atan2(b[1] - a[1], b[0] - a[0])
        if distance <= seg or (a, b) == (pts[-2], pts[-1]):
            t = 0.0 if seg == 0 else min(1.0, distance / seg)
            return a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), heading
        distance -= seg
    return pts[-1][0], pts[-1][1], 0.0  # pragma: no cover
