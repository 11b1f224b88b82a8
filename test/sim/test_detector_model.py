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

"""The shipped detectors on rendered frames, and the pipeline that makes them."""

import os

import numpy as np
import pytest
import yaml

from perception.core.detection import iou
from perception.core.model import load_manifest, OnnxDetector, sha256_of
from perception.sim import robot_model
from perception.sim.scenario import parse_scenario
from perception.sim.world import World

pytestmark = pytest.mark.sim

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
MODELS = os.path.join(ROOT, 'models')

SCENE = """
name: check
duration_s: 5
layout:
  floor_x: [-2, 20]
  floor_y: [-5, 5]
  racks:
    - {name: rack_n, center: [8, 2.3], size: [10, 1, 2.4]}
    - {name: rack_s, center: [8, -2.3], size: [10, 1, 2.4]}
  pallets:
    - {name: pallet, center: [4.5, -1.0], load_height: 0.6}
robot:
  start: [0, 0, 0]
  route: {speed: 1.0, waypoints: [[10, 0]]}
actors:
  - {name: worker, type: person, path: [[6.0, 0.6]], color: [0.95, 0.85, 0.1]}
"""


@pytest.mark.parametrize('precision', ['int8', 'fp32'])
def test_the_shipped_models_match_their_manifests(precision):
    manifest = load_manifest(os.path.join(MODELS, f'warehouse_detector_{precision}.yaml'))
    assert manifest.sha256 == sha256_of(manifest.model_path)
    assert list(manifest.labels) == ['person', 'forklift', 'pallet', 'box']
    assert manifest.precision == precision and manifest.extra['accuracy']['map50'] > 0


@pytest.mark.parametrize('precision', ['int8', 'fp32'])
def test_the_model_finds_the_person_and_the_pallet(precision):
    detector = OnnxDetector(load_manifest(
        os.path.join(MODELS, f'warehouse_detector_{precision}.yaml')))
    world = World(parse_scenario(yaml.safe_load(SCENE), 'check'),
                  camera=robot_model.camera(width=640, height=480))
    frame = world.render(rgb=True, depth=False, boxes=True)
    world.close()
    truth = {b['name']: np.array(b['bbox'], float) for b in frame.boxes}
    found = detector.detect(frame.rgb, source_rgb=True, score_threshold=0.25)
    for name, label in (('worker', 'person'), ('pallet', 'pallet')):
        cls = detector.manifest.labels.index(label)
        boxes = found.boxes[found.classes == cls]
        assert len(boxes), f'no {label} found'
        assert iou(truth[name], boxes).max() >= 0.5, (label, truth[name], boxes)


def test_the_pipeline_trains_exports_quantizes_and_evaluates(tmp_path):
    pytest.importorskip('torch', reason='training needs PyTorch (pip install torch==2.13.0)')
    from perception.sim.dataset import export_dataset
    from perception.training.pipeline import pipeline
    export_dataset(str(tmp_path / 'train'), 12, seed=3, val_fraction=0.0, progress=False)
    export_dataset(str(tmp_path / 'heldout'), 6, seed=4, val_fraction=0.0, progress=False)
    # Every variant: the student, a teacher, the student distilled from it, a pruned one.
    summary = pipeline(str(tmp_path / 'train'), str(tmp_path / 'heldout'),
                       str(tmp_path / 'models'), epochs=1, progress=False, device='cpu',
                       batch=6, teacher_epochs=1, prune=(0.5,), finetune_epochs=1)
    assert summary['train_images'] == 12 and summary['shipped'] == 'distilled'
    assert set(summary['results']) == {f'{v}_{p}' for v in ('student', 'teacher', 'distilled',
                                                            'pruned_50') for p in ('fp32', 'int8')}
    for name, figures in summary['results'].items():
        assert 0.0 <= figures['map50'] <= 100.0, name
    candidates = tmp_path / 'models' / 'candidates'
    sizes = {v: os.path.getsize(candidates / f'{v}.onnx') for v in ('student', 'teacher',
                                                                    'pruned_50')}
    assert sizes['pruned_50'] < sizes['student'] < sizes['teacher']
    for precision in ('fp32', 'int8'):
        manifest = load_manifest(str(tmp_path / 'models' / f'warehouse_detector_{precision}.yaml'))
        detector = OnnxDetector(manifest)
        assert detector.layout == 'yolov8' and (detector.width, detector.height) == (320, 320)
        assert manifest.extra['accuracy']['images'] == 6 and set(manifest.thresholds) <= \
            {'person', 'forklift', 'pallet', 'box'}
    # Quantized weights are a quarter of the size, give or take the graph around them.
    assert os.path.getsize(tmp_path / 'models' / 'warehouse_detector_int8.onnx') < \
        0.5 * os.path.getsize(tmp_path / 'models' / 'warehouse_detector_fp32.onnx')
