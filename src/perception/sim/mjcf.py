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


def color(rgb: Sequence[float], alpha: float = 1.0) -> str:
    """Return an MJCF rgba attribute value."""
    return f'{rgb[0]:.3f} {rgb[1]:.3f} {rgb[2]:.3f} {alpha:.3f}'


def box(name: str, center: Sequence[float], half: Sequence[float], rgba: str, yaw: float = 0.0,
        contype: int = 1) -> str:
    """Return a box geom: centre, half extents, yaw about z."""
    return (f'<geom name="{name}" type="box" pos="{center[0]:.4f} {center[1]:.4f} '
            f'{center[2]:.4f}" size="{half[0]:.4f} {half[1]:.4f} {half[2]:.4f}" '
            f'euler="0 0 {yaw:.5f}" rgba="{rgba}" contype="{contype}" conaffinity="{contype}"/>')


def quat(yaw: float, pitch: float = 0.0) -> np.ndarray:
    """Quaternion (w, x, y, z) of a yaw about z followed by a pitch about the new y."""
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    return np.array([cy * cp, -sy * sp, cy * sp, sy * cp])
