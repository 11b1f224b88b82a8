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
The rolling occupancy grid, fed by rendered depth and ray-cast scans of the simulator.

The readings go through the core functions the mapper node calls, with its default parameters;
test/unit/test_occupancy.py covers their rules on hand-built readings.
"""

import math

import numpy as np
import pytest
import yaml

from perception.config import load_defaults
from perception.core.occupancy import GridConfig, RollingGrid
from perception.sim import robot_model
from perception.sim.scenario import parse_scenario
from perception.sim.world import World

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
CAMERA = robot_model.camera(width=320, height=240)
LIDAR = robot_model.lidar()


def world(text=ROOM):
    return World(parse_scenario(yaml.safe_load(text), 'test'), camera=CAMERA, lidar=LIDAR,
                 scan_noise=0.0)


def observe(grid, w, depth=True, scan=True):
    """Fold one depth frame and one scan from the robot's current pose into the grid."""
    p = load_defaults('mapper.yaml')
    pose = w.pose()
    grid.recentre(pose[0], pose[1])
    if depth:
        # Every second pixel of 320x240 samples the scene as every fourth of 640x480 does.
        grid.integrate_depth(w.render(rgb=False, depth=True).depth, CAMERA.intrinsics(),
                             CAMERA.mount, pose, 2, p['depth_min_height'],
                             p['depth_max_height'], p['depth_max_range'])
    if scan:
        angles = LIDAR.angles()
        grid.integrate_scan(w.scan(), angles[0], angles[1] - angles[0], LIDAR.range_min,
                            LIDAR.range_max, LIDAR.mount, pose, p['scan_clear_range'])


def mapper_grid():
    robot = robot_model.robot_spec()
    return RollingGrid(GridConfig.from_mapping(load_defaults('mapper.yaml'),
                                               robot_length=robot.length,
                                               robot_width=robot.width))


def footprint_cells(grid, x0, x1, y0, y1):
    n, res = grid.config.cells, grid.config.resolution
    cx = grid.origin[0] + (np.arange(n) + 0.5) * res
    cy = grid.origin[1] + (np.arange(n) + 0.5) * res
    xs, ys = np.meshgrid(cx, cy)
    return (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)


def test_a_static_box_ends_up_in_the_right_cells():
    w, grid = world(), mapper_grid()
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
    w, grid = world(), mapper_grid()
    observe(grid, w, depth=False)  # the lidar, low, cannot see behind the crate
    occ = grid.occupancy()
    behind = footprint_cells(grid, 3.3, 4.5, -0.15, 0.15)  # shadowed by the crate
    assert (occ[behind] == -1).mean() > 0.8
    floor = footprint_cells(grid, 0.8, 2.0, -0.5, 0.5)  # open floor in front of the crate
    assert (occ[floor] >= 0).all() and (occ[floor] < 50).all()
    w2, grid2 = world(), mapper_grid()
    observe(grid2, w2, scan=False)  # depth alone: the floor clears, never marks
    assert (grid2.occupancy()[floor] < 50).all()
    assert occ.min() >= -1 and occ.max() <= 100


def test_a_removed_object_clears_within_the_bound_of_its_parameters():
    w, grid = world(), mapper_grid()
    config = grid.config
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
    w, grid = world(PALLET), mapper_grid()
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
