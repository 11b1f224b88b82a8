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
The protective field of a moving robot, and the obstacle points tested against it.

The field is the robot's footprint swept along the path it would take while stopping: at speed
v it keeps going for the response time T, then brakes at a: D(v) = v*T + v^2 / (2a), plus a
margin C around the footprint (the ISO 13855 form S = K*T + C, with braking added). Turning,
the footprint follows the arc of the current curvature; turning on the spot, it sweeps the angle
it turns through before it stops. The slow field extends the same sweep by a further distance.
"""

from dataclasses import dataclass
import math
from typing import Tuple

import numpy as np

Pose = Tuple[float, float, float]


@dataclass(frozen=True)
class FieldConfig:
    """The robot and its braking, as the field needs them."""

    length: float = 0.7
    width: float = 0.5
    response_time: float = 0.15    # s from an obstacle appearing to the base braking
    decel: float = 1.5             # m/s^2 the base is guaranteed to brake with
    yaw_decel: float = 3.0         # rad/s^2 likewise for turning
    margin: float = 0.1            # m added ahead of, behind and beside the footprint
    slow_extra: float = 1.0        # m the slow field reaches beyond the stop field
    sample_spacing: float = 0.1    # m between footprints along the sweep

    def stopping_distance(self, speed: float) -> float:
        """Distance travelled from now until standstill at |speed| (without the margin)."""
        v = abs(speed)
        return v * self.response_time + v * v / (2 * self.decel)

    def stopping_angle(self, yaw_rate: float) -> float:
        """Angle turned from now until the turn stops."""
        w = abs(yaw_rate)
        return w * self.response_time + w * w / (2 * self.yaw_decel)


@dataclass(frozen=True)
class Field:
    """Rectangles (x, y, yaw, half length, half width) whose union is a zone."""

    stop: np.ndarray   # shape (K, 5)
    slow: np.ndarray   # shape (M, 5)
    length: float      # stop distance ahead along the path, margin excluded


def _sweep(config: FieldConfig, speed: float, yaw_rate: float, distance: float,
           margin: float, lateral: float) -> np.ndarray:
    """Footprint rectangles along the path of `distance` metres at the current curvature."""
    direction = 1.0 if speed >= 0 else -1.0
    half_l = config.length / 2 + margin
    half_w = config.width / 2 + lateral
    if abs(speed) < 0.05 and abs(yaw_rate) > 1e-3:
        # Turning on the spot: the footprint rotates through the stopping angle.
        angle = config.stopping_angle(yaw_rate) + distance / max(config.length, 0.1)
        count = max(2, int(math.ceil(angle / math.radians(5))) + 1)
        thetas = np.linspace(0.0, math.copysign(angle, yaw_rate), count)
        return np.column_stack([np.zeros(count), np.zeros(count), thetas,
                                np.full(count, half_l), np.full(count, half_w)])
    count = max(2, int(math.ceil(distance / config.sample_spacing)) + 1)
    s = np.linspace(0.0, distance, count) * direction
    curvature = yaw_rate / speed if abs(speed) >= 0.05 else 0.0
    if abs(curvature) < 1e-6:
        xs, ys, thetas = s, np.zeros(count), np.zeros(count)
    else:
        thetas = curvature * s
        xs = np.sin(thetas) / curvature
        ys = (1 - np.cos(thetas)) / curvature
    return np.column_stack([xs, ys, thetas, np.full(count, half_l), np.full(count, half_w)])


def protective_field(config: FieldConfig, speed: float, yaw_rate: float,
                     extra_margin: float = 0.0) -> Field:
    """Return the stop and slow zones at (speed, yaw_rate), in the robot's frame."""
    distance = config.stopping_distance(speed)
    margin = config.margin + extra_margin
    stop = _sweep(config, speed, yaw_rate, distance, margin, margin)
    slow = _sweep(config, speed if abs(speed) >= 0.05 else 0.0, yaw_rate,
                  distance + config.slow_extra, margin, margin + config.slow_extra / 2)
    return Field(stop, slow, distance)


def bounds(rectangles: np.ndarray) -> Tuple[float, float, float, float]:
    """Axis-aligned box (x min, y min, x max, y max) around the rectangles (K, 5), K > 0."""
    c, s = np.abs(np.cos(rectangles[:, 2])), np.abs(np.sin(rectangles[:, 2]))
    ex = c * rectangles[:, 3] + s * rectangles[:, 4]
    ey = s * rectangles[:, 3] + c * rectangles[:, 4]
    return (float((rectangles[:, 0] - ex).min()), float((rectangles[:, 1] - ey).min()),
            float((rectangles[:, 0] + ex).max()), float((rectangles[:, 1] + ey).max()))


