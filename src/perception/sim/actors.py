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
The kinds of actor a scenario can place (people, forklifts), each declared once, here.

An ActorType says everything about its kind: the speed, colour and height a scenario may leave
out, the class ground truth gives it, its footprint for distances, how its MuJoCo bodies are
built and moved, and how a run's plan picture draws it. scenario.py refuses a `type` that is
not in ACTOR_TYPES, and no other module names actor kinds: a new kind is one entry here.

Nothing here needs MuJoCo: bodies are MJCF text and motion is a list of mocap body poses,
which perception.sim.world applies.
"""

from dataclasses import dataclass
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from perception.core import geometry
from perception.sim.mjcf import box, color, quat

Point = Tuple[float, float]
Pose = Tuple[float, float, float]  # x, y, heading
#: A mocap body's name, its position and its orientation (w, x, y, z).
BodyPose = Tuple[str, Tuple[float, float, float], np.ndarray]


@dataclass(frozen=True)
class ActorType:
    """One kind of actor and everything the simulation and the reports need about it."""

    name: str  # the scenario's `type`
    detection_class: str  # its class in ground truth; one type per class
    speed: float  # m/s, when the scenario gives none
    color: Tuple[float, float, float]  # RGB, when the scenario gives none
    height: float  # metres
    #: Heights a scenario may choose from; None: the height is fixed by the model.
    height_range: Optional[Tuple[float, float]]
    plan_color: Tuple[int, int, int]  # BGR in plan.png
    plan_legend: str  # how the plan's legend names it
    #: Footprint on the floor at a pose, for distances from the robot.
    footprint: Callable[[Pose], List[Point]]
    #: MJCF bodies of an actor (a perception.sim.scenario.Actor), all mocap: the world moves
    #: them kinematically.
    bodies: Callable[[Any], List[str]]
    #: Poses of an actor's mocap bodies at a pose, after walking or driving `travelled`
    #: metres; moving says whether it is under way now.
    body_poses: Callable[[Any, Pose, float, bool], List[BodyPose]]


def main_body(actor) -> str:
    """Name of an actor's main mocap body."""
    return f'actor:{actor.name}'


def _at_pose(actor, pose: Pose) -> List[BodyPose]:
    x, y, yaw = pose
    return [(main_body(actor), (x, y, 0.0), quat(yaw))]


# --- people ----------------------------------------------------------------------------------

#: Limbs: name, length (share of the height), radius (m), offset to the left (m), height of the
#: hip or shoulder (share of the height), swing direction.
PERSON_LIMBS = (
    ('leg_l', 0.48, 0.07, 0.1, 0.5, 1), ('leg_r', 0.48, 0.07, -0.1, 0.5, -1),
    ('arm_l', 0.34, 0.05, 0.24, 0.76, -1), ('arm_r', 0.34, 0.05, -0.24, 0.76, 1))
STRIDE = 1.4  # metres walked per full swing of the limbs


def _person_footprint(pose: Pose) -> List[Point]:
    return geometry.circle_polygon((pose[0], pose[1]), 0.3, 10)


def _person_bodies(a) -> List[str]:
    """Build a person: torso and head in one mocap body, each limb in one of its own."""
    p, h = f'obj:{a.name}:', a.height
    skin, trousers = '0.85 0.65 0.5 1', '0.2 0.2 0.25 1'
    torso = (f'<body name="{main_body(a)}" mocap="true" pos="{a.path[0][0]} {a.path[0][1]} 0">'
             f'<geom name="{p}torso" type="capsule" fromto="0 0 {0.53 * h:.3f} 0 0 '
             f'{0.78 * h:.3f}" size="0.17" rgba="{color(a.color)}"/>'
             f'<geom name="{p}head" type="sphere" pos="0 0 {0.9 * h:.3f}" size="0.11" '
             f'rgba="{skin}"/></body>')
    limbs = []
    for limb, length, radius, _side, _z, _sign in PERSON_LIMBS:
        rgba = trousers if limb.startswith('leg') else color(a.color)
        limbs.append(f'<body name="limb:{a.name}:{limb}" mocap="true" pos="0 0 0">'
                     f'<geom name="{p}{limb}" type="capsule" fromto="0 0 0 0 0 '
                     f'{-length * h:.3f}" size="{radius}" rgba="{rgba}"/></body>')
    return [torso] + limbs


