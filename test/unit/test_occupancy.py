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

"""The rolling occupancy grid on hand-built scans and ray-cast depth images."""

import math

import numpy as np
import pytest

from perception.core.occupancy import GridConfig, RollingGrid
from perception.core.sensor_points import MalformedReading, Mount, OPTICAL_TO_BODY

LIDAR = Mount(x=0.2)
CAMERA = Mount(x=0.3, z=1.0, pitch=math.radians(10.0))
WIDTH, HEIGHT = 160, 120
FOCAL = (HEIGHT / 2) / math.tan(math.radians(30.0))  # 60 degrees vertical field of view
INTRINSICS = (FOCAL, FOCAL, (WIDTH - 1) / 2, (HEIGHT - 1) / 2)
FULL_TURN = 2 * math.pi / 360
DEPTH = {'stride': 1, 'min_height': 0.05, 'max_height': 2.0, 'max_range': 6.0}


def grid(**config):
    g = RollingGrid(GridConfig(**config))
    g.recentre(0.0, 0.0)
    return g


def scan(g, ranges, pose=(0.0, 0.0, 0.0), clear_range=4.9, range_max=15.0):
    """Fold in a full turn of len(ranges) beams from -pi, as the simulator's lidar gives."""
    ranges = np.asarray(ranges, np.float32)
    return g.integrate_scan(ranges, -math.pi, 2 * math.pi / len(ranges), 0.1, range_max,
                            LIDAR, pose, clear_range)


def wall_ranges(distance=2.0, beams=360):
    """Ranges to a wall across the robot's path, `distance` ahead of base_link, 60 degrees wide."""
    angles = -math.pi + np.arange(beams) * 2 * math.pi / beams
    ranges = np.full(beams, np.inf)
    front = np.abs(angles) <= math.radians(30.0)
    ranges[front] = (distance - LIDAR.x) / np.cos(angles[front])
    return ranges


def cell(g, x, y):
    """Return the occupancy of the cell holding odom point (x, y)."""
    cols, rows, inside = g.cell_of(np.array([[x, y]]))
    assert inside[0]
    return int(g.occupancy()[rows[0], cols[0]])


def region(g, x0, x1, y0, y1, pose=(0.0, 0.0, 0.0)):
    """Occupancies of the cells whose centres lie in the box, in the frame of a robot at pose."""
    n, res = g.config.cells, g.config.resolution
    xs, ys = np.meshgrid(g.origin[0] + (np.arange(n) + 0.5) * res - pose[0],
                         g.origin[1] + (np.arange(n) + 0.5) * res - pose[1])
    c, s = math.cos(pose[2]), math.sin(pose[2])
    xs, ys = c * xs + s * ys, -s * xs + c * ys
    inside = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    assert inside.any()
    return g.occupancy()[inside]


def free(values):
    return (values >= 0) & (values < 50)


def render(boxes=(), mount=CAMERA, far=10.0):
    """
    Depth (m, optical z) a camera at mount sees of the floor and axis-aligned boxes.

    Boxes are ((x0, y0, z0), (x1, y1, z1)) in the base frame; 0 where nothing is within far.
    """
    fx, fy, cx, cy = INTRINSICS
    v, u = np.mgrid[0:HEIGHT, 0:WIDTH]
    optical = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones(u.shape)], -1)
    ray = optical @ (mount.rotation() @ OPTICAL_TO_BODY).T  # optical z = 1: t is the depth
    start = np.array([mount.x, mount.y, mount.z])
    with np.errstate(divide='ignore', invalid='ignore'):
        depth = np.where(ray[..., 2] < 0, -mount.z / ray[..., 2], np.inf)
        for low, high in boxes:
            t0 = (np.array(low) - start) / ray
            t1 = (np.array(high) - start) / ray
            near = np.nanmax(np.minimum(t0, t1), -1)
            far_side = np.nanmin(np.maximum(t0, t1), -1)
            hit = (near <= far_side) & (near > 0)
            depth = np.where(hit & (near < depth), near, depth)
    return np.where(depth <= far, depth, 0.0).astype(np.float32)