def inside(rectangles: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Boolean mask of the points (N, 2) that fall in any of the rectangles (K, 5)."""
    if len(points) == 0 or len(rectangles) == 0:
        return np.zeros(len(points), bool)
    # Most points (the remembered ones up to metres away) lie outside the zone's box: only
    # those within it (and a hair more, for rounding) take the K x N test.
    x0, y0, x1, y1 = bounds(rectangles)
    near = (points[:, 0] >= x0 - 1e-6) & (points[:, 0] <= x1 + 1e-6) & \
        (points[:, 1] >= y0 - 1e-6) & (points[:, 1] <= y1 + 1e-6)
    mask = np.zeros(len(points), bool)
    if near.any():
        mask[near] = _inside_any(rectangles, points[near])
    return mask


def _inside_any(rectangles: np.ndarray, points: np.ndarray) -> np.ndarray:
    dx = points[None, :, 0] - rectangles[:, 0, None]
    dy = points[None, :, 1] - rectangles[:, 1, None]
    c, s = np.cos(rectangles[:, 2, None]), np.sin(rectangles[:, 2, None])
    u = c * dx + s * dy
    v = -s * dx + c * dy
    return ((np.abs(u) <= rectangles[:, 3, None]) & (np.abs(v) <= rectangles[:, 4, None])).any(0)


def zone_samples(rectangles: np.ndarray, spacing: float) -> np.ndarray:
    """Points (N, 2) of a zone: a grid of the given spacing, and its rectangles' outlines."""
    if not len(rectangles):
        return np.zeros((0, 2))
    outline = []
    for x, y, yaw, half_l, half_w in rectangles:
        # Along each edge, a hair inside it so that the test below keeps the points.
        u = np.linspace(-1, 1, max(2, int(math.ceil(2 * half_l / spacing)) + 1)) * half_l
        v = np.linspace(-1, 1, max(2, int(math.ceil(2 * half_w / spacing)) + 1)) * half_w
        edge_l, edge_w = np.full(len(v), half_l), np.full(len(u), half_w)
        local = np.vstack([np.column_stack([u, edge_w]), np.column_stack([u, -edge_w]),
                           np.column_stack([edge_l, v]), np.column_stack([-edge_l, v])])
        local *= 1 - 1e-6
        c, s = math.cos(yaw), math.sin(yaw)
        outline.append(np.column_stack([x + c * local[:, 0] - s * local[:, 1],
                                        y + s * local[:, 0] + c * local[:, 1]]))
    corners = np.vstack(outline)
    low, high = corners.min(0), corners.max(0)
    xs = np.arange(low[0], high[0] + spacing, spacing)
    ys = np.arange(low[1], high[1] + spacing, spacing)
    grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    candidates = np.vstack([grid, corners])
    return candidates[inside(rectangles, candidates)]


def footprint_distance(config: FieldConfig, points: np.ndarray) -> np.ndarray:
    """Distance of each point (N, 2) from the robot's footprint (0 inside it)."""
    dx = np.maximum(np.abs(points[:, 0]) - config.length / 2, 0.0)
    dy = np.maximum(np.abs(points[:, 1]) - config.width / 2, 0.0)
    return np.hypot(dx, dy)


def transform(points: np.ndarray, pose: Pose) -> np.ndarray:
    """Points (N, 2) from a frame at pose (x, y, yaw) into its parent frame."""
    c, s = math.cos(pose[2]), math.sin(pose[2])
    return np.column_stack([pose[0] + c * points[:, 0] - s * points[:, 1],
                            pose[1] + s * points[:, 0] + c * points[:, 1]])


def config_problem(config: FieldConfig, max_speed: float, max_field_length: float) -> str:
    """Say why a configuration cannot protect the robot at its maximum speed, or ''."""
    needed = config.stopping_distance(max_speed) + config.margin
    if needed > max_field_length:
        return (f'at the maximum speed {max_speed:g} m/s the robot needs {needed:.2f} m to stop '
                f'(response {config.response_time:g} s, braking {config.decel:g} m/s^2, margin '
                f'{config.margin:g} m), but the stop field may reach only {max_field_length:g} '
                'm (max_field_length_m): lower max_speed or extend the sensing')
    if config.decel <= 0 or config.response_time < 0:
        return 'decel must be positive and response_time not negative'
    return ''