def _person_poses(a, pose: Pose, travelled: float, moving: bool) -> List[BodyPose]:
    x, y, yaw = pose
    # Limbs swing with the distance walked, and hang still when the person stands.
    swing = 0.45 * math.sin(2 * math.pi * travelled / STRIDE) if moving else 0.0
    c, s = math.cos(yaw), math.sin(yaw)
    out = _at_pose(a, pose)
    for limb, _length, _radius, side, z, sign in PERSON_LIMBS:
        out.append((f'limb:{a.name}:{limb}', (x - s * side, y + c * side, z * a.height),
                    quat(yaw, sign * swing)))
    return out


# --- forklifts -------------------------------------------------------------------------------

FORKLIFT_REACH = 0.55  # the footprint's centre lies this far ahead of the body's origin


def _forklift_footprint(pose: Pose) -> List[Point]:
    x, y, yaw = pose
    return geometry.rectangle((x + FORKLIFT_REACH * math.cos(yaw),
                               y + FORKLIFT_REACH * math.sin(yaw)), 3.2, 1.2, yaw)


def _forklift_bodies(a) -> List[str]:
    """Build a forklift: chassis, counterweight, mast, forks, overhead guard, in one body."""
    p = f'obj:{a.name}:'
    c = color(a.color)
    geoms = [
        box(f'{p}chassis', (0, 0, 0.55), (0.9, 0.55, 0.35), c),
        box(f'{p}counterweight', (-0.8, 0, 0.75), (0.15, 0.55, 0.45), c),
        box(f'{p}seat', (-0.3, 0, 1.05), (0.25, 0.25, 0.15), '0.1 0.1 0.1 1'),
        box(f'{p}mast_l', (0.95, 0.35, 1.2), (0.05, 0.06, 1.0), '0.2 0.2 0.2 1'),
        box(f'{p}mast_r', (0.95, -0.35, 1.2), (0.05, 0.06, 1.0), '0.2 0.2 0.2 1'),
        box(f'{p}fork_l', (1.5, 0.3, 0.1), (0.55, 0.06, 0.025), '0.25 0.25 0.25 1'),
        box(f'{p}fork_r', (1.5, -0.3, 0.1), (0.55, 0.06, 0.025), '0.25 0.25 0.25 1'),
        box(f'{p}roof', (-0.2, 0, 2.15), (0.6, 0.55, 0.03), '0.2 0.2 0.2 1'),
    ]
    for i, (x, y) in enumerate(((0.3, 0.5), (0.3, -0.5), (-0.7, 0.5), (-0.7, -0.5))):
        geoms.append(box(f'{p}guard{i}', (x, y, 1.55), (0.03, 0.03, 0.6), '0.2 0.2 0.2 1'))
    for i, (x, y) in enumerate(((0.6, 0.5), (0.6, -0.5), (-0.6, 0.5), (-0.6, -0.5))):
        geoms.append(f'<geom name="{p}wheel{i}" type="cylinder" pos="{x} {y} 0.25" '
                     f'euler="1.5708 0 0" size="0.25 0.1" rgba="0.05 0.05 0.05 1"/>')
    return [f'<body name="{main_body(a)}" mocap="true" pos="{a.path[0][0]} {a.path[0][1]} 0">'
            + ''.join(geoms) + '</body>']


def _forklift_poses(a, pose: Pose, _travelled: float, _moving: bool) -> List[BodyPose]:
    return _at_pose(a, pose)  # one rigid body


ACTOR_TYPES: Dict[str, ActorType] = {t.name: t for t in (
    ActorType('person', 'person', speed=1.2, color=(0.2, 0.3, 0.8), height=1.75,
              height_range=(1.0, 2.2), plan_color=(40, 40, 220), plan_legend='people (red)',
              footprint=_person_footprint, bodies=_person_bodies, body_poses=_person_poses),
    ActorType('forklift', 'forklift', speed=1.5, color=(0.95, 0.7, 0.1), height=2.2,
              height_range=None, plan_color=(0, 190, 240), plan_legend='forklifts (yellow)',
              footprint=_forklift_footprint, bodies=_forklift_bodies,
              body_poses=_forklift_poses),
)}


def known_types(names: Sequence[str] = ()) -> str:
    """Name the actor types in a sentence: 'person or forklift'."""
    names = list(names or ACTOR_TYPES)
    return names[0] if len(names) == 1 else f'{", ".join(names[:-1])} or {names[-1]}'


def actor_type(name: str) -> ActorType:
    """Return a registered actor type; ValueError names the known ones."""
    try:
        return ACTOR_TYPES[name]
    except (KeyError, TypeError):
        raise ValueError(f'unknown actor type {name!r}; must be {known_types()}') from None


def by_class(detection_class: str) -> Optional[ActorType]:
    """Return the actor type whose objects have this class in ground truth, or None."""
    return next((t for t in ACTOR_TYPES.values() if t.detection_class == detection_class), None)
