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

"""The rolling occupancy grid, fed by rendered depth and ray-cast scans of the simulator."""

import math

import numpy as np
import pytest
import yaml

from perception.core.occupancy import GridConfig, RollingGrid
from perception.core.safety_field import transform
from perception.core.sensor_points import depth_cloud, Mount, scan_points
from perception.sim.scenario import parse_scenario
from perception.sim.world import CameraSpec, LidarSpec, World

pytestmark = pytest.mark.sim

ROOM = """
name: room
duration_s: 10
layout:
  floor_x: [-6, 12]
  floor_y: [-6, 6]
  walls:
    - {name: back, from: [8, -5], to: [8, 5]}
  boxes:
    - {name: crate, center: [2.5, 0.0], size: [0.6, 0.6, 0.5]}
robot:
  start: [0, 0, 0]
  route: {speed: 1.0, waypoints: [[1, 0]]}
"""
CAMERA = CameraSpec(width=320, height=240)
CAMERA_MOUNT = Mount(x=CAMERA.x, z=CAMERA.z, pitch=math.radians(CAMERA.pitch_deg))
LIDAR = LidarSpec(noise_std=0.0)
LIDAR_MOUNT = Mount(x=LIDAR.x)


def world(text=ROOM):
    return World(parse_scenario(yaml.safe_load(text), 'test'), camera=CAMERA, lidar=LIDAR)


def observe(grid, w, depth=True, scan=True):
    """Fold one depth frame and one scan from the robot's current pose into the grid."""
    pose = w.pose()
    grid.recentre(pose[0], pose[1])
    if depth:
        fx, fy, cx, cy = CAMERA.intrinsics()
        cloud = depth_cloud(w.render(rgb=False, depth=True).depth, (fx, fy, cx, cy),
                            CAMERA_MOUNT, stride=2, max_range=6.0)
        floor = cloud[:, 2] < 0.05
        band = ~floor & (cloud[:, 2] <= 2.0)
        origin = tuple(transform(np.array([[CAMERA_MOUNT.x, 0.0]]), pose)[0])
        used = floor | band
        grid.integrate(origin, transform(cloud[used, :2], pose), band[used], clear=floor[used])
    if scan:
        ranges = w.scan()
        hits = np.isfinite(ranges)
        usable = np.where(hits, ranges, 4.9)
        points = scan_points(usable, LIDAR.angles()[0], LIDAR.angles()[1] - LIDAR.angles()[0],
                             0.0, 15.0, LIDAR_MOUNT)
        origin = transform(np.array([[LIDAR_MOUNT.x, 0.0]]), pose)[0]
        grid.integrate(tuple(origin), transform(points, pose), hits)
    grid.clear_footprint(pose)


def footprint_cells(grid, x0, x1, y0, y1):
    n, res = grid.config.cells, grid.config.resolution
    cx = grid.origin[0] + (np.arange(n) + 0.5) * res
    cy = grid.origin[1] + (np.arange(n) + 0.5) * res
    xs, ys = np.meshgrid(cx, cy)
    return (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)


def test_a_static_box_ends_up_in_the_right_cells():
    w, grid = world(), RollingGrid(GridConfig())
    # Seen from one place, a depth camera samples the box's top in rows a few cells apart;
    # approaching it, as a robot does, fills them in.
    for x in (0.0, 0.15, 0.3, 0.45, 0.6):
        w.data.qpos[0] = x
        w.refresh()
        observe(grid, w)
    occupied = grid.occupancy() >= 65
    truth = footprint_cells(grid, 2.2, 2.8, -0.3, 0.3)
    iou = (occupied & truth).sum() / (occupied | truth).sum()
    assert iou >= 0.9, iou


def test_the_shadow_stays_unknown_and_the_floor_never_marks():
    w, grid = world(), RollingGrid(GridConfig())
    observe(grid, w, depth=False)  # the lidar, low, cannot see behind the crate
    occ = grid.occupancy()
    behind = footprint_cells(grid, 3.3, 4.5, -0.15, 0.15)  # shadowed by the crate
    assert (occ[behind] == -1).mean() > 0.8
    floor = footprint_cells(grid, 0.8, 2.0, -0.5, 0.5)  # open floor in front of the crate
    assert (occ[floor] >= 0).all() and (occ[floor] < 50).all()
    w2, grid2 = world(), RollingGrid(GridConfig())
    observe(grid2, w2, scan=False)  # depth alone: the floor clears, never marks
    assert (grid2.occupancy()[floor] < 50).all()
    assert occ.min() >= -1 and occ.max() <= 100


