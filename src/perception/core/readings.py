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
One reading of a range sensor, as the safety gate needs it: obstacles, coverage, free space.

Every kind of range sensor (a planar scan, a depth image, a point cloud) gives the gate the same
three things, so the decision never asks which kind it has:

- `points`: obstacle points (N, 3) in the base frame at the reading's time, z up from the floor;
- `covers(xy)`: which floor places (N, 2) the reading has valid data over (its field of view,
  range and valid beams or pixels), for the rule that every part of the stop field must be
  covered by fresh valid data from a required sensor;
- `sees_free(xy, zmin, zmax)`: which remembered obstacle columns (from zmin to zmax above the
  place) the reading sees through, so the obstacle memory forgets them. Only a sensor that can
  see a column's heights may clear it: a lidar whose plane passes over a low box cannot.
"""

import math
from typing import Optional, Tuple

import numpy as np

from perception.core.robot import Lidar, PointCloudSensor, project
from perception.core.sensor_points import depth_cloud, MalformedReading, Mount

#: A remembered obstacle is seen through when the reading's return lies this much beyond it
#: (more than half a memory cell's diagonal plus a lidar's noise) ...
FREE_MARGIN = 0.1
#: ... plus this share of its range (depth noise grows with range).
FREE_MARGIN_SHARE = 0.02
#: The same for depth images, whose rays meet the floor just behind a low object: half a cell's
#: diagonal and a little noise.
DEPTH_FREE_MARGIN = 0.05


def _bearing_range(xy: np.ndarray, mount: Mount) -> Tuple[np.ndarray, np.ndarray]:
    dx, dy = xy[:, 0] - mount.x, xy[:, 1] - mount.y
    return np.arctan2(dy, dx) - mount.yaw, np.hypot(dx, dy)


class ScanReading:
    """A sensor_msgs/LaserScan's fields from a lidar of the robot description."""

    def __init__(self, ranges: np.ndarray, angle_min: float, angle_max: float,
                 angle_increment: float, range_min: float, range_max: float, lidar: Lidar,
                 max_gap_deg: float = 3.0):
        ranges = np.asarray(ranges, dtype=np.float64)
        if ranges.ndim != 1 or len(ranges) == 0:
            raise MalformedReading('scan has no ranges')
        if not all(math.isfinite(v) for v in (angle_min, angle_max, angle_increment)) or \
                angle_increment == 0.0:
            raise MalformedReading(f'scan angles are not finite or angle_increment is 0 '
                                   f'({angle_min!r}, {angle_max!r}, {angle_increment!r})')
        # A scan holds one range per angle from angle_min to angle_max; some drivers count the
        # end angle inclusively and some not, so one beam either way is accepted.
        expected = (angle_max - angle_min) / angle_increment + 1
        if expected < 1 or abs(len(ranges) - expected) > 1.01:
            raise MalformedReading(
                f'{len(ranges)} ranges, but angle_min {angle_min:.4f} to angle_max '
                f'{angle_max:.4f} at {angle_increment:.5f} rad needs {expected:.0f}: the scan '
                'does not cover what it claims')
        if abs(angle_increment) * (len(ranges) - 1) > 2 * math.pi + 1e-3:
            raise MalformedReading(f'{len(ranges)} beams of {angle_increment:g} rad span more '
                                   'than a full turn')
        if not (math.isfinite(range_max) and range_max > 0 and math.isfinite(range_min)):
            raise MalformedReading(f'scan range_min/range_max are {range_min!r}/{range_max!r}')
        self.lidar = lidar
        self.mount = lidar.mount
        self.angle_min = angle_min
        self.increment = angle_increment
        self.count = len(ranges)
        self.range_min = max(range_min, 0.0)
        self.range_max = range_max
        self._full_turn = abs(angle_increment) * len(ranges) >= 2 * math.pi - 1e-6
        # REP 117: +inf is no return within range (free), -inf an object too close to measure
        # (an obstacle, taken at range_min), NaN an invalid beam.
        too_close = np.isneginf(ranges)
        hit = np.isfinite(ranges) & (ranges >= self.range_min) & (ranges <= range_max)
        no_return = np.isposinf(ranges) | (np.isfinite(ranges) & (ranges > range_max))
        self.valid = hit | no_return | too_close
        self.free_range = np.where(no_return, np.inf, np.where(hit, ranges, 0.0))
        self.free_range[too_close] = 0.0
        gap = max(0, int(round(math.radians(max_gap_deg) / abs(angle_increment))))
        # A beam's place counts as covered when a valid beam lies within the tolerated gap.
        self._covered = _dilate(self.valid, gap)
        angles = angle_min + angle_increment * np.arange(len(ranges)) + lidar.mount.yaw
        r = np.where(too_close, self.range_min, ranges)
        keep = hit | too_close
        self.points = np.column_stack([
            lidar.mount.x + r[keep] * np.cos(angles[keep]),
            lidar.mount.y + r[keep] * np.sin(angles[keep]),
            np.full(int(keep.sum()), lidar.mount.z)])

    @property
    def span_deg(self) -> float:
        """Field of view the scan actually covers."""
        return math.degrees(abs(self.increment) * self.count)

    def _beam(self, bearing: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Nearest beam index for each bearing and whether it falls within the scan."""
        # Angle travelled from angle_min in the scan's own direction (clockwise scans exist).
        rel = np.mod((bearing - self.angle_min) * math.copysign(1.0, self.increment),
                     2 * math.pi)
        index = np.round(rel / abs(self.increment)).astype(np.int64)
        if self._full_turn:
            index = np.mod(index, self.count)
        inside = index < self.count
        return np.minimum(index, self.count - 1), inside

    def covers(self, xy: np.ndarray) -> np.ndarray:
        """Floor places (N, 2) within the scan's angles and range, near a valid beam."""
        bearing, r = _bearing_range(xy, self.mount)
        index, inside = self._beam(bearing)
        return inside & self._covered[index] & (r >= self.range_min) & (r <= self.range_max)

    def sees_free(self, xy: np.ndarray, zmin: np.ndarray, zmax: np.ndarray) -> np.ndarray:
        """Remembered columns crossing the scan plane whose beams pass beyond them."""
        z = self.mount.z
        crosses = (zmin <= z + 1e-6) & (zmax >= z - 1e-6)
        bearing, r = _bearing_range(xy, self.mount)
        index, inside = self._beam(bearing)
        margin = FREE_MARGIN + FREE_MARGIN_SHARE * r
        free = np.ones(len(xy), bool)
        for offset in (-1, 0, 1):  # the beams either side must see past it too
            i = index + offset
            if self._full_turn:
                i = np.mod(i, self.count)
            exists = (i >= 0) & (i < self.count)
            i = np.clip(i, 0, self.count - 1)
            free &= exists & self.valid[i] & (self.free_range[i] > r + margin)
        return crosses & inside & free & (r >= self.range_min) & (r <= self.range_max)


class DepthReading:
    """A depth image in metres on the optical frame of a camera mounted on the robot."""

    def __init__(self, depth: np.ndarray, intrinsics: Tuple[float, float, float, float],
                 mount: Mount, stride: int = 8, min_height: float = 0.05,
                 max_height: float = 2.0, max_range: float = 8.0):
        depth = np.asarray(depth)
        if depth.ndim != 2 or depth.size == 0:
            raise MalformedReading(f'depth image of shape {depth.shape}')
        self.depth = depth
        self.intrinsics = intrinsics
        self.mount = mount
        self.min_height, self.max_height = min_height, max_height
        self.max_range = max_range
        cloud = depth_cloud(depth, intrinsics, mount, stride, max_range)
        band = (cloud[:, 2] >= min_height) & (cloud[:, 2] <= max_height)
        self.points = cloud[band]

    def _lookup(self, points: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For base-frame points: in view, optical depth of the point, depth measured there."""
        u, v, z = project(points, self.mount, self.intrinsics)
        h, w = self.depth.shape
        col, row = np.round(u).astype(np.int64), np.round(v).astype(np.int64)
        in_view = (z > 0) & (z <= self.max_range) & (col >= 0) & (col < w) & (row >= 0) & \
            (row < h)
        measured = np.full(len(points), np.nan)
        measured[in_view] = self.depth[row[in_view], col[in_view]]
        return in_view, z, measured

    def _heights(self, zmin: np.ndarray, zmax: np.ndarray, count: int = 3) -> np.ndarray:
        return zmin[None] + (zmax - zmin)[None] * np.linspace(0.0, 1.0, count)[:, None]

    def covers(self, xy: np.ndarray) -> np.ndarray:
        """Floor places whose column (the height band) has valid depth somewhere in view."""
        n = len(xy)
        heights = self._heights(np.full(n, self.min_height), np.full(n, self.max_height), 5)
        # Every height of every place in one lookup: (heights x places) rows.
        columns = np.column_stack([np.tile(xy, (len(heights), 1)), heights.reshape(-1)])
        in_view, _, measured = self._lookup(columns)
        valid = in_view & np.isfinite(measured) & (measured > 0)
        return valid.reshape(len(heights), n).any(0)

    def sees_free(self, xy: np.ndarray, zmin: np.ndarray, zmax: np.ndarray) -> np.ndarray:
        """
        Columns the camera sees through, asked at their top and middle.

        Those in view must all have valid depth well beyond them, and one must be in view. The
        lower half is not asked: a ray past the foot of a low object meets the floor so
        close behind it that a return from the object and one from the floor cannot be told
        apart.
        """
        n = len(xy)
        any_in_view = np.zeros(n, bool)
        all_free = np.ones(n, bool)
        for z in ((zmin + zmax) / 2, zmax):
            in_view, expected, measured = self._lookup(np.column_stack([xy, z]))
            with np.errstate(invalid='ignore'):
                free = np.isfinite(measured) & \
                    (measured > expected + DEPTH_FREE_MARGIN + FREE_MARGIN_SHARE * expected)
            any_in_view |= in_view
            all_free &= ~in_view | free
        return any_in_view & all_free


class CloudReading:
    """Points of a 3D sensor (PointCloud2) already in the base frame, within its band."""

    BIN = math.radians(1.0)

    def __init__(self, points: np.ndarray, sensor: PointCloudSensor,
                 min_height: Optional[float] = None, max_height: Optional[float] = None):
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        points = points[np.isfinite(points).all(1)]
        low = sensor.min_height if min_height is None else max(min_height, sensor.min_height)
        high = sensor.max_height if max_height is None else min(max_height, sensor.max_height)
        self.sensor = sensor
        self.mount = sensor.mount
        self.band = (low, high)
        self.points = points[(points[:, 2] >= low) & (points[:, 2] <= high)]
        bearing, r = _bearing_range(self.points[:, :2], self.mount)
        bins = int(math.ceil(2 * math.pi / self.BIN))
        self._nearest = np.full(bins, np.inf)
        index = np.mod(np.floor((bearing + math.pi) / self.BIN).astype(np.int64), bins)
        np.minimum.at(self._nearest, index, r)

    def _in_fov(self, xy: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        bearing, r = _bearing_range(xy, self.mount)
        rel = np.mod(bearing + math.pi, 2 * math.pi) - math.pi
        inside = (np.abs(rel) <= math.radians(self.sensor.fov_deg) / 2 + 1e-9) & \
            (r >= self.sensor.range_min) & (r <= self.sensor.range_max)
        return inside, bearing, r

    def covers(self, xy: np.ndarray) -> np.ndarray:
        """Floor places within the sensor's field of view and range."""
        return self._in_fov(xy)[0]

    def sees_free(self, xy: np.ndarray, zmin: np.ndarray, zmax: np.ndarray) -> np.ndarray:
        """Columns overlapping the band with no return of this cloud at or before them."""
        inside, bearing, r = self._in_fov(xy)
        bins = len(self._nearest)
        index = np.floor((bearing + math.pi) / self.BIN).astype(np.int64)
        nearest = np.full(len(xy), np.inf)
        for offset in (-1, 0, 1):
            nearest = np.minimum(nearest, self._nearest[np.mod(index + offset, bins)])
        overlaps = (zmax >= self.band[0]) & (zmin <= self.band[1])
        return inside & overlaps & (nearest > r + FREE_MARGIN + FREE_MARGIN_SHARE * r)


def _dilate(mask: np.ndarray, reach: int) -> np.ndarray:
    """Mark every place within reach of a True (no wrap-around)."""
    if reach <= 0:
        return mask.copy()
    padded = np.concatenate([np.zeros(reach, bool), mask, np.zeros(reach, bool)])
    out = np.zeros(len(mask), bool)
    for offset in range(2 * reach + 1):
        out |= padded[offset:offset + len(mask)]
    return out
