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

"""perception evaluate against a case computed by hand; the operating point; the report."""

import os
import subprocess

import cv2
import numpy as np
import pytest
import yaml

from perception.core.evaluation import Curve, threshold_best_f1, threshold_for_recall
from perception.core.model import load_manifest, OnnxDetector, sha256_of
from perception.modeltools import evaluate
from perception.modeltools.graph import OptimizeError
from support import constant_model, LABELS, perception_command, yolov8_output

# The model always sees a person at (160, 160) 50x100 and a pallet at (60, 200) 40x40 (input
# pixels of 320x320), scores 0.9 and 0.7.
ROWS = [(160, 160, 50, 100, 0, 0.9), (60, 200, 40, 40, 2, 0.7)]


@pytest.fixture
def manifest(tmp_path):
    path = constant_model(tmp_path / 'model.onnx', yolov8_output(ROWS))
    doc = {'name': 'constant', 'file': 'model.onnx', 'labels': LABELS,
           'sha256': sha256_of(path), 'precision': 'fp32'}
    (tmp_path / 'model.yaml').write_text(yaml.safe_dump(doc))
    return str(tmp_path / 'model.yaml')


@pytest.fixture
def dataset(tmp_path):
    """Return two 320x320 images: one where the model is right, one where it is wrong."""
    root = tmp_path / 'data'
    for folder in ('images/val', 'labels/val'):
        os.makedirs(root / folder)
    labels = ['0 0.5 0.5 0.15625 0.3125\n2 0.1875 0.625 0.125 0.125\n',  # both right
              '0 0.78125 0.1875 0.125 0.25\n']  # a person elsewhere: one miss, one false
    for i, text in enumerate(labels):
        cv2.imwrite(str(root / 'images' / 'val' / f'{i}.png'), np.full((320, 320, 3), 90,
                                                                       np.uint8))
        (root / 'labels' / 'val' / f'{i}.txt').write_text(text)
    (root / 'data.yaml').write_text(yaml.safe_dump({'names': LABELS}))
    return str(root)


def test_the_figures_match_the_case_computed_by_hand(manifest, dataset, tmp_path):
    report = tmp_path / 'report'
    results = evaluate.run([manifest], dataset, 'val', ['cpu'], {'person': 0.5}, str(report))
    result = results[0]
    # Person: a true and a false detection of equal score, two instances: precision 1 up to
    # recall 0.5, so 51 of the 101 recall points: AP 51/101. Pallet: one instance, found
    # first: AP 1. Forklift and box have no instance and do not count.
    person = 100 * 51 / 101
    assert result.accuracy['per_class']['person']['ap50'] == pytest.approx(person, abs=0.01)
    assert result.accuracy['per_class']['pallet']['ap50'] == pytest.approx(100.0)
    assert result.accuracy['map50'] == pytest.approx((person + 100) / 2, abs=0.01)
    assert result.accuracy['map50_95'] == pytest.approx((person + 100) / 2, abs=0.01)
    assert set(result.accuracy['per_class']) == {'person', 'pallet'}
    # Operating points: person reaches recall 0.5 at 0.9; pallet's best F1 is at 0.7.
    assert (result.thresholds['person'].score, result.thresholds['person'].met) == (
        pytest.approx(0.9), True)
    assert result.thresholds['pallet'].score == pytest.approx(0.7)
    # Written into the manifest (which still loads, hash unchanged) and the report.
    loaded = load_manifest(manifest)
    assert loaded.thresholds == {'person': pytest.approx(0.9), 'pallet': pytest.approx(0.7)}
    doc = yaml.safe_load(open(manifest))
    assert doc['accuracy']['map50'] == pytest.approx((person + 100) / 2, abs=0.01)
    assert doc['latency']['cpu']['images'] == 2
    assert {'report.md', 'pr_person.png', 'pr_pallet.png'} <= set(os.listdir(report))
    assert '| constant | fp32 | 75.25 |' in (report / 'report.md').read_text()


def test_a_recall_the_model_cannot_reach_takes_its_highest_and_says_so():
    curve = Curve(np.array([0.9, 0.8, 0.4]), np.array([0.2, 0.4, 0.6]),
                  np.array([1.0, 1.0, 0.75]), 5)
    point = threshold_for_recall(curve, 0.9)
    assert (point.score, point.recall, point.met) == (0.4, 0.6, False)
    point = threshold_for_recall(curve, 0.4)
    assert (point.score, point.recall, point.met) == (0.8, 0.4, True)
    assert threshold_best_f1(curve).score == 0.4
    # A recall bought with mostly false detections is not an operating point.
    point = threshold_for_recall(curve, 0.9, min_precision=0.8)
    assert (point.score, point.recall, point.met) == (0.8, 0.4, False)
    point = threshold_for_recall(curve, 0.5, min_precision=0.99)
    assert (point.score, point.met) == (0.8, False)


def test_the_detector_takes_the_manifests_thresholds(manifest):
    doc = yaml.safe_load(open(manifest))
    doc['thresholds'] = {'person': 0.95}
    open(manifest, 'w').write(yaml.safe_dump(doc))
    loaded = load_manifest(manifest)
    detector = OnnxDetector(loaded)
    image = np.zeros((320, 320, 3), np.uint8)
    found = detector.detect(image, True, loaded.class_thresholds(0.25))
    assert [LABELS[c] for c in found.classes] == ['pallet']  # the person's 0.9 < 0.95
    assert len(detector.detect(image, True, 0.25)) == 2
    doc['thresholds'] = {'unicorn': 0.5}
    open(manifest, 'w').write(yaml.safe_dump(doc))
    with pytest.raises(ValueError, match='thresholds must map labels'):
        load_manifest(manifest)


def test_labels_that_do_not_match_the_data_are_refused(manifest, dataset):
    with open(os.path.join(dataset, 'data.yaml'), 'w') as stream:
        yaml.safe_dump({'names': ['cat', 'dog', 'pallet', 'box']}, stream)
    with pytest.raises(OptimizeError, match='do not match those of'):
        evaluate.run([manifest], dataset, 'val', ['cpu'])
    result = subprocess.run(perception_command('evaluate', manifest, '--data', dataset),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and 'do not match' in result.stderr
    assert 'Traceback' not in result.stderr
