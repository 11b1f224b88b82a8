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

Rays clear the cells they cross and mark the cell they end in (max-range returns only clear).
All rays of a reading are sampled at once with numpy, and a cell crossed by many rays of one
reading is updated once. Cells nobody observes decay toward unknown (log-odds 0), never toward
free. The window moves by whole cells as the robot drives, so world-fixed obstacles keep their
place; cells that enter the window are unknown. Objects a detector reports (people, forklifts)
are kept in a layer of their own for a time that depends on their class.
"""

from dataclasses import dataclass
import math
from typing import Dict, Optional, Tuple

import numpy as np

UNKNOWN = -1


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

    def integrate(self, origin: Tuple[float, float], endpoints: np.ndarray,
                  hits: np.ndarray, clear=True) -> None:
        """
        Add one reading: rays from origin (odom x, y) to endpoints (N, 2).

        The end cell of a ray is occupied evidence where hits is True (a max-range return only
        clears). The cells before it are free evidence where clear is True (a bool, or one per
        endpoint), except cells that this reading hits: a ray grazing past an obstacle, or
        passing over a low one to the floor behind it, does not erase it.
        """
        cfg = self.config
        if len(endpoints) == 0:
            return
        clear = np.broadcast_to(np.asarray(clear, bool), (len(endpoints),))
        res = cfg.resolution
        n = cfg.cells
        # Many endpoints share a cell (a depth image has thousands): one ray per cell suffices.
        cells = np.floor((endpoints - np.asarray(self.origin)) / res).astype(np.int64)
        cells, inverse = np.unique(cells, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        cell_hits = np.zeros(len(cells), bool)
        cell_clear = np.zeros(len(cells), bool)
        np.logical_or.at(cell_hits, inverse, hits)
        np.logical_or.at(cell_clear, inverse, clear)
        ends = np.asarray(self.origin) + (cells + 0.5) * res
        in_window = (cells[:, 0] >= 0) & (cells[:, 0] < n) & (cells[:, 1] >= 0) & \
            (cells[:, 1] < n)
        hit_flat = np.unique((cells[:, 1] * n + cells[:, 0])[cell_hits & in_window])
        rays = ends[cell_clear]
        if len(rays):
            vec = rays - np.asarray(origin)[None]
            length = np.hypot(vec[:, 0], vec[:, 1])
            # One ray per bearing, to the farthest end: it crosses the cells the nearer ones
            # would. Bins of half a cell at the farthest range keep every cell within reach.
            width = 0.5 * res / max(float(length.max()), res)
            bins = np.floor(np.arctan2(vec[:, 1], vec[:, 0]) / width).astype(np.int64)
            order = np.lexsort((-length, bins))
            _, first = np.unique(bins[order], return_index=True)
            keep = order[first]
            vec, length = vec[keep], length[keep]
            step = res * 0.5
            t = (np.arange(int(math.ceil(length.max() / step)) + 1) * step)[None]
            direction = vec / np.maximum(length, 1e-9)[:, None]
            xs = origin[0] + direction[:, 0:1] * t
            ys = origin[1] + direction[:, 1:2] * t
            cols = np.floor((xs - self.origin[0]) / res).astype(np.int64)
            rows = np.floor((ys - self.origin[1]) / res).astype(np.int64)
            inside = (cols >= 0) & (cols < n) & (rows >= 0) & (rows < n)
            flat = np.where(inside, rows * n + cols, -1)
            # Stop a cell short of the end, so an obstacle never clears itself, and at the first
            # cell this reading hits: beyond it the ray was seen over an obstacle, and the
            # obstacle's own cells there are not known to be free.
            blocked = np.isin(flat, hit_flat) & inside
            first_block = np.where(blocked.any(1), blocked.argmax(1), t.shape[1])
            free = (t < (length - res)[:, None]) & \
                (np.arange(t.shape[1])[None] < first_block[:, None]) & inside
            self._add(np.unique(flat[free]), cfg.miss)
        self._add(hit_flat, cfg.hit)

    def _add(self, flat: np.ndarray, amount: float) -> None:
        if not len(flat):
            return
        view = self.logodds.reshape(-1)
        view[flat] = np.clip(view[flat] + amount, self.config.clamp_min, self.config.clamp_max)
        self.observed.reshape(-1)[flat] = True

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
