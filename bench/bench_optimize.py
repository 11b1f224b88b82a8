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
INT8 against FP32 for a model of realistic size and for the shipped one: speed and accuracy.

Runs `perception optimize` (static QDQ INT8, calibrated on 128 training-like frames) and
`perception evaluate` (the 300 held-out images of seed 1001, CPU) on two YOLOv8-layout models
from our training code: warehouse_detector_large (4.3 M parameters, the distillation teacher,
about the size of a YOLOv8n) and the shipped warehouse_detector. Targets, for both: INT8 at
least 1.3 times faster than FP32 (inference p50 on this CPU), a mAP@0.5 drop of at most 1 point.
The last line of output is one JSON object.

Usage: bench/bench_optimize.py [--heldout data/heldout] [--calibration data/calibration]
"""

import argparse
import json
import os
import platform
import sys
import tempfile

import psutil

from perception.config import package_share
from perception.modeltools.evaluate import evaluate_model
from perception.modeltools.images import labelled_set
from perception.modeltools.optimize import optimize
from perception.sim.scenario import DETECTION_CLASSES

MODELS = ('warehouse_detector_large', 'warehouse_detector')


def datasets(heldout: str, calibration: str) -> None:
    """Render the held-out and calibration sets the first time (reproducible from seeds)."""
    from perception.sim.dataset import export_dataset
    if not os.path.isdir(heldout):
        export_dataset(heldout, 300, seed=1001, val_fraction=0.0)
    if not os.path.isdir(calibration):
        export_dataset(calibration, 128, seed=1, val_fraction=0.0, hard_cases=True)


def measure(name: str, models: str, data, calibration: str, work: str) -> dict:
    """Quantize one model afresh and evaluate FP32 and INT8 side by side."""
    summary = optimize(os.path.join(models, f'{name}_fp32.onnx'), list(DETECTION_CLASSES),
                       calibration, work, name)
    out = {'quantized_layers': summary['quantization']['quantized_layers'],
           'fp32_agreement': summary['quantization']['fp32_agreement']}
    for precision in ('fp32', 'int8'):
        result = evaluate_model(summary['manifests'][precision], data, ['cpu'], {})
        out[f'p50_ms_{precision}'] = result.latency['cpu']['inference_p50_ms']
        out[f'p99_ms_{precision}'] = result.latency['cpu']['inference_p99_ms']
        out[f'map50_{precision}'] = result.accuracy['map50']
        out[f'map50_95_{precision}'] = result.accuracy['map50_95']
        out[f'person_ap50_{precision}'] = result.accuracy['per_class']['person']['ap50']
        model = summary['int8'] if precision == 'int8' else os.path.join(
            models, f'{name}_fp32.onnx')
        out[f'size_bytes_{precision}'] = os.path.getsize(model)
        print(f'{name} {precision}: inference p50 {out[f"p50_ms_{precision}"]:.2f} ms, '
              f'mAP@0.5 {out[f"map50_{precision}"]:.2f}%, person AP@0.5 '
              f'{out[f"person_ap50_{precision}"]:.2f}%', flush=True)
    out['int8_speedup'] = round(out['p50_ms_fp32'] / out['p50_ms_int8'], 3)
    out['map50_drop_points'] = round(out['map50_fp32'] - out['map50_int8'], 2)
    out['targets_met'] = out['int8_speedup'] >= 1.3 and out['map50_drop_points'] <= 1.0
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--heldout', default='data/heldout')
    parser.add_argument('--calibration', default='data/calibration')
    parser.add_argument('--models', default=os.path.join(package_share(), 'models'))
    args = parser.parse_args()
    datasets(args.heldout, args.calibration)
    data = labelled_set(args.heldout)
    result = {'machine': f'{platform.node()} {platform.machine()} {psutil.cpu_count()} cores',
              'heldout_images': len(data.images)}
    with tempfile.TemporaryDirectory(prefix='bench-optimize-') as work:
        for name in MODELS:
            result[name] = measure(name, args.models, data, args.calibration, work)
    result['targets_met'] = all(result[name]['targets_met'] for name in MODELS)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
