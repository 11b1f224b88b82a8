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

"""Pieces of MJCF text and MuJoCo orientations, without MuJoCo: shared by the world and actors."""

import math
from typing import Sequence

import numpy as np

from perception.sim.shapes import Primitive, quaternion


def color(rgb: Sequence[float], alpha: float = 1.0) -> str:
    """Return an MJCF rgba attribute value."""
    return f'{rgb[0]:.3f} {rgb[1]:.3f} {rgb[2]:.3f} {alpha:.3f}'


def rgb(values: Sequence[float]) -> str:
    """Return an MJCF colour without alpha (lights, the headlight)."""
    return ' '.join(f'{v:.3f}' for v in values[:3])


def _numbers(values: Sequence[float], digits: int = 4) -> str:
    return ' '.join(f'{v:.{digits}f}' for v in values)


def half_size(shape: Primitive) -> Sequence[float]:
    """Return a primitive's size as MuJoCo takes it: half extents and half lengths."""
    size = shape.size
    if shape.shape == 'box':
        return [s / 2 for s in size]
    if shape.shape in ('capsule', 'cylinder'):
        return size[0], size[1] / 2
    if shape.shape == 'plane':
        return size[0] / 2, size[1] / 2, 0.1  # the third: grid spacing when drawn
    return size[:1]  # sphere


def geom(shape: Primitive) -> str:
    """Return the MJCF geom of a primitive shape."""
    look = (f'material="{shape.material}"' if shape.material
            else f'rgba="{color(shape.rgba[:3], shape.rgba[3])}"')
    contype = 1 if shape.solid else 0
    return (f'<geom name="{shape.name}" type="{shape.shape}" pos="{_numbers(shape.position)}" '
            f'size="{_numbers(half_size(shape))}" quat="{_numbers(quaternion(shape.rpy), 6)}" '
            f'{look} contype="{contype}" conaffinity="{contype}"/>')


def quat(yaw: float, pitch: float = 0.0) -> np.ndarray:
    """Quaternion (w, x, y, z) of a yaw about z followed by a pitch about the new y."""
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    return np.array([cy * cp, -sy * sp, cy * sp, sy * cp])