def depth(g, image, pose=(0.0, 0.0, 0.0)):
    return g.integrate_depth(image, INTRINSICS, CAMERA, pose, **DEPTH)


# --- scan ------------------------------------------------------------------------------------

@pytest.mark.parametrize('pose', [(0.0, 0.0, 0.0), (1.0, -1.0, math.pi / 2)])
def test_a_wall_ahead_is_marked_at_its_cells_and_the_space_before_it_is_free(pose):
    g = grid()
    update = scan(g, wall_ranges(2.02), pose)
    c, s = math.cos(pose[2]), math.sin(pose[2])

    def at(ahead, left):  # odom point from robot coordinates
        return pose[0] + c * ahead - s * left, pose[1] + s * ahead + c * left

    assert cell(g, *at(2.02, 0.0)) >= 65
    assert cell(g, *at(2.02, 0.8)) >= 65
    for ahead in np.arange(0.5, 1.9, 0.1):
        assert 0 <= cell(g, *at(ahead, 0.0)) < 50, ahead
    for ahead in np.arange(2.2, 4.5, 0.1):  # behind the wall: never seen
        assert cell(g, *at(ahead, 0.0)) == -1, ahead
    # Each cell once: what the reading reports is what the map shows (the footprint, which
    # the scan surrounds, adds no cell of its own).
    assert (g.occupancy() >= 50).sum() == update.hit > 0
    assert free(g.occupancy()).sum() == update.cleared


def test_beams_without_a_return_clear_up_to_the_clear_range_and_never_mark():
    g = grid()
    ranges = np.full(360, np.inf)
    ranges[::2] = 20.0  # beyond range_max: no return either
    scan(g, ranges, clear_range=3.0)
    occ = g.occupancy()
    assert occ.max() < 50
    for angle in np.radians(np.arange(-180, 180, 15)):
        x, y = LIDAR.x + 2.8 * math.cos(angle), 2.8 * math.sin(angle)
        assert 0 <= cell(g, x, y) < 50, math.degrees(angle)
        x, y = LIDAR.x + 3.3 * math.cos(angle), 3.3 * math.sin(angle)
        assert cell(g, x, y) == -1, math.degrees(angle)
    g2 = grid()
    scan(g2, np.full(360, np.inf), clear_range=4.9, range_max=2.0)  # never past range_max
    assert 0 <= cell(g2, LIDAR.x + 1.9, 0.0) < 50
    assert cell(g2, LIDAR.x + 2.3, 0.0) == -1


def test_nan_too_close_and_short_beams_say_nothing():
    g = grid()
    ranges = np.full(360, np.inf)
    degrees = np.arange(360) - 180
    ranges[(degrees >= 30) & (degrees < 60)] = np.nan
    ranges[(degrees >= 90) & (degrees < 120)] = -np.inf  # REP 117: too close to measure
    ranges[(degrees >= 150) & (degrees < 180)] = 0.05    # below range_min
    update = scan(g, ranges)
    assert update.hit == 0 and g.occupancy().max() < 50
    for centre in (45, 105, 165):
        a = math.radians(centre)
        for r in (1.0, 2.0, 3.0):
            assert cell(g, LIDAR.x + r * math.cos(a), r * math.sin(a)) == -1, (centre, r)
    a = math.radians(75)  # between them the beams clear
    assert 0 <= cell(g, LIDAR.x + 2.0 * math.cos(a), 2.0 * math.sin(a)) < 50


def test_all_nan_changes_nothing_but_the_footprint():
    g = grid()
    assert scan(g, np.full(360, np.nan)) == (0, 0)
    occ = g.occupancy()
    assert occ.max() < 50 and (occ >= 0).sum() == free(region(g, -0.35, 0.35, -0.25, 0.25)).sum()


