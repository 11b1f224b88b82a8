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
A rolling local occupancy grid in log-odds, centred on the robot in the odom frame.

A reading (a scan, a depth image) is folded in at once: it hits a set of cells and clears a set
of cells, and each cell changes at most once per reading, by `hit` or by `miss`, never both.

Scan (integrate_scan). Each beam has a free length: its range less one cell where it returns
within [range_min, range_max] (it then hits the cell its end falls in); min(clear_range,
range_max) where it has no return (+inf or beyond range_max, REP 117); 0 where it says nothing
(NaN, -inf, which REP 117 uses for too close, or below range_min). The free polygon is a fan
from the lidar of one sector per beam, its beam increment wide.

Depth (integrate_depth). Every stride-th pixel becomes a point: below min_height it is floor,
from there to max_height an obstacle, higher up (what the robot passes under) it is ignored.
Obstacle points hit their cells; floor points never do. Around the camera the bearings are cut
into bins of twice the angle between sampled columns (2 * stride / fx), wide enough for each
bin in view to hold points; a bin's free length is min(nearest obstacle point less one cell,
farthest floor point), 0 where it has no floor. So clearing stops before the first obstacle, and
obstacle points never clear: a ray to the top of a load crosses the load's own cells in 2D. The
free polygon is the fan of these bins from the camera, and the cells floor points land in are
free too (floor seen over a low obstacle, or beside one in the same bin), unless they touch a
cell the reading hits: there the floor points are the obstacle's foot.

