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
out, the class ground truth gives it, its footprint for distances, its rigid parts and their
shapes (from which the MuJoCo and the Gazebo worlds are both written), how its MuJoCo bodies are
moved, and how a run's plan picture draws it. scenario.py refuses a `type` that is
not in ACTOR_TYPES, and no other module names actor kinds: a new kind is one entry here.

Nothing here needs MuJoCo: bodies are MJCF text and motion is a list of mocap body poses,
which perception.sim.world applies.
"""

from dataclasses import dataclass
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from perception.core import geometry
from perception.sim.mjcf import geom, quat
from perception.sim.shapes import Primitive

Point = Tuple[float, float]
Pose = Tuple[float, float, float]  # x, y, heading
#: A mocap body's name, its position and its orientation (w, x, y, z).
BodyPose = Tuple[str, Tuple[float, float, float], np.ndarray]
RGBA = Tuple[float, float, float, float]


@dataclass(frozen=True)
class ActorPart:
    """One rigid part of an actor (a mocap body in MuJoCo, a link in Gazebo), at rest."""

    body: str  # the mocap body's name
    #: Where the part sits, from the actor's origin on the floor (x ahead, y left, z up).
    origin: Tuple[float, float, float]
    shapes: Tuple[Primitive, ...]  # relative to the part


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
    #: Rigid parts of an actor (a perception.sim.scenario.Actor) at rest: MuJoCo's mocap bodies,
    #: which the world moves kinematically, and Gazebo's actor links.
    parts: Callable[[Any], List[ActorPart]]
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


def _rgba(rgb) -> RGBA:
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]), 1.0)


SKIN = (0.85, 0.65, 0.5, 1.0)
TROUSERS = (0.2, 0.2, 0.25, 1.0)


def _person_parts(a) -> List[ActorPart]:
    """Build a person: torso and head in one part, each limb in one of its own."""
    h = a.height
    torso = ActorPart(main_body(a), (0.0, 0.0, 0.0), (
        Primitive(a.name, 'torso', 'capsule', (0.0, 0.0, 0.655 * h), (0.17, 0.25 * h),
                  _rgba(a.color)),
        Primitive(a.name, 'head', 'sphere', (0.0, 0.0, 0.9 * h), (0.11,), SKIN)))
    limbs = []
    for limb, length, radius, side, z, _sign in PERSON_LIMBS:
        # A limb hangs from its hip or shoulder, where its part's origin is.
        rgba = TROUSERS if limb.startswith('leg') else _rgba(a.color)
        limbs.append(ActorPart(f'limb:{a.name}:{limb}', (0.0, side, z * h), (
            Primitive(a.name, limb, 'capsule', (0.0, 0.0, -length * h / 2),
                      (radius, length * h), rgba),)))
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


def _forklift_parts(a) -> List[ActorPart]:
    """Build a forklift: chassis, counterweight, mast, forks, overhead guard, in one part."""
    c, dark, darker = _rgba(a.color), (0.2, 0.2, 0.2, 1.0), (0.25, 0.25, 0.25, 1.0)

    def box(part, center, size, rgba):
        return Primitive(a.name, part, 'box', center, size, rgba)

    shapes = [
        box('chassis', (0, 0, 0.55), (1.8, 1.1, 0.7), c),
        box('counterweight', (-0.8, 0, 0.75), (0.3, 1.1, 0.9), c),
        box('seat', (-0.3, 0, 1.05), (0.5, 0.5, 0.3), (0.1, 0.1, 0.1, 1.0)),
        box('mast_l', (0.95, 0.35, 1.2), (0.1, 0.12, 2.0), dark),
        box('mast_r', (0.95, -0.35, 1.2), (0.1, 0.12, 2.0), dark),
        box('fork_l', (1.5, 0.3, 0.1), (1.1, 0.12, 0.05), darker),
        box('fork_r', (1.5, -0.3, 0.1), (1.1, 0.12, 0.05), darker),
        box('roof', (-0.2, 0, 2.15), (1.2, 1.1, 0.06), dark),
    ]
    for i, (x, y) in enumerate(((0.3, 0.5), (0.3, -0.5), (-0.7, 0.5), (-0.7, -0.5))):
        shapes.append(box(f'guard{i}', (x, y, 1.55), (0.06, 0.06, 1.2), dark))
    for i, (x, y) in enumerate(((0.6, 0.5), (0.6, -0.5), (-0.6, 0.5), (-0.6, -0.5))):
        # A wheel's axle lies along y: the cylinder's z turned a quarter about x.
        shapes.append(Primitive(a.name, f'wheel{i}', 'cylinder', (x, y, 0.25), (0.25, 0.2),
                                (0.05, 0.05, 0.05, 1.0), (math.pi / 2, 0.0, 0.0)))
    return [ActorPart(main_body(a), (0.0, 0.0, 0.0), tuple(shapes))]


def _forklift_poses(a, pose: Pose, _travelled: float, _moving: bool) -> List[BodyPose]:
    return _at_pose(a, pose)  # one rigid body


ACTOR_TYPES: Dict[str, ActorType] = {t.name: t for t in (
    ActorType('person', 'person', speed=1.2, color=(0.2, 0.3, 0.8), height=1.75,
              height_range=(1.0, 2.2), plan_color=(40, 40, 220), plan_legend='people (red)',
              footprint=_person_footprint, parts=_person_parts, body_poses=_person_poses),
    ActorType('forklift', 'forklift', speed=1.5, color=(0.95, 0.7, 0.1), height=2.2,
              height_range=None, plan_color=(0, 190, 240), plan_legend='forklifts (yellow)',
              footprint=_forklift_footprint, parts=_forklift_parts,
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


def mjcf_bodies(actor) -> List[str]:
    """Return an actor's MJCF bodies, all mocap: perception.sim.world moves them."""
    out = []
    for part in actor_type(actor.kind).parts(actor):
        # Placed where they stand at the start before the first step; the main body at its
        # first point, the others wherever: the world sets every pose before it runs.
        start = (*actor.path[0], 0.0) if part.body == main_body(actor) else (0.0, 0.0, 0.0)
        out.append(f'<body name="{part.body}" mocap="true" '
                   f'pos="{start[0]} {start[1]} {start[2]}">'
                   + ''.join(geom(shape) for shape in part.shapes) + '</body>')
    return out
