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
A scenario's static world as primitive shapes and lights, for every simulator that builds it.

The MuJoCo world (perception.sim.world) and the Gazebo world (perception.sim.sdf) are both
written from these lists, so the layout of racks, shelves, cartons, pallets, loads and walls is
worked out once, here. Nothing here needs MuJoCo or ROS.
"""

from dataclasses import dataclass
import hashlib
import math
from typing import List, Optional, Sequence, Tuple

from perception.sim.scenario import Obstacle, Scenario
from perception.sim.shapes import Primitive

#: The physics step of both simulated worlds (s).
PHYSICS_DT = 0.002
#: The robot's body rides this high above the floor (m), and weighs this much (kg).
CHASSIS_CLEARANCE = 0.05
ROBOT_MASS = 80.0
#: Height of the warehouse's ceiling (m).
CEILING_HEIGHT = 7.0
#: Posts of a rack are square, this wide (m).
RACK_POST = 0.1
#: A carton is this long along its rack (m); a rack holds one per this much of its length.
CARTON_LENGTH = 0.56
CARTON_PITCH = 0.7


@dataclass(frozen=True)
class Light:
    """A lamp under the ceiling, shining down."""

    name: str
    position: Tuple[float, float, float]
    direction: Tuple[float, float, float]
    diffuse: Tuple[float, float, float]
    #: Constant, linear and quadratic attenuation.
    attenuation: Tuple[float, float, float] = (1.0, 0.02, 0.0)
    #: Half angle of the cone (rad) and the fall-off exponent inside it: MuJoCo's spotlight.
    cutoff: float = math.radians(45.0)
    exponent: float = 10.0


@dataclass(frozen=True)
class Lighting:
    """Lamps and the light that falls everywhere, scaled by the scenario's light level."""

    lights: Tuple[Light, ...]
    ambient: Tuple[float, float, float]
    #: MuJoCo's headlight lights whatever the camera looks at; other simulators approximate it.
    headlight: Tuple[float, float, float]


def shade(name: str, base: Sequence[float], spread: float = 0.15) -> Tuple[float, float, float]:
    """Return a colour near base, fixed by a name: clutter differs but is reproducible."""
    digest = hashlib.sha256(name.encode()).digest()
    return tuple(min(1.0, max(0.0, c + spread * (digest[i] / 127.5 - 1)))
                 for i, c in enumerate(base))


def _rgba(rgb: Sequence[float]) -> Tuple[float, float, float, float]:
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]), 1.0)


def _local(obstacle: Obstacle, x: float, y: float) -> Tuple[float, float]:
    c, s = math.cos(obstacle.yaw), math.sin(obstacle.yaw)
    return obstacle.center[0] + c * x - s * y, obstacle.center[1] + s * x + c * y


def shelf_heights(rack: Obstacle) -> List[float]:
    """Return the heights of a rack's beams: the lowest spans the lidar's height, as a rack's."""
    lz = rack.size[2]
    return [0.25] + [0.25 + (lz - 0.35) * (k + 1) / rack.levels for k in range(rack.levels)]


def obstacle_primitives(o: Obstacle) -> List[Primitive]:
    """Return the shapes of one static object, cartons on a rack's levels included."""
    lx, ly, lz = o.size
    yaw = (0.0, 0.0, o.yaw)
    out = []
    if o.kind == 'rack':
        post = RACK_POST
        for i, (sx, sy) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1))):
            px, py = _local(o, sx * (lx / 2 - post / 2), sy * (ly / 2 - post / 2))
            out.append(Primitive(o.name, f'post{i}', 'box', (px, py, lz / 2), (post, post, lz),
                                 (0.15, 0.25, 0.55, 1.0), yaw))
        heights = shelf_heights(o)
        for k, h in enumerate(heights):
            colour = _rgba(o.color if k else (0.9, 0.45, 0.1))
            out.append(Primitive(o.name, f'shelf{k}', 'box', (*o.center, h),
                                 (lx, ly, 0.1 if k == 0 else 0.04), colour, yaw))
        slots = max(1, int(lx / CARTON_PITCH))
        for k, h in enumerate(heights[:-1]):  # cartons on each level
            for j in range(slots):
                name = f'{o.name}:{k}:{j}'
                fill = int(hashlib.sha256(name.encode()).digest()[0]) / 255
                if fill < 0.25:
                    continue
                gap = heights[k + 1] - h
                bh = min(0.45, gap - 0.1) * (0.6 + 0.4 * fill)
                cx, cy = _local(o, -lx / 2 + (j + 0.5) * lx / slots, 0)
                # Each carton is an object of its own (class box): it looks like one.
                out.append(Primitive(f'{o.name}~carton{k}_{j}', 'body', 'box',
                                     (cx, cy, h + 0.05 + bh / 2),
                                     (CARTON_LENGTH, ly - 0.16, bh),
                                     _rgba(shade(name, (0.65, 0.5, 0.3))), yaw, solid=False))
    elif o.kind == 'pallet':
        out.append(Primitive(o.name, 'deck', 'box', (*o.center, lz / 2), (lx, ly, lz),
                             _rgba(o.color), yaw))
        if o.load_height > 0:
            out.append(Primitive(o.name, 'load', 'box', (*o.center, lz + o.load_height / 2),
                                 (lx - 0.06, ly - 0.06, o.load_height),
                                 _rgba(shade(o.name, (0.7, 0.55, 0.35))), yaw))
    else:  # box, wall
        out.append(Primitive(o.name, 'body', 'box', (*o.center, lz / 2), (lx, ly, lz),
                             _rgba(o.color), yaw))
    return out


def floor_and_ceiling(scenario: Scenario) -> List[Primitive]:
    """Return the floor and the ceiling: planes over the scenario's floor, never solid."""
    (x0, x1), (y0, y1) = scenario.floor
    centre, extent = ((x0 + x1) / 2, (y0 + y1) / 2), (x1 - x0, y1 - y0)
    return [Primitive('', 'floor', 'plane', (*centre, 0.0), extent, (0.525, 0.525, 0.495, 1.0),
                      solid=False, material='floor'),
            Primitive('', 'ceiling', 'plane', (*centre, CEILING_HEIGHT), extent,
                      (0.32, 0.32, 0.34, 1.0), (math.pi, 0.0, 0.0), solid=False)]


def static_primitives(scenario: Scenario) -> List[Primitive]:
    """Return every static shape of a scenario's world, object by object, in file order."""
    return [p for o in scenario.obstacles for p in obstacle_primitives(o)]


def lighting(scenario: Scenario, level: Optional[float] = None) -> Lighting:
    """Return the lamps along the floor and the ambient light, at a level (the scenario's)."""
    (x0, x1), (y0, y1) = scenario.floor
    level = scenario.light_level if level is None else level
    count = max(2, int((x1 - x0) / 8) + 1)
    xs = [x0 + (x1 - x0) * i / (count - 1) for i in range(count)]
    lights = tuple(Light(f'lamp{i}', (x, (y0 + y1) / 2, CEILING_HEIGHT - 1.0), (0.0, 0.0, -1.0),
                         (0.35 * level, 0.35 * level, 0.33 * level))
                   for i, x in enumerate(xs))
    return Lighting(lights, (0.25 * level,) * 3, (0.3 * level,) * 3)
