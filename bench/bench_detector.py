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
Detector speed and accuracy: FP32 against INT8 on the same frames, and the node's rate.

Renders the held-out set (300 images of scenes the training never saw, seed 1001) unless it
exists, runs both shipped models on the same frames in this run (latency p50/p99 of inference,
mAP@0.5 and mAP@0.5:0.95), then runs the detector node on the INT8 model behind the camera node
at 640x480 and 30 Hz and counts the detections it publishes per second. The last line of output
is one JSON object.

Usage: bench/bench_detector.py [--heldout data/heldout] [--node-seconds 15]
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
from rclpy.executors import SingleThreadedExecutor
from vision_msgs.msg import Detection2DArray

from perception.config import package_share
from perception.launcher import find_executable, stack_environment
from perception.modeltools.evaluate import evaluate_model
from perception.modeltools.images import labelled_set
from perception.qos import RELIABLE_QOS


def node_rate(manifest: str, seconds: float) -> dict:
    """Count the node's detections per second behind the camera at 640x480, 30 Hz."""
    env = stack_environment()
    env['ROS_DOMAIN_ID'] = str(1 + os.getpid() % 90)
    os.environ.update(env)
    camera = subprocess.Popen([find_executable('perception', 'camera_node'), '--ros-args',
                               '-p', 'fps:=30.0'], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT)
    detector = subprocess.Popen([find_executable('perception', 'detector_node'), '--ros-args',
                                 '-p', f'model_manifest:={manifest}'], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    rclpy.init()
    node = rclpy.create_node('detector_bench')
    stamps = []
    node.create_subscription(Detection2DArray, 'detections',
                             lambda m: stamps.append(time.monotonic()), RELIABLE_QOS)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        end = time.monotonic() + 60
        while len(stamps) < 10 and time.monotonic() < end:
            executor.spin_once(timeout_sec=0.1)
        start = time.monotonic()
        stamps.clear()
        cpu0 = sum(psutil.Process(detector.pid).cpu_times()[:2])
        while time.monotonic() - start < seconds:
            executor.spin_once(timeout_sec=0.1)
        cpu = sum(psutil.Process(detector.pid).cpu_times()[:2]) - cpu0
        return {'node_fps': round(len(stamps) / seconds, 2),
                'node_cpu_percent': round(100 * cpu / seconds, 1)}
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        for process in (camera, detector):
            process.terminate()
            process.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--heldout', default='data/heldout')
    parser.add_argument('--node-seconds', type=float, default=15.0)
    parser.add_argument('--models', default=os.path.join(package_share(), 'models'))
    args = parser.parse_args()
    if not os.path.isdir(args.heldout):
        from perception.sim.dataset import export_dataset
        export_dataset(args.heldout, 300, seed=1001, val_fraction=0.0)
    data = labelled_set(args.heldout)
    result = {'machine': f'{platform.node()} {platform.machine()} {psutil.cpu_count()} cores',
              'heldout_images': len(data.images)}
    for precision in ('fp32', 'int8'):
        manifest = os.path.join(args.models, f'warehouse_detector_{precision}.yaml')
        figures = evaluate_model(manifest, data, ['cpu'], {})
        result[f'p50_ms_{precision}'] = figures.latency['cpu']['inference_p50_ms']
        result[f'p99_ms_{precision}'] = figures.latency['cpu']['inference_p99_ms']
        result[f'map50_{precision}'] = figures.accuracy['map50']
        result[f'map50_95_{precision}'] = figures.accuracy['map50_95']
        result[f'person_ap50_{precision}'] = figures.accuracy['per_class']['person']['ap50']
        result[f'size_bytes_{precision}'] = os.path.getsize(manifest[:-5] + '.onnx')
        print(f'{precision}: inference p50 {result[f"p50_ms_{precision}"]} ms, p99 '
              f'{result[f"p99_ms_{precision}"]} ms, mAP@0.5 {result[f"map50_{precision}"]}%, '
              f'mAP@0.5:0.95 {result[f"map50_95_{precision}"]}%', flush=True)
    result['int8_speedup'] = round(result['p50_ms_fp32'] / result['p50_ms_int8'], 3)
    result['map50_drop_points'] = round(result['map50_fp32'] - result['map50_int8'], 2)
    result.update(node_rate(os.path.join(args.models, 'warehouse_detector_int8.yaml'),
                            args.node_seconds))
    print(f'node: {result["node_fps"]} detections/s behind the camera at 640x480, 30 Hz',
          flush=True)
    result['targets_met'] = (result['int8_speedup'] >= 1.3 and
                             result['map50_drop_points'] <= 1.0 and result['node_fps'] >= 15)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
