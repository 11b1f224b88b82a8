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
What the safety gate has seen, kept in the odom frame until a sensor sees the place clear.

The sensors do not see everything around the robot: a low object drops out of the depth
camera's view as the robot closes in, and no lidar plane passes over it. The gate therefore
decides on a memory, not on the newest readings alone. Obstacles are kept as columns in cells of
the floor (odom frame): where in the cell the points were, the lowest and highest obstacle point
seen in it, how many points. Each new reading first forgets the columns it sees through (only a
sensor that can see a column's heights may clear it: see perception.core.readings) and then
adds its own obstacles. A column that no sensor covers any more stays, for as long as the robot
stays within `radius` of it, and keeps counting in every decision.
"""

from dataclasses import dataclass
import math
from typing import Callable, Tuple

import numpy as np

Pose = Tuple[float, float, float]


@dataclass(frozen=True)
class MemoryConfig:
    """Cell size and how far from the robot the memory reaches."""

    resolution: float = 0.05
    radius: float = 6.0


def to_base(points: np.ndarray, pose: Pose) -> np.ndarray:
    """Odom points (N, 2+) into the base frame of a robot at pose."""
    c, s = math.cos(pose[2]), math.sin(pose[2])
    dx, dy = points[:, 0] - pose[0], points[:, 1] - pose[1]
    return np.column_stack([c * dx + s * dy, -s * dx + c * dy])


def to_odom(points: np.ndarray, pose: Pose) -> np.ndarray:
    """Base-frame points (N, 2+) into odom for a robot at pose."""
    c, s = math.cos(pose[2]), math.sin(pose[2])
    return np.column_stack([pose[0] + c * points[:, 0] - s * points[:, 1],
                            pose[1] + s * points[:, 0] + c * points[:, 1]])


#: Cell indices are offset by this to pack a cell into one int64 (x high, y low): np.unique
#: on one int64 column is many times faster than on rows, and sorts the cells the same way.
_OFFSET = 1 << 30


def _codes(keys: np.ndarray) -> np.ndarray:
    """Pack cell indices (N, 2) into int64 codes ordered as the rows are."""
    keys = np.clip(keys, 1 - _OFFSET, _OFFSET - 1)  # 50,000 km at 5 cm: never reached
    return ((keys[:, 0] + _OFFSET) << 32) + (keys[:, 1] + _OFFSET)


def _keys(codes: np.ndarray) -> np.ndarray:
    """Unpack _codes()."""
    return np.column_stack([(codes >> 32) - _OFFSET, (codes & 0xFFFFFFFF) - _OFFSET])


class ObstacleMemory:
    """Obstacle columns on a grid of the odom frame."""

    def __init__(self, config: MemoryConfig = MemoryConfig()):
        self.config = config
        self.keys = np.zeros((0, 2), np.int64)    # cell indices
        self.xy = np.zeros((0, 2))                # mean of the newest points in the cell (odom)
        self.zmin = np.zeros(0)
        self.zmax = np.zeros(0)
        self.count = np.zeros(0, np.int64)        # points of the last reading that hit it
        self.stamp = np.zeros(0)                  # when it was last seen
        self.origin = np.zeros(0, np.int64)       # which source saw it last (the caller's index)

    def __len__(self) -> int:
        return len(self.keys)

    def update(self, points: np.ndarray, pose: Pose, stamp: float,
               sees_free: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
               origin: int = 0) -> int:
        """
        Fold in one reading: points (N, 3) in the base frame of a robot at pose (odom).

        sees_free(xy, zmin, zmax) answers, for remembered columns in that same base frame, which
        ones the reading sees through; origin tags the columns the reading adds. Returns how
        many columns were forgotten.
        """
        forgotten = 0
        if len(self.keys):
            local = to_base(self.xy, pose)
            clear = np.asarray(sees_free(local, self.zmin, self.zmax), bool)
            far = np.hypot(local[:, 0], local[:, 1]) > self.config.radius
            drop = clear | far
            forgotten = int(clear.sum())
            if drop.any():
                self._keep(~drop)
        if len(points):
            self._add(to_odom(points, pose), points[:, 2], stamp, origin)
        return forgotten

    def _keep(self, mask: np.ndarray) -> None:
        self.keys, self.xy = self.keys[mask], self.xy[mask]
        self.zmin, self.zmax = self.zmin[mask], self.zmax[mask]
        self.count, self.stamp = self.count[mask], self.stamp[mask]
        self.origin = self.origin[mask]

    def _add(self, xy: np.ndarray, z: np.ndarray, stamp: float, origin: int) -> None:
        res = self.config.resolution
        keys = np.floor(xy / res).astype(np.int64)
        codes, inverse, counts = np.unique(_codes(keys), return_inverse=True,
                                           return_counts=True)
        keys = _keys(codes)
        inverse = inverse.reshape(-1)
        zmin = np.full(len(keys), np.inf)
        zmax = np.full(len(keys), -np.inf)
        np.minimum.at(zmin, inverse, z)
        np.maximum.at(zmax, inverse, z)
        mean = np.zeros((len(keys), 2))
        np.add.at(mean, inverse, xy)
        mean /= counts[:, None]
        # Merge with what is remembered in the same cells: the column grows to hold both.
        merged, inverse = np.unique(np.concatenate([_codes(self.keys), codes]),
                                    return_inverse=True)
        merged = _keys(merged)
        inverse = inverse.reshape(-1)
        new = (np.full(len(merged), np.inf), np.full(len(merged), -np.inf),
               np.zeros(len(merged), np.int64), np.full(len(merged), -np.inf))
        for values, target, op in ((np.concatenate([self.zmin, zmin]), new[0], np.minimum),
                                   (np.concatenate([self.zmax, zmax]), new[1], np.maximum),
                                   (np.concatenate([self.count, counts]), new[2], np.maximum),
                                   (np.concatenate([self.stamp, np.full(len(keys), stamp)]),
                                    new[3], np.maximum)):
            op.at(target, inverse, values)
        origins = np.zeros(len(merged), np.int64)
        origins[inverse[:len(self.keys)]] = self.origin
        origins[inverse[len(self.keys):]] = origin
        where = np.zeros((len(merged), 2))
        where[inverse[:len(self.keys)]] = self.xy
        where[inverse[len(self.keys):]] = mean  # the newest points say where it is
        self.xy = where
        self.keys = merged
        self.zmin, self.zmax, self.count, self.stamp = new
        self.origin = origins

    def in_base(self, pose: Pose) -> Tuple[np.ndarray, np.ndarray]:
        """Remembered columns' places (N, 2) in the base frame of a robot at pose, and counts."""
        if not len(self.keys):
            return np.zeros((0, 2)), np.zeros(0, np.int64)
        return to_base(self.xy, pose), self.count