@pytest.mark.parametrize('args, message', [
    (([], -math.pi, FULL_TURN, 15.0), 'no ranges'),
    (([1.0] * 10, -math.pi, 0.0, 15.0), 'angle_increment'),
    (([1.0] * 10, math.nan, FULL_TURN, 15.0), 'angle_increment'),
    (([1.0] * 400, -math.pi, FULL_TURN, 15.0), 'more than a full turn'),
    (([1.0] * 10, -math.pi, FULL_TURN, math.inf), 'range_max'),
    (([1.0] * 10, -math.pi, FULL_TURN, 0.0), 'range_max'),
])
def test_malformed_scans_raise_and_change_nothing(args, message):
    g = grid()
    ranges, angle_min, increment, range_max = args
    with pytest.raises(MalformedReading, match=message):
        g.integrate_scan(np.array(ranges, np.float32), angle_min, increment, 0.1, range_max,
                         LIDAR, (0.0, 0.0, 0.0), 4.9)
    assert (g.occupancy() == -1).all()


def test_a_cell_hit_in_a_reading_is_never_cleared_by_it():
    g = grid()
    ranges = np.full(3600, np.inf)  # a tenth of a degree: many beams sweep past the post
    ranges[1800] = 1.5              # straight ahead, at x = 1.7
    update = scan(g, ranges)
    assert update.hit == 1 and cell(g, LIDAR.x + 1.5, 0.0) == 70  # one hit, no miss
    for _ in range(4):
        scan(g, ranges)
    assert cell(g, LIDAR.x + 1.5, 0.0) == 97  # five hits, clamped at clamp_max
    assert free(region(g, 0.5, 1.6, -0.3, 0.3)).all()


def test_a_sparse_scan_does_not_clear_the_wall_between_its_returns():
    g = grid()
    scan(g, wall_ranges(2.02, beams=36))  # ten degrees apart: five returns, 0.3 m apart
    wall = region(g, 2.0, 2.05, -0.7, 0.7)
    assert (wall >= 65).sum() == 5 and not free(wall).any()  # the rest is unknown, not free
    assert free(region(g, 0.5, 1.9, -0.1, 0.1)).all()


def test_a_scan_with_a_negative_increment_is_the_same_scan():
    ranges = wall_ranges(2.02)
    g1, g2 = grid(), grid()
    scan(g1, ranges)
    g2.integrate_scan(ranges[::-1].astype(np.float32), math.pi - FULL_TURN, -FULL_TURN, 0.1,
                      15.0, LIDAR, (0.0, 0.0, 0.0), 4.9)
    # The same beams, listed the other way round, so the same cells.
    assert (g1.occupancy() == g2.occupancy()).all()


# --- depth -----------------------------------------------------------------------------------

def test_the_floor_the_camera_sees_clears_and_never_marks():
    g = grid(size_m=16.0)
    update = depth(g, render())
    assert update.hit == 0 and g.occupancy().max() < 50
    assert free(region(g, 2.0, 5.5, -0.3, 0.3)).all()
    assert free(region(g, 2.9, 3.1, 1.5, 1.8)).all()     # off to the side, within view
    assert (region(g, -4.5, -1.0, -2.0, 2.0) == -1).all()  # behind the camera
    assert (region(g, 2.9, 3.1, 3.0, 3.5) == -1).all()     # outside the field of view
    assert (region(g, 6.6, 7.5, -0.3, 0.3) == -1).all()      # beyond depth_max_range


@pytest.mark.parametrize('pose', [(0.0, 0.0, 0.0), (1.0, -1.0, math.pi / 2)])
def test_a_low_obstacle_marks_and_the_floor_seen_over_it_does_not_clear_it(pose):
    g = grid()
    box = ((2.0, -0.5, 0.0), (2.4, 0.5, 0.3))  # in the robot's frame
    image = render([box])
    for _ in range(3):
        update = depth(g, image, pose)
        assert update.hit > 0

    def cells(x0, x1, y0, y1):
        return region(g, x0, x1, y0, y1, pose)

    assert (cells(2.0, 2.05, -0.4, 0.4) >= 65).all()      # its near face
    assert not free(cells(2.0, 2.4, -0.5, 0.5)).any()      # none of its cells is free
    assert free(cells(1.3, 1.9, -0.3, 0.3)).all()         # the floor before it
    behind = cells(3.6, 4.5, -0.3, 0.3)  # the floor seen over it: free where it lands
    assert free(behind).mean() > 0.25 and behind.max() < 50
    assert (cells(2.5, 3.1, -0.3, 0.3) == -1).all()       # its shadow: not seen


