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
Camera delivery and latency: capture stamp to receipt in another process.

Runs the camera node (synthetic source) at each size and 30 Hz in its own process, receives its
images here, and measures what fraction of frames arrived (from the frame numbers the test
pattern carries), the latency from the capture stamp to receipt, and the CPU both processes used.
The last line of output is one JSON object.

Usage: bench/bench_camera.py [--seconds 20] [--warmup 3]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import psutil
import rclpy

from perception.launcher import find_executable, stack_environment
from perception.probe import StackProbe, summarize

SIZES = ((640, 480), (1280, 720))
RATE = 30.0


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def run_size(width: int, height: int, seconds: float, warmup: float, domain: int) -> dict:
    env = stack_environment()
    env['ROS_DOMAIN_ID'] = str(domain)
    os.environ['ROS_DOMAIN_ID'] = str(domain)
    camera = subprocess.Popen(
        [find_executable('perception', 'camera_node'), '--ros-args', '-p', f'width:={width}',
         '-p', f'height:={height}', '-p', f'fps:={RATE}'],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    context = rclpy.context.Context()
    rclpy.init(context=context)
    probe = StackProbe(context=context)
    try:
        if not probe.wait_for_images(1, timeout=30):
            raise RuntimeError(f'no image from the camera node at {width}x{height}')
        time.sleep(warmup)
        camera_ps, probe_ps = psutil.Process(camera.pid), psutil.Process()
        cpu0 = cpu_seconds(camera_ps), cpu_seconds(probe_ps)
        start = time.monotonic()
        probe.reset()
        time.sleep(seconds)
        samples = probe.snapshot()
        elapsed = time.monotonic() - start
        cpu1 = cpu_seconds(camera_ps), cpu_seconds(probe_ps)
    finally:
        probe.close()
        rclpy.try_shutdown(context=context)
        camera.terminate()
        camera.wait(10)
    figures = summarize(samples, RATE)
    figures['camera_cpu_percent'] = 100.0 * (cpu1[0] - cpu0[0]) / elapsed
    figures['receiver_cpu_percent'] = 100.0 * (cpu1[1] - cpu0[1]) / elapsed
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--seconds', type=float, default=20.0, help='measured seconds per size')
    parser.add_argument('--warmup', type=float, default=3.0, help='seconds before measuring')
    args = parser.parse_args()
    # This process receives, so it needs the same transports as the nodes it listens to.
    os.environ.update(stack_environment())
    domain = int(os.environ.get('ROS_DOMAIN_ID', '0')) or 1 + os.getpid() % 100
    env = stack_environment()
    profile = env.get('FASTDDS_DEFAULT_PROFILES_FILE') or env.get('FASTRTPS_DEFAULT_PROFILES_FILE')
    result = {'machine': f'{platform.node()} {platform.machine()} {psutil.cpu_count()} cores',
              'transport': env['FASTDDS_BUILTIN_TRANSPORTS'], 'fastdds_profile': profile,
              'rate_hz': RATE, 'seconds': args.seconds}
    print(f'camera bench: {args.seconds:g} s per size at {RATE:g} Hz, '
          f'transport {result["transport"]}, {result["machine"]}')
    print(f'{"size":>10} {"frames":>7} {"delivered":>9} {"p50 ms":>7} {"p99 ms":>7} '
          f'{"max ms":>7} {"cam cpu%":>8} {"rx cpu%":>8}')
    for width, height in SIZES:
        figures = run_size(width, height, args.seconds, args.warmup, domain)
        print(f'{f"{width}x{height}":>10} {figures["frames"]:>7} '
              f'{figures["delivered_ratio"]:>9.4f} {figures["latency_p50_ms"]:>7.2f} '
              f'{figures["latency_p99_ms"]:>7.2f} {figures["latency_max_ms"]:>7.2f} '
              f'{figures["camera_cpu_percent"]:>8.1f} {figures["receiver_cpu_percent"]:>8.1f}',
              flush=True)
        for key, value in figures.items():
            result[f'{key}_{width}'] = round(value, 4) if isinstance(value, float) else value
        result[f'delivered_ratio_{width}'] = round(figures['delivered_ratio'], 4)
        result[f'p50_ms_{width}'] = round(figures['latency_p50_ms'], 3)
        result[f'p99_ms_{width}'] = round(figures['latency_p99_ms'], 3)
    ok = result['delivered_ratio_640'] >= 0.99 and result['p99_ms_640'] <= 15.0
    result['target_met_640'] = ok
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
