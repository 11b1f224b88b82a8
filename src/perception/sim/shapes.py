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

"""Primitive shapes, the words both simulated worlds are written in; nothing here needs MuJoCo."""

from dataclasses import dataclass
import math
from typing import Sequence, Tuple


@dataclass(frozen=True)
class Primitive:
    """
    One shape of the world: a box, sphere, capsule, cylinder or plane.

    `size` is the full extent along x, y, z for a box; the radius for a sphere; the radius and
    the length of the straight part (along the shape's z) for a capsule or a cylinder; the extent
    along x and y for a plane (its normal is its z). `rpy` turns the shape about fixed axes: roll
    about x, then pitch about y, then yaw about z (SDF's convention).
    """

    obj: str                 # the object it belongs to (segmentation and ground truth)
    part: str                # its name within the object
    shape: str               # box | sphere | capsule | cylinder | plane
    position: Tuple[float, float, float]
    size: Tuple[float, ...]
    rgba: Tuple[float, float, float, float]
    rpy: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    solid: bool = True       # the robot collides with it
    material: str = ''       # a named material of the MuJoCo world (the floor's texture)

    @property
    def name(self) -> str:
        """Return the name of its MuJoCo geom (obj:<object>:<part>)."""
        return f'obj:{self.obj}:{self.part}' if self.obj else self.part


def quaternion(rpy: Sequence[float]) -> Tuple[float, float, float, float]:
    """Return the unit quaternion, w first, of roll, pitch and yaw about fixed x, y, z axes."""
    (cr, sr), (cp, sp), (cy, sy) = ((math.cos(a / 2), math.sin(a / 2)) for a in rpy)
    return (cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy)