def test_a_camera_mounted_sideways_maps_to_its_side():
    g = grid()
    left = Mount(x=0.3, z=1.0, pitch=math.radians(10.0), yaw=math.pi / 2)
    box = ((-0.5, 2.0, 0.0), (0.5, 2.4, 0.3))
    g.integrate_depth(render([box], mount=left), INTRINSICS, left, (0.0, 0.0, 0.0), **DEPTH)
    assert (region(g, -0.4, 0.4, 2.0, 2.05) >= 65).all()
    assert free(region(g, -0.2, 0.4, 1.3, 1.9)).all()
    for x0, x1 in ((1.5, 4.5), (-4.5, -1.5)):  # ahead and behind: not in its view
        assert (region(g, x0, x1, -0.5, 0.5) == -1).all()


def test_obstacle_points_mark_and_never_clear():
    g = grid()
    # A wall so near that the camera sees no floor before it: nothing tells that the space
    # between them is free, since a ray to a point on an obstacle crosses its cells in 2D.
    wall = ((1.2, -2.0, 0.0), (1.3, 2.0, 2.5))
    depth(g, render([wall]))
    assert (region(g, 1.2, 1.25, -0.4, 0.4) >= 65).all()
    assert (region(g, 0.45, 1.15, -0.3, 0.3) == -1).all()  # past the footprint: unknown


def test_sparse_depth_does_not_clear_an_obstacle_between_its_points():
    g = grid()
    # A low crate, the floor seen over it: clearing stops at the crate, not at the floor.
    crate = ((2.02, -1.0, 0.0), (2.4, 1.0, 0.3))
    g.integrate_depth(render([crate]), INTRINSICS, CAMERA, (0.0, 0.0, 0.0),
                      **dict(DEPTH, stride=8))  # points some 0.15 m apart on its face
    face = region(g, 2.0, 2.05, -0.9, 0.9)
    assert (face >= 65).any() and not free(face).any()
    assert free(region(g, 1.2, 1.9, -0.3, 0.3)).any()


def test_what_the_robot_passes_under_is_ignored():
    g = grid()
    beam = ((4.0, -1.0, 2.1), (5.0, 1.0, 2.4))  # above depth_max_height
    image = render([beam])
    assert (image != render()).any()  # the camera does see it
    update = depth(g, image)
    assert update.hit == 0 and g.occupancy().max() < 50
    assert free(region(g, 4.2, 4.8, -0.3, 0.3)).all()


@pytest.mark.parametrize('image, intrinsics, message', [
    (np.ones((HEIGHT, WIDTH, 3), np.float32), INTRINSICS, 'shape'),
    (np.ones((HEIGHT, WIDTH), np.float32), (0.0, 0.0, 80.0, 60.0), 'uncalibrated'),
    (np.ones((HEIGHT, WIDTH), np.float32), (FOCAL, FOCAL, math.nan, 60.0), 'not finite'),
])
def test_malformed_depth_raises_and_changes_nothing(image, intrinsics, message):
    g = grid()
    with pytest.raises(MalformedReading, match=message):
        g.integrate_depth(image, intrinsics, CAMERA, (0.0, 0.0, 0.0), **DEPTH)
    assert (g.occupancy() == -1).all()


def test_invalid_depth_pixels_say_nothing():
    g = grid()
    image = np.full((HEIGHT, WIDTH), np.nan, np.float32)
    image[:, ::2] = 0.0
    assert depth(g, image) == (0, 0)
    assert depth(g, np.full((HEIGHT, WIDTH), 50.0, np.float32)) == (0, 0)  # past max_range