def test_a_removed_object_clears_within_the_bound_of_its_parameters():
    config = GridConfig()
    w, grid = world(), RollingGrid(config)
    for _ in range(10):
        observe(grid, w, depth=False)  # saturate the crate's cells at clamp_max
    face = footprint_cells(grid, 2.2, 2.3, -0.2, 0.2)
    assert (grid.occupancy()[face] >= 65).any()
    gone = world(ROOM.replace('  boxes:\n    - {name: crate, center: [2.5, 0.0], '
                              'size: [0.6, 0.6, 0.5]}\n', ''))
    bound = math.ceil((config.clamp_max - 0.0) / -config.miss)  # misses to get back to 50%
    for _ in range(bound):
        observe(grid, gone, depth=False)
    assert (grid.occupancy()[face] < 50).all()


def test_moving_keeps_world_fixed_obstacles_within_one_cell():
    w, grid = world(), RollingGrid(GridConfig())
    observe(grid, w)
    before = np.argwhere(grid.occupancy() >= 65)
    centre_before = grid.origin + (before[:, ::-1].mean(0) + 0.5) * grid.config.resolution
    grid.recentre(1.37, 0.0)
    after = np.argwhere(grid.occupancy() >= 65)
    centre_after = grid.origin + (after[:, ::-1].mean(0) + 0.5) * grid.config.resolution
    assert np.abs(centre_after - centre_before).max() <= grid.config.resolution
    assert grid.origin[0] == pytest.approx(1.37 - 5.0, abs=grid.config.resolution)


def test_unobserved_cells_decay_to_unknown_not_to_free():
    grid = RollingGrid(GridConfig(decay_per_s=0.5))
    grid.recentre(0.0, 0.0)
    grid.integrate((0.0, 0.0), np.array([[2.0, 0.0]]), np.array([True]))
    assert (grid.occupancy() == 0).sum() > 0 or (grid.occupancy() < 50).sum() > 0
    grid.decay(10.0)
    assert (grid.occupancy() == -1).all()


def test_max_range_returns_clear_and_never_mark():
    grid = RollingGrid(GridConfig())
    grid.recentre(0.0, 0.0)
    grid.integrate((0.0, 0.0), np.array([[4.0, 0.0]]), np.array([False]))
    occ = grid.occupancy()
    assert occ.max() < 50 and (occ >= 0).sum() >= 70  # 4 m of free cells, no occupied one


def test_objects_persist_for_their_time():
    grid = RollingGrid(GridConfig())
    grid.recentre(0.0, 0.0)
    grid.mark_objects('person', np.array([[1.0, 1.0]]), 0.35, until=5.0)
    cells = footprint_cells(grid, 0.8, 1.2, 0.8, 1.2)
    assert (grid.occupancy(now=4.9)[cells] == 100).all()
    assert (grid.occupancy(now=5.1)[cells] == -1).all()


PALLET = """
name: pallet
duration_s: 10
layout:
  floor_x: [-3, 23]
  floor_y: [-5, 5]
  racks:
    - {name: rack_n, center: [10.5, 2.2], size: [9.0, 1.0, 2.4]}
    - {name: rack_s, center: [10.5, -2.2], size: [9.0, 1.0, 2.4]}
  pallets:
    - {name: pallet_left, center: [9.0, 0.0], yaw_deg: 90.0, load_height: 0.8}
robot:
  start: [0, 0, 0]
  route: {speed: 1.0, waypoints: [[20, 0]]}
"""


def test_the_map_of_a_blocked_aisle_shows_the_pallet_and_the_racks():
    w, grid = world(PALLET), RollingGrid(GridConfig())
    w.set_command(1.0, 0.0)
    while w.pose()[0] < 6.0:
        w.step(0.2)
        observe(grid, w)
    occ = grid.occupancy()
    face = footprint_cells(grid, 8.6, 8.65, -0.5, 0.5)  # the pallet's near side
    assert (occ[face] >= 65).mean() > 0.8
    rack_faces = footprint_cells(grid, 7.0, 10.0, 1.7, 1.75) | \
        footprint_cells(grid, 7.0, 10.0, -1.75, -1.7)
    assert (occ[rack_faces] >= 65).mean() > 0.6
    aisle = footprint_cells(grid, 6.5, 8.3, -0.8, 0.8)
    assert (occ[aisle] >= 65).mean() < 0.02  # the open aisle before it is not marked
