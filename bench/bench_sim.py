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
Simulator speed: real-time factor and per-sensor costs, on one core.

Runs the simulator node as fast as it can (no real-time pacing) on one CPU core with the camera
at 640x480 and 15 Hz, depth and scan on, publishing everything, and reports the real-time factor
(simulated seconds per wall second) and the CPU it used. A second part times each sensor of the
world model in this process. The last line of output is one JSON object.

Usage: bench/bench_sim.py [--sim-seconds 20] [--scenario person_crossing]
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np
import psutil

from perception.config import config_path
from perception.launcher import find_executable, stack_environment
from perception.sim import robot_model
from perception.sim.scenario import load_scenario, scenario_path
from perception.sim.world import World


def node_run(scenario: str, sim_seconds: float, core: int) -> dict:
    """Run the simulator node pinned to one core; return its real-time factor and CPU use."""
    env = stack_environment()
    env['ROS_DOMAIN_ID'] = str(1 + os.getpid() % 100)
    command = [find_executable('perception', 'simulator_node'), '--ros-args',
               '-p', f'scenario:={scenario}', '-p', 'realtime:=false',
               '-p', f'duration_s:={sim_seconds}', '-p', 'camera_rate_hz:=15.0',
               '-p', 'camera_width:=640', '-p', 'camera_height:=480',
               '-p', 'depth_enabled:=true', '-p', 'ground_truth_file:=/dev/null',
               '-p', 'ground_truth_boxes:=true']
    start = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               preexec_fn=lambda: os.sched_setaffinity(0, {core}))
    ps = psutil.Process(process.pid)
    cpu = 0.0
    while process.poll() is None:
        try:
            times = ps.cpu_times()
            cpu = times.user + times.system
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    wall = time.monotonic() - start
    output = process.stdout.read()
    match = re.search(r'real-time factor ([0-9.]+)', output)
    if process.returncode != 0 or match is None:
        raise RuntimeError(f'simulator failed (status {process.returncode}):\n{output}')
    return {'realtime_factor': float(match.group(1)), 'process_wall_s': round(wall, 2),
            'process_cpu_s': round(cpu, 2), 'cpu_percent_of_one_core':
            round(100 * cpu / wall, 1) if wall else 0.0}


def sensor_costs(scenario: str, frames: int = 30) -> dict:
    """Time each sensor of the world model in this process (ms per call)."""
    os.sched_setaffinity(0, {0})
    world = World(load_scenario(scenario_path(scenario, config_path('scenarios'))),
                  camera=robot_model.camera(width=640, height=480))
    try:
        world.step(3.0)
        world.render(rgb=True, depth=True, boxes=True)  # warm up the GL context
        times = {'physics_ms_per_sim_s': [], 'rgb_ms': [], 'depth_ms': [], 'boxes_ms': [],
                 'scan_ms': []}
        for _ in range(frames):
            t = time.perf_counter()
            world.step(1 / 15)
            times['physics_ms_per_sim_s'].append((time.perf_counter() - t) * 1000 * 15)
            for key, kwargs in (('rgb_ms', {'rgb': True, 'depth': False}),
                                ('depth_ms', {'rgb': False, 'depth': True}),
                                ('boxes_ms', {'rgb': False, 'depth': False, 'boxes': True})):
                t = time.perf_counter()
                world.render(**kwargs)
                times[key].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            world.scan()
            times['scan_ms'].append((time.perf_counter() - t) * 1000)
        return {k: round(float(np.median(v)), 3) for k, v in times.items()}
    finally:
        world.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--sim-seconds', type=float, default=20.0)
    parser.add_argument('--scenario', default='person_crossing')
    args = parser.parse_args()
    result = {'machine': f'{platform.node()} {platform.machine()} {psutil.cpu_count()} cores',
              'scenario': args.scenario, 'sim_seconds': args.sim_seconds,
              'camera': '640x480 at 15 Hz, depth and ground-truth boxes on',
              'scan': '360 beams at 10 Hz', 'pinned_to_one_core': True}
    print(f'simulator bench: {args.scenario}, {args.sim_seconds:g} s simulated on one core, '
          f'{result["machine"]}', flush=True)
    result.update(node_run(args.scenario, args.sim_seconds, core=0))
    print(f'node: real-time factor {result["realtime_factor"]:.2f}, '
          f'{result["cpu_percent_of_one_core"]:.0f}% of one core', flush=True)
    costs = sensor_costs(args.scenario)
    result.update(costs)
    print('per sensor (median): ' + ', '.join(f'{k} {v}' for k, v in costs.items()), flush=True)
    result['target_met'] = result['realtime_factor'] >= 1.0
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