# --- time, motion, footprint -----------------------------------------------------------------

def test_unobserved_cells_decay_toward_unknown_never_toward_free():
    g = grid(decay_per_s=0.5)
    scan(g, wall_ranges(2.02))
    g.decay(1.0)  # occupied 0.85 -> 0.35: still more likely occupied than not
    assert 50 < cell(g, 2.02, 0.0) < 65
    assert cell(g, 1.0, 0.0) == -1  # free -0.4 -> 0: unknown, not free
    g.decay(10.0)
    assert (g.occupancy() == -1).all()


def test_the_window_rolls_by_whole_cells_and_obstacles_stay_put():
    g = grid()
    scan(g, wall_ranges(2.02))
    res = g.config.resolution

    def occupied_centres():
        rows, cols = np.nonzero(g.occupancy() >= 65)
        return {(round(g.origin[0] / res) + c, round(g.origin[1] / res) + r)
                for c, r in zip(cols, rows)}

    before, origin = occupied_centres(), g.origin
    g.recentre(1.37, 0.62)
    moved = ((g.origin[0] - origin[0]) / res, (g.origin[1] - origin[1]) / res)
    assert moved == pytest.approx((round(moved[0]), round(moved[1])), abs=1e-9)
    assert g.origin == pytest.approx((1.37 - 5.0, 0.62 - 5.0), abs=res)
    assert occupied_centres() == before
    assert (g.occupancy()[:, -int(round(moved[0])):] == -1).all()  # what entered is unknown
    # A reading from the new pose adds to the same cells.
    scan(g, wall_ranges(2.02 - 1.37), (1.37, 0.0, 0.0))
    assert cell(g, 2.02, 0.0) > 70


def test_the_footprint_is_kept_clear():
    g = grid()
    ranges = np.full(360, np.nan)
    ranges[:20] = 0.3  # behind the lidar: these returns lie on the robot itself
    pose = (2.0, 1.0, math.pi / 2)
    for _ in range(3):
        scan(g, ranges, pose)
    body = region(g, 2.0 - 0.2, 2.0 + 0.2, 1.0 - 0.3, 1.0 + 0.3)  # yawed: long along y
    assert free(body).all()
    box = ((0.2, -0.2, 0.0), (0.35, 0.2, 0.5))  # depth of a bumper-mounted attachment
    depth(g, render([box]), pose)
    assert free(region(g, 1.8, 2.2, 0.7, 1.3)).all()


def test_detected_objects_are_held_for_their_time():
    g = grid()
    g.mark_objects('person', np.array([[1.0, 1.0]]), 0.35, until=5.0)
    n, res = g.config.cells, g.config.resolution
    xs, ys = np.meshgrid(g.origin[0] + (np.arange(n) + 0.5) * res,
                         g.origin[1] + (np.arange(n) + 0.5) * res)
    near = np.hypot(xs - 1.0, ys - 1.0) <= 0.3
    held = g.occupancy(now=4.9) == 100
    assert held[near].all() and not held[np.hypot(xs - 1.0, ys - 1.0) > 0.45].any()
    assert (g.occupancy(now=5.1) == -1).all()  # expired: unknown again, not free


def test_a_grid_config_takes_its_fields_from_the_mappers_parameters():
    values = {'size_m': 4.0, 'resolution': 0.1, 'hit': 1.0, 'miss': -0.5, 'clamp_min': -3.0,
              'clamp_max': 3.0, 'decay_per_s': 0.2, 'robot_length': 0.8, 'robot_width': 0.6,
              'rate_hz': 5.0, 'scan_x': 0.2}  # the node's other parameters are left alone
    config = GridConfig.from_mapping(values)
    assert (config.cells, config.hit, config.robot_width) == (40, 1.0, 0.6)
    del values['miss']
    with pytest.raises(KeyError, match='miss'):
        GridConfig.from_mapping(values)
