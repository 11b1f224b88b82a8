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
Local map speed: update times of a scan and a depth frame, and sensor stamp to published map.

Part one times, on one core in this process, the core functions the mapper node calls for each
reading (decay, then integrate_scan or integrate_depth, with the node's default parameters): a
360-beam scan and a 640x480 depth frame, rendered by the simulator in an aisle, folded into the
default 10 x 10 m grid at 0.05 m. Part two runs the mapper node in its own process, feeds it
scans at 10 Hz and odom at 50 Hz, and times from each scan's stamp to the arrival here of the
map that carries it. Targets: both updates together p95 at most 10 ms, stamp to map p95 at most
100 ms. The last line of output is one JSON object.

Usage: bench/bench_mapper.py [--frames 100] [--maps 100]
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import threading
import time

from nav_msgs.msg import OccupancyGrid, Odometry
import numpy as np
import psutil
import rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import LaserScan

from perception.config import config_path, load_defaults
from perception.conversions import stamp_from_ns, stamp_to_ns
from perception.core.occupancy import GridConfig, RollingGrid
from perception.launcher import find_executable, stack_environment
from perception.qos import LATCHED_QOS, SENSOR_QOS
from perception.sim.scenario import load_scenario, scenario_path
from perception.sim.world import World


def grid_timing(frames: int) -> dict:
    """Scan and depth update times (ms) and cells updated per second, on one core."""
    os.sched_setaffinity(0, {0})
    p = load_defaults('mapper.yaml')
    world = World(load_scenario(scenario_path('pallet_blocking', config_path('scenarios'))))
    grid = RollingGrid(GridConfig.from_mapping(p, robot_length=world.robot.length,
                                               robot_width=world.robot.width))
    camera, lidar = world.camera, world.lidar
    angles = lidar.angles()
    scan_ms, depth_ms, cells = [], [], 0
    world.set_command(0.5, 0.0)
    try:
        for _ in range(frames):
            world.step(0.1)
            pose = world.pose()
            ranges = world.scan().astype(np.float32)  # as a LaserScan carries them
            depth = world.render(rgb=False, depth=True).depth
            grid.recentre(pose[0], pose[1])
            start = time.perf_counter()
            grid.decay(0.05)
            scan = grid.integrate_scan(ranges, angles[0], angles[1] - angles[0],
                                       lidar.range_min, lidar.range_max, lidar.mount, pose,
                                       p['scan_clear_range'])
            middle = time.perf_counter()
            grid.decay(0.05)
            seen = grid.integrate_depth(depth, camera.intrinsics(), camera.mount, pose,
                                        p['depth_stride'], p['depth_min_height'],
                                        p['depth_max_height'], p['depth_max_range'])
            end = time.perf_counter()
            scan_ms.append((middle - start) * 1000)
            depth_ms.append((end - middle) * 1000)
            cells += sum(scan) + sum(seen)
    finally:
        world.close()
    both = np.array(scan_ms) + np.array(depth_ms)
    return {'scan_p50_ms': round(float(np.percentile(scan_ms, 50)), 2),
            'scan_p95_ms': round(float(np.percentile(scan_ms, 95)), 2),
            'depth_p50_ms': round(float(np.percentile(depth_ms, 50)), 2),
            'depth_p95_ms': round(float(np.percentile(depth_ms, 95)), 2),
            'update_p50_ms': round(float(np.percentile(both, 50)), 2),
            'update_p95_ms': round(float(np.percentile(both, 95)), 2),
            'cells_updated_per_s': round(cells / (both.sum() / 1000))}


def stamp_to_map(maps: int) -> dict:
    """Time from a scan's stamp to the arrival of the map carrying it (ms)."""
    env = stack_environment()
    env['ROS_DOMAIN_ID'] = str(1 + os.getpid() % 90)
    os.environ.update(env)
    os.sched_setaffinity(0, set(range(psutil.cpu_count())))
    mapper = subprocess.Popen([find_executable('perception', 'mapper_node')], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    rclpy.init()
    node = rclpy.create_node('mapper_bench')
    latencies = []
    node.create_subscription(OccupancyGrid, 'local_map', lambda m: latencies.append(
        (time.time_ns() - stamp_to_ns(m.header.stamp)) / 1e6), LATCHED_QOS)
    pub_scan = node.create_publisher(LaserScan, 'scan', SENSOR_QOS)
    pub_odom = node.create_publisher(Odometry, 'odom', SENSOR_QOS)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    threading.Thread(target=executor.spin, daemon=True).start()
    ranges = np.full(360, 3.0, np.float32).tolist()
    try:
        time.sleep(2.0)
        end = time.monotonic() + maps / 5.0 + 30
        tick = 0
        while len(latencies) < maps + 5 and time.monotonic() < end:
            now = time.time_ns()
            odom = Odometry()
            odom.header.stamp, odom.header.frame_id = stamp_from_ns(now), 'odom'
            odom.pose.pose.orientation.w = 1.0
            pub_odom.publish(odom)
            if tick % 5 == 0:
                scan = LaserScan()
                scan.header.stamp, scan.header.frame_id = stamp_from_ns(now), 'laser'
                scan.angle_min, scan.angle_increment = -math.pi, 2 * math.pi / 360
                scan.angle_max = scan.angle_min + 359 * scan.angle_increment
                scan.range_min, scan.range_max = 0.1, 15.0
                scan.ranges = ranges
                pub_scan.publish(scan)
            tick += 1
            time.sleep(0.02)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        mapper.terminate()
        mapper.wait(10)
    measured = latencies[5:]  # the first maps include start-up
    return {'maps': len(measured),
            'stamp_to_map_p50_ms': round(float(np.percentile(measured, 50)), 2),
            'stamp_to_map_p95_ms': round(float(np.percentile(measured, 95)), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--frames', type=int, default=100)
    parser.add_argument('--maps', type=int, default=100)
    args = parser.parse_args()
    result = {'machine': f'{platform.node()} {platform.machine()} {psutil.cpu_count()} cores',
              'grid': '10 x 10 m at 0.05 m', 'scan': '360 beams', 'depth': '640x480, stride 4'}
    result.update(grid_timing(args.frames))
    print(f'updates on one core: scan p95 {result["scan_p95_ms"]} ms, depth p95 '
          f'{result["depth_p95_ms"]} ms, together p95 {result["update_p95_ms"]} ms', flush=True)
    result.update(stamp_to_map(args.maps))
    print(f'stamp to map: p50 {result["stamp_to_map_p50_ms"]} ms, p95 '
          f'{result["stamp_to_map_p95_ms"]} ms', flush=True)
    result['targets_met'] = result['update_p95_ms'] <= 10 and \
        result['stamp_to_map_p95_ms'] <= 100
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
