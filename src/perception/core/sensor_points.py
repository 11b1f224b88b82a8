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

"""Sensor readings as obstacle points on the floor plane of the robot's base frame."""

from dataclasses import dataclass
import math
from typing import Optional, Tuple

import numpy as np


class MalformedReading(ValueError):
    """A message whose sizes, values or encoding make no sense: the source cannot be trusted."""


@dataclass(frozen=True)
class Mount:
    """Where a sensor sits on the robot: position and roll, pitch, yaw of its frame."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    roll: float = 0.0
    pitch: float = 0.0
    yaw: float = 0.0

    def rotation(self) -> np.ndarray:
        """Rotation matrix from the sensor frame to the base frame."""
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                         [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                         [-sp, cp * sr, cp * cr]])


#: The optical frame (z forward, x right, y down) seen from a body frame (x forward, z up).
OPTICAL_TO_BODY = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def scan_points(ranges: np.ndarray, angle_min: float, angle_increment: float,
                range_min: float, range_max: float, mount: Mount) -> np.ndarray:
    """
    Obstacle points (N, 2) in the base frame from a LaserScan's fields.

    NaN, inf and out-of-range beams are dropped beam by beam. Sizes or angles that cannot be
    a scan raise MalformedReading.
    """
    ranges = np.asarray(ranges, dtype=np.float64)
    if ranges.ndim != 1 or len(ranges) == 0:
        raise MalformedReading('scan has no ranges')
    if not (math.isfinite(angle_min) and math.isfinite(angle_increment)) or \
            angle_increment == 0.0:
        raise MalformedReading(f'scan angle_increment is {angle_increment!r}')
    if abs(angle_increment) * (len(ranges) - 1) > 2 * math.pi + 1e-3:
        raise MalformedReading(f'{len(ranges)} beams of {angle_increment:g} rad span more than '
                               'a full turn')
    if not (math.isfinite(range_max) and range_max > 0):
        raise MalformedReading(f'scan range_max is {range_max!r}')
    angles = angle_min + angle_increment * np.arange(len(ranges)) + mount.yaw
    valid = np.isfinite(ranges) & (ranges >= max(range_min, 0.0)) & (ranges <= range_max)
    r, a = ranges[valid], angles[valid]
    return np.column_stack([mount.x + r * np.cos(a), mount.y + r * np.sin(a)])


def depth_cloud(depth: np.ndarray, intrinsics: Tuple[float, float, float, float],
                mount: Mount, stride: int = 8, max_range: float = 10.0,
                scale: float = 1.0) -> np.ndarray:
    """Points (N, 3) in the base frame from every stride-th valid pixel of a depth image."""
    rays = pixel_rays(np.shape(depth), intrinsics, mount, stride)
    z = np.asarray(depth)[::stride, ::stride].astype(np.float64) * scale
    valid = (z > 0) & (z <= max_range)  # NaN compares false
    z = z[valid]
    return np.column_stack([rays[0][valid] * z + mount.x, rays[1][valid] * z + mount.y,
                            rays[2][valid] * z + mount.z])


def pixel_rays(shape: Tuple[int, ...], intrinsics: Tuple[float, float, float, float],
               mount: Mount, stride: int = 1) -> np.ndarray:
    """
    Rays (3, rows, columns) in the base frame through every stride-th pixel of an image.

    The pixel at depth z (along the optical axis) sees the point mount + z * ray. Intrinsics
    without a focal length raise MalformedReading.
    """
    fx, fy, cx, cy = intrinsics
    if not (fx > 0 and fy > 0):
        raise MalformedReading('depth camera_info has no focal length (uncalibrated)')
    rotation = mount.rotation() @ OPTICAL_TO_BODY
    # The optical ray (x/z, y/z, 1) is a column term plus a row term: two small vectors.
    u = (np.arange(0, shape[1], stride) - cx) / fx
    v = (np.arange(0, shape[0], stride) - cy) / fy
    return (rotation[:, 0, None, None] * u[None, None, :] +
            rotation[:, 1, None, None] * v[None, :, None] + rotation[:, 2, None, None])


def ground_point(u: float, v: float, intrinsics: Tuple[float, float, float, float],
                 mount: Mount) -> Optional[Tuple[float, float]]:
    """
    Where the ray through pixel (u, v) meets the floor, in the base frame; None above horizon.

    Used for a person's box: the middle of its bottom edge is where the feet touch the floor.
    """
    fx, fy, cx, cy = intrinsics
    if not (fx > 0 and fy > 0):
        return None
    ray = (mount.rotation() @ OPTICAL_TO_BODY) @ np.array([(u - cx) / fx, (v - cy) / fy, 1.0])
    if ray[2] >= -1e-6 or mount.z <= 0:
        return None
    t = -mount.z / ray[2]
    return float(mount.x + t * ray[0]), float(mount.y + t * ray[1])


DEPTH_SCALES = {'32FC1': 1.0, '16UC1': 0.001}  # to metres


def depth_scale(encoding: str) -> float:
    """Metres per unit of a depth encoding; MalformedReading for anything else."""
    if encoding not in DEPTH_SCALES:
        raise MalformedReading(f'encoding {encoding!r}, expected 32FC1 or 16UC1')
    return DEPTH_SCALES[encoding]


def feet_on_floor(u: float, v_bottom: float, image_height: int,
                  intrinsics: Tuple[float, float, float, float],
                  mount: Mount) -> Tuple[Optional[Tuple[float, float]], bool]:
    """
    Where a person whose box bottom is at pixel (u, v_bottom) stands, in the base frame.

    Returns (point, cut_off): cut_off is True when the box reaches the image's bottom edge, so
    the feet are out of view and the person is nearer than the floor the camera sees.
    """
    if image_height and v_bottom >= image_height - 2:
        return None, True
    return ground_point(u, v_bottom, intrinsics, mount), False