A sector reaches its free length on its centre line and, at each side, the shorter of its own
and its neighbour's: between two returns from a wall, its edges stay in front of the wall.
Either way a reading clears the cells of its free polygon as OpenCV fills it (cells whose centre
lies inside, and the cells its outline runs through) and, for depth, the floor cells, less the
cells the same reading hits: a cell hit in a reading is never cleared by it. The robot's
footprint is then set free. Cells nobody observes decay toward unknown (log-odds 0), never
toward free. The window moves by whole cells as the robot drives, so world-fixed obstacles keep
their place; cells that enter the window are unknown. Objects a detector reports (people,
forklifts) are kept in a layer of their own for a time that depends on their class.
"""

from dataclasses import dataclass, fields, replace
import math
from typing import Dict, NamedTuple, Optional, Tuple

import cv2
import numpy as np

from perception.core.safety_field import transform
from perception.core.sensor_points import MalformedReading, Mount, pixel_rays, scan_points

UNKNOWN = -1
_SHIFT = 8          # fractional bits of the polygon vertices handed to OpenCV (1/256 cell)
_NEIGHBOURS = np.ones((3, 3), np.uint8)  # a cell and the eight around it
_MAX_BINS = 16384   # most bearing bins around a camera (three polygon vertices each)

Pose = Tuple[float, float, float]


class Update(NamedTuple):
    """Cells one reading hit and cleared (each counted once)."""

    hit: int
    cleared: int


@dataclass(frozen=True)
class GridConfig:
    """Size, resolution and the log-odds model."""

    size_m: float = 10.0
    resolution: float = 0.05
    hit: float = 0.85           # log-odds added where a ray ends on something
    miss: float = -0.4          # log-odds added where a ray passes through
    clamp_min: float = -2.0
    clamp_max: float = 3.5
    decay_per_s: float = 0.1    # log-odds per second, toward 0, everywhere not observed
    robot_length: float = 0.7
    robot_width: float = 0.5

    @classmethod
    def from_mapping(cls, values, **more) -> 'GridConfig':
        """Take each field from a mapping with more keys (the mapper's parameters) or more."""
        values = dict(values, **more)
        return cls(**{f.name: values[f.name] for f in fields(cls)})

    @property
    def cells(self) -> int:
        """Cells along each side."""
        return int(round(self.size_m / self.resolution))


class RollingGrid:
    """The grid, its window origin in odom, and the object layer."""

    def __init__(self, config: GridConfig):
        self.config = config
        n = config.cells
        self.logodds = np.zeros((n, n), np.float32)   # [row = y, column = x]
        self.observed = np.zeros((n, n), bool)        # ever observed since entering the window
        self.origin = (0.0, 0.0)                      # odom x, y of the window's lower-left corner
        self.objects: Dict[str, np.ndarray] = {}      # class -> expiry time per cell
        self._centred = False
        self._rays = None                             # (key, _DepthRays) of the last camera

    # --- geometry ----------------------------------------------------------------------------

    def recentre(self, x: float, y: float) -> None:
        """Move the window to centre on (x, y), by whole cells; new cells are unknown."""
        cfg = self.config
        res = cfg.resolution
        new = (math.floor((x - cfg.size_m / 2) / res) * res,
               math.floor((y - cfg.size_m / 2) / res) * res)
        if not self._centred:
            self.origin, self._centred = new, True
            return
        dx = int(round((new[0] - self.origin[0]) / res))
        dy = int(round((new[1] - self.origin[1]) / res))
        if dx or dy:
            self.logodds = _shift(self.logodds, dx, dy, 0.0)
            self.observed = _shift(self.observed, dx, dy, False)
            for name in self.objects:
                self.objects[name] = _shift(self.objects[name], dx, dy, -np.inf)
            self.origin = (self.origin[0] + dx * res, self.origin[1] + dy * res)

    def cell_of(self, points: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Column and row of odom points (N, 2), and whether each falls in the window."""
        res = self.config.resolution
        cols = np.floor((points[:, 0] - self.origin[0]) / res).astype(np.int64)
        rows = np.floor((points[:, 1] - self.origin[1]) / res).astype(np.int64)
        n = self.config.cells
        inside = (cols >= 0) & (cols < n) & (rows >= 0) & (rows < n)
        return cols, rows, inside

    # --- updates -----------------------------------------------------------------------------

    def decay(self, dt: float) -> None:
        """Let everything drift toward unknown by decay_per_s * dt."""
        step = self.config.decay_per_s * max(dt, 0.0)
        if step > 0:
            self.logodds = np.sign(self.logodds) * np.maximum(np.abs(self.logodds) - step, 0)

    def integrate_scan(self, ranges: np.ndarray, angle_min: float, angle_increment: float,
                       range_min: float, range_max: float, mount: Mount, pose: Pose,
                       clear_range: float) -> Update:
        """
        Fold in a LaserScan's fields, taken by a lidar at mount on a robot at pose (odom).

        Beams without a return clear up to clear_range (at most range_max) and never mark;
        NaN beams are ignored. Sizes or angles that cannot be a scan raise MalformedReading.
        """
        _check_pose(pose)
        ranges = np.asarray(ranges, dtype=np.float64)
        lidar = _in_odom(mount, pose)
        # Validates the scan (MalformedReading) and gives the returns, in odom.
        hit_points = scan_points(ranges, angle_min, angle_increment, range_min, range_max, lidar)
        hit = np.isfinite(ranges) & (ranges >= max(range_min, 0.0)) & (ranges <= range_max)
        no_return = (ranges == np.inf) | (np.isfinite(ranges) & (ranges > range_max))
        # A cell short of a return: the polygon's edge never reaches into the cell of what
        # the beam hit, nor into the cells beside it along a wall.
        length = np.where(hit, np.maximum(ranges - self.config.resolution, 0.0), 0.0)
        length[no_return] = max(min(clear_range, range_max), 0.0)
        n = len(ranges)
        step = abs(angle_increment)
        # Sectors one increment wide tile the field of view; where the beams span a full turn
        # or more they are narrowed, so that the fan never overlaps itself.
        half = min(step, max(2 * math.pi - step * (n - 1), 0.0)) / 2
        bearing = lidar.yaw + angle_min + angle_increment * np.arange(n)
        side = math.copysign(half, angle_increment)
        update = self._fold((lidar.x, lidar.y), bearing, side, length,
                            hit_points, np.zeros((0, 2)))
        self.clear_footprint(pose)
        return update

    def integrate_depth(self, depth: np.ndarray, intrinsics: Tuple[float, float, float, float],
                        mount: Mount, pose: Pose, stride: int, min_height: float,
                        max_height: float, max_range: float) -> Update:
        """
        Fold in a depth image in metres on the optical frame of a camera at mount, robot at pose.

        The floor (below min_height) clears and never marks; obstacle points (up to max_height)
        mark and never clear; depth beyond max_range, zero or NaN is ignored. An image that is
        not 2D or intrinsics without a finite focal length raise MalformedReading.
        """
        _check_pose(pose)
        depth = np.asarray(depth)
        if depth.ndim != 2:
            raise MalformedReading(f'depth image of shape {depth.shape}, expected (h, w)')
        if not all(math.isfinite(v) for v in intrinsics):
            raise MalformedReading(f'depth intrinsics {tuple(intrinsics)} are not finite')
        stride = max(int(stride), 1)
        rays = self._depth_rays(depth.shape, tuple(intrinsics), mount, stride)
        z = depth[::stride, ::stride].reshape(-1).astype(np.float64)
        valid = (z > 0) & (z <= max_range)  # NaN compares false
        z = np.where(valid, z, 0.0)
        height = mount.z + z * rays.up
        floor = valid & (height < min_height)
        obstacle = valid & (height >= min_height) & (height <= max_height)
        distance = z * rays.ground  # horizontal, from the camera
        length = np.zeros(rays.bins)
        if len(rays.starts):
            far_floor = np.maximum.reduceat(np.where(floor, distance, 0.0)[rays.order],
                                            rays.starts)
            near_obstacle = np.minimum.reduceat(np.where(obstacle, distance, np.inf)[rays.order],
                                                rays.starts)
            # A cell short of the nearest obstacle, as for a scan's returns.
            length[rays.bin_of] = np.minimum(
                far_floor, np.maximum(near_obstacle - self.config.resolution, 0.0))
        camera = _in_odom(mount, pose)
        c, s = math.cos(pose[2]), math.sin(pose[2])

        def odom(pixels):  # the points the pixels (a mask) see, in odom (N, 2)
            x, y = rays.forward[pixels] * z[pixels], rays.left[pixels] * z[pixels]
            return np.column_stack([camera.x + c * x - s * y, camera.y + s * x + c * y])

        seen = np.flatnonzero(length > 0)
        span = np.arange(seen[0], seen[-1] + 1) if len(seen) else seen
        centre = camera.yaw - math.pi + rays.width * (span + 0.5)
        update = self._fold((camera.x, camera.y), centre, rays.width / 2, length[span],
                            odom(obstacle), odom(floor))
        self.clear_footprint(pose)
        return update

    def _depth_rays(self, shape: Tuple[int, ...], intrinsics: Tuple[float, float, float, float],
                    mount: Mount, stride: int) -> '_DepthRays':
        """Return the sampled pixels' rays and bearing bins, kept while the camera is the same."""
        key = (shape, intrinsics, mount, stride)
        if self._rays is None or self._rays[0] != key:
            self._rays = (key, _DepthRays(shape, intrinsics, mount, stride))
        return self._rays[1]

    def _fold(self, origin: Tuple[float, float], bearing: np.ndarray, half: float,
              length: np.ndarray, hit_xy: np.ndarray, free_xy: np.ndarray) -> Update:
        """
        Apply one reading: a fan of sectors from origin, hit points and free points (odom).

        Sector i spans bearing[i] - half to bearing[i] + half (half has the sign of the bearings'
        order, so that the fan is one polygon around origin). It reaches length[i] on its centre
        line, and at each side the shorter of its length and its neighbour's: between two
        returns from a wall, its edges stay in front of the wall.
        """
        cfg = self.config
        res, n = cfg.resolution, cfg.cells
        gx, gy = self.origin
        # Beyond the farthest window corner a sector only leaves the window: cut it there, which
        # also keeps the vertices within OpenCV's integer range.
        reach = max(math.hypot(cx - origin[0], cy - origin[1])
                    for cx in (gx, gx + n * res) for cy in (gy, gy + n * res)) + res
        length = np.minimum(length, reach)
        right = np.minimum(length, np.concatenate([length[1:], length[-1:]]))
        left = np.concatenate([length[:1], right[:-1]])
        angle = np.column_stack([bearing - half, bearing, bearing + half]).reshape(-1)
        length = np.column_stack([left, length, right]).reshape(-1)
        # In cell units, where OpenCV puts the centre of cell (c, r) at (c, r).
        fan_x = np.concatenate([[origin[0]], origin[0] + length * np.cos(angle)])
        fan_y = np.concatenate([[origin[1]], origin[1] + length * np.sin(angle)])
        fan_x, fan_y = (fan_x - gx) / res - 0.5, (fan_y - gy) / res - 0.5
        fan = bool(np.any(length > 0))
        hit_c, hit_r = self._cells(hit_xy)
        free_c, free_r = self._cells(free_xy)
        # Work in the bounding box of what the reading touches, within the window.
        low_c, high_c, low_r, high_r = [n], [-1], [n], [-1]
        for cols, rows in ((hit_c, hit_r), (free_c, free_r)):
            if len(cols):
                low_c.append(cols.min())
                high_c.append(cols.max())
                low_r.append(rows.min())
                high_r.append(rows.max())
        if fan:
            low_c.append(math.floor(fan_x.min()) - 1)
            high_c.append(math.ceil(fan_x.max()) + 1)
            low_r.append(math.floor(fan_y.min()) - 1)
            high_r.append(math.ceil(fan_y.max()) + 1)
        c0, r0 = max(int(min(low_c)), 0), max(int(min(low_r)), 0)
        c1, r1 = min(int(max(high_c)) + 1, n), min(int(max(high_r)) + 1, n)
        if c0 >= c1 or r0 >= r1:
            return Update(0, 0)
        free = np.zeros((r1 - r0, c1 - c0), np.uint8)
        if fan:
            vertices = np.column_stack([fan_x - c0, fan_y - r0]) * (1 << _SHIFT)
            cv2.fillPoly(free, [np.round(vertices).astype(np.int32)], 1, cv2.LINE_8, _SHIFT)
        hit = np.zeros_like(free)
        hit[hit_r - r0, hit_c - c0] = 2
        if len(free_c):
            # Floor points next to a hit cell are the obstacle's foot, in its cells or beside
            # them, sampled or not: they free only cells away from what this reading hits.
            floor = np.zeros_like(free)
            floor[free_r - r0, free_c - c0] = 1
            free |= floor & (cv2.dilate(hit, _NEIGHBOURS) == 0)
        # 0 untouched, 1 free, 2 or 3 hit: a hit wins, so no cell is both. A table lookup and
        # one clip are several times faster than masked updates.
        code = free | hit
        change = np.array([0.0, cfg.miss, cfg.hit, cfg.hit], np.float32)[code]
        logodds, observed = self.logodds[r0:r1, c0:c1], self.observed[r0:r1, c0:c1]
        logodds += change
        np.clip(logodds, cfg.clamp_min, cfg.clamp_max, out=logodds)
        observed |= code > 0
        hits = int(np.count_nonzero(hit))
        return Update(hits, int(np.count_nonzero(code)) - hits)

    def _cells(self, points: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Columns and rows of the window's cells that odom points (N, 2) fall in."""
        cols, rows, inside = self.cell_of(points)
        return cols[inside], rows[inside]

    def clear_footprint(self, pose: Tuple[float, float, float]) -> None:
        """Keep the robot's own footprint free: it cannot be an obstacle to itself."""
        cfg = self.config
        x, y, yaw = pose
        half = max(cfg.robot_length, cfg.robot_width) / 2 + cfg.resolution
        cols, rows, _ = self.cell_of(np.array([[x - half, y - half], [x + half, y + half]]))
        n = cfg.cells
        c0, c1 = max(cols[0], 0), min(cols[1] + 1, n)
        r0, r1 = max(rows[0], 0), min(rows[1] + 1, n)
        if c0 >= c1 or r0 >= r1:
            return
        cc, rr = np.meshgrid(np.arange(c0, c1), np.arange(r0, r1))
        px = self.origin[0] + (cc + 0.5) * cfg.resolution - x
        py = self.origin[1] + (rr + 0.5) * cfg.resolution - y
        u = math.cos(yaw) * px + math.sin(yaw) * py
        v = -math.sin(yaw) * px + math.cos(yaw) * py
        mask = (np.abs(u) <= cfg.robot_length / 2) & (np.abs(v) <= cfg.robot_width / 2)
        block = self.logodds[r0:r1, c0:c1]
        block[mask] = np.minimum(block[mask], cfg.miss)
        self.observed[r0:r1, c0:c1][mask] = True

    def mark_objects(self, name: str, points: np.ndarray, radius: float, until: float) -> None:
        """Hold cells within radius of each point (odom) as occupied until time `until`."""
        layer = self.objects.setdefault(name, np.full(self.logodds.shape, -np.inf))
        res = self.config.resolution
        reach = int(math.ceil(radius / res))
        offsets = np.arange(-reach, reach + 1)
        dc, dr = np.meshgrid(offsets, offsets)
        disk = (dc ** 2 + dr ** 2) * res * res <= radius * radius
        cols, rows, _ = self.cell_of(points)
        n = self.config.cells
        for c, r in zip(cols, rows):
            cc, rr = c + dc[disk], r + dr[disk]
            ok = (cc >= 0) & (cc < n) & (rr >= 0) & (rr < n)
            layer[rr[ok], cc[ok]] = np.maximum(layer[rr[ok], cc[ok]], until)

    # --- output ------------------------------------------------------------------------------

    def occupancy(self, now: Optional[float] = None) -> np.ndarray:
        """int8 cells: -1 unknown, else 0..100 from the log-odds; held objects are 100."""
        p = 1.0 / (1.0 + np.exp(-self.logodds))
        out = np.round(p * 100).astype(np.int8)
        out[(self.logodds == 0) | ~self.observed] = UNKNOWN
        if now is not None:
            for layer in self.objects.values():
                out[layer >= now] = 100
        return out


def _shift(array: np.ndarray, dx: int, dy: int, fill) -> np.ndarray:
    """Content of the window after its origin moved by (dx, dy) cells."""
    out = np.full_like(array, fill)
    h, w = array.shape
    if abs(dx) >= w or abs(dy) >= h:
        return out
    src = array[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
    out[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)] = src
    return out


def _check_pose(pose: Pose) -> None:
    if len(pose) != 3 or not all(math.isfinite(v) for v in pose):
        raise ValueError(f'robot pose {tuple(pose)} is not a finite x, y, yaw')


def _in_odom(mount: Mount, pose: Pose) -> Mount:
    """Return the mount of a sensor on a robot at pose as seen from odom (yaws about z add)."""
    x, y = transform(np.array([[mount.x, mount.y]]), pose)[0]
    return replace(mount, x=float(x), y=float(y), yaw=mount.yaw + pose[2])


class _DepthRays:
    """
    Sampled pixels of a depth camera: rays in the base frame and their bearing bins.

    A pixel at depth z sees a point z * forward ahead of the camera, z * left to its left and
    z * up above it, z * ground away from it along the floor. Bearings are binned around the
    camera from its heading - pi; bins are twice as wide as the angle between sampled columns
    (2 * stride / fx), so that each bin in view holds pixels. order sorts the pixels by bin,
    starts is where each non-empty bin begins in that order and bin_of which bin it is.
    """

    def __init__(self, shape: Tuple[int, ...], intrinsics: Tuple[float, float, float, float],
                 mount: Mount, stride: int):
        self.forward, self.left, self.up = pixel_rays(shape, intrinsics, mount, stride) \
            .reshape(3, -1)
        self.ground = np.hypot(self.forward, self.left)
        self.bins = int(min(math.ceil(math.pi * intrinsics[0] / stride), _MAX_BINS))
        self.width = 2 * math.pi / self.bins
        bearing = np.mod(np.arctan2(self.left, self.forward) - mount.yaw + math.pi, 2 * math.pi)
        index = np.minimum((bearing / self.width).astype(np.int64), self.bins - 1)
        self.order = np.argsort(index, kind='stable')
        index = index[self.order]
        self.starts = np.flatnonzero(np.concatenate([[True], index[1:] != index[:-1]])) \
            if len(index) else np.zeros(0, np.int64)
        self.bin_of = index[self.starts]
