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

"""Training data export, run reports, route following and command checks."""

import hashlib
import os

import cv2
import pytest
import yaml

from perception.sim.dataset import export_dataset, yolo_lines
from perception.sim.recorder import GroundTruthRecorder, read_ground_truth
from perception.sim.report import stops, write_report
from perception.sim.scenario import DETECTION_CLASSES, load_scenario
from perception.sim.world import World

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def tree_digest(directory):
    digest = hashlib.sha256()
    for root, _dirs, files in sorted(os.walk(directory)):
        for name in sorted(files):
            if name in ('data.yaml',):  # holds the absolute path
                continue
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, directory).encode())
            digest.update(open(path, 'rb').read())
    return digest.hexdigest()


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp('ds')
    manifest = export_dataset(str(out), 10, seed=5, width=320, height=240, progress=False)
    return out, manifest


def test_dataset_is_valid_yolo(dataset):
    out, manifest = dataset
    data = yaml.safe_load((out / 'data.yaml').read_text())
    assert data['names'] == dict(enumerate(DETECTION_CLASSES))
    assert (data['train'], data['val']) == ('images/train', 'images/val')
    images = sorted(out.glob('images/*/*.jpg'))
    assert len(images) == 10 == manifest['images']
    labelled = 0
    for image in images:
        split = image.parent.name
        label = out / 'labels' / split / (image.stem + '.txt')
        assert label.exists()
        pixels = cv2.imread(str(image))
        assert pixels.shape == (240, 320, 3)
        for line in label.read_text().splitlines():
            fields = line.split()
            assert len(fields) == 5
            cls, cx, cy, w, h = int(fields[0]), *map(float, fields[1:])
            assert 0 <= cls < len(DETECTION_CLASSES)
            assert 0 < w <= 1 and 0 < h <= 1
            assert 0 <= cx - w / 2 + 1e-6 and cx + w / 2 <= 1 + 1e-6
            assert 0 <= cy - h / 2 + 1e-6 and cy + h / 2 <= 1 + 1e-6
            labelled += 1
    assert labelled == sum(manifest['instances'].values()) > 0


def test_dataset_is_reproducible_from_its_seed(dataset, tmp_path):
    out, _ = dataset
    again = tmp_path / 'again'
    export_dataset(str(again), 10, seed=5, width=320, height=240, progress=False)
    assert tree_digest(again) == tree_digest(out)
    other = tmp_path / 'other'
    export_dataset(str(other), 10, seed=6, width=320, height=240, progress=False)
    assert tree_digest(other) != tree_digest(out)


def test_dataset_refuses_nonsense(tmp_path):
    with pytest.raises(ValueError):
        export_dataset(str(tmp_path), 0)
    with pytest.raises(ValueError):
        export_dataset(str(tmp_path), 5, val_fraction=1.5)


def test_yolo_lines_keep_detection_classes_only():
    boxes = [{'class': 'person', 'bbox': [10, 20, 30, 80], 'pixels': 500},
             {'class': 'rack', 'bbox': [0, 0, 100, 100], 'pixels': 5000},
             {'class': 'box', 'bbox': [0, 0, 2, 2], 'pixels': 4}]
    assert yolo_lines(boxes, 100, 100) == ['0 0.200000 0.500000 0.200000 0.600000']


def test_ground_truth_file_and_report(tmp_path):
    scenario = load_scenario(os.path.join(ROOT, 'config', 'scenarios', 'person_crossing.yaml'))
    world = World(scenario)
    recorder = GroundTruthRecorder(str(tmp_path / 'gt.jsonl'), world)
    world.set_command(1.0, 0.0)
    while world.time < 9.0:
        world.step(0.1)
        recorder.step()
        if round(world.time * 10) % 10 == 0:
            recorder.frame(int(world.time * 1e9), world.render(False, False, True).boxes)
    recorder.close()
    world.close()
    records = read_ground_truth(str(tmp_path / 'gt.jsonl'))
    assert [r['type'] for r in records[:2]] == ['scenario', 'step']
    assert records[-1]['type'] == 'summary'
    collisions = [r for r in records if r['type'] == 'collision']
    assert collisions and collisions[0]['name'] == 'worker'  # nothing stopped the robot
    figures = write_report(records, str(tmp_path / 'report'))
    assert figures['collisions'][0]['class'] == 'person'
    assert figures['min_clearance_m'] == {'worker': 0.0}
    assert figures['frames_with_class'].get('person', 0) >= 1
    image = cv2.imread(str(tmp_path / 'report' / 'plan.png'))
    assert image is not None and image.shape[1] > 500
    assert 'worker (person)' in (tmp_path / 'report' / 'report.md').read_text()


def test_stops_need_motion_first_and_a_hold():
    steps = [{'t': t / 10, 'robot': {'v': v, 'x': t / 10, 'y': 0.0}}
             for t, v in enumerate([0, 0, 0.5, 0.5, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.5])]
    assert [s['t'] for s in stops(steps)] == [0.4]
