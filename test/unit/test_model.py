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

"""Model manifests and ONNX Runtime sessions: files, hashes, layouts, providers."""

import os

import numpy as np
import pytest
import yaml

from perception.core.model import load_manifest, ModelError, OnnxDetector, sha256_of
from support import constant_model, LABELS, yolov8_output


def manifest(tmp_path, model, **fields):
    doc = {'file': os.path.basename(model), 'labels': LABELS}
    doc.update(fields)
    path = tmp_path / 'model.yaml'
    path.write_text(yaml.safe_dump(doc))
    return load_manifest(str(path))


def test_the_whole_pipeline_through_onnx_runtime(tmp_path):
    out = yolov8_output([(160, 160, 50, 100, 0, 0.9), (161, 161, 50, 100, 0, 0.8),
                         (60, 200, 40, 40, 2, 0.7)])
    model = constant_model(tmp_path / 'm.onnx', out)
    detector = OnnxDetector(manifest(tmp_path, model, sha256=sha256_of(model)))
    assert detector.layout == 'yolov8' and (detector.width, detector.height) == (320, 320)
    found = detector.detect(np.zeros((480, 640, 3), np.uint8), source_rgb=False)
    assert found.classes.tolist() == [0, 2]  # the duplicate person was suppressed
    np.testing.assert_allclose(found.boxes[0], [270, 140, 370, 340], atol=1e-3)
    assert set(detector.timings) == {'preprocess_ms', 'inference_ms', 'postprocess_ms'}


def test_a_missing_corrupt_or_tampered_model_is_an_error(tmp_path):
    with pytest.raises(ModelError, match='not found'):
        OnnxDetector(manifest(tmp_path, str(tmp_path / 'none.onnx')))
    corrupt = tmp_path / 'corrupt.onnx'
    corrupt.write_bytes(b'not a model' * 100)
    with pytest.raises(ModelError, match='cannot load'):
        OnnxDetector(manifest(tmp_path, str(corrupt)))
    model = constant_model(tmp_path / 'm.onnx', yolov8_output([(1, 1, 1, 1, 0, 1)]))
    with pytest.raises(ModelError, match='corrupt or tampered'):
        OnnxDetector(manifest(tmp_path, model, sha256='0' * 64))


def test_a_model_that_does_not_match_its_manifest_is_an_error(tmp_path):
    model = constant_model(tmp_path / 'm.onnx', yolov8_output([(1, 1, 1, 1, 0, 1)]))
    with pytest.raises(ModelError, match='320x320'):
        OnnxDetector(manifest(tmp_path, model, input={'width': 640, 'height': 640}))
    with pytest.raises(ModelError, match='labels match'):
        OnnxDetector(manifest(tmp_path, model, labels=['person', 'box']))
    with pytest.raises(ModelError, match='layout yolov5'):
        OnnxDetector(manifest(tmp_path, model, output={'layout': 'yolov5'}))


@pytest.mark.parametrize('doc,message', [
    ({'labels': LABELS}, 'missing field file'),
    ({'file': 'm.onnx'}, 'labels must be'),
    ({'file': 'm.onnx', 'labels': ['a', 'a']}, 'repeat'),
    ({'file': 'm.onnx', 'labels': LABELS, 'colour': 'rgb'}, 'unknown key colour'),
    ({'file': 'm.onnx', 'labels': LABELS, 'input': {'color': 'yuv'}}, 'input.color'),
    ({'file': 'm.onnx', 'labels': LABELS, 'output': {'layout': 'ssd'}}, 'output.layout'),
])
def test_bad_manifests_say_why(tmp_path, doc, message):
    path = tmp_path / 'bad.yaml'
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ModelError, match=message):
        load_manifest(str(path))


def test_silent_fallback_to_cpu_is_reported_or_refused(tmp_path):
    model = constant_model(tmp_path / 'm.onnx', yolov8_output([(1, 1, 1, 1, 0, 1)]))
    m = manifest(tmp_path, model)
    detector = OnnxDetector(m, providers=('tensorrt', 'cuda', 'cpu'))
    assert detector.providers_in_use == ['CPUExecutionProvider']
    assert detector.providers_missing == ['TensorrtExecutionProvider', 'CUDAExecutionProvider']
    with pytest.raises(ModelError, match='TensorrtExecutionProvider was required'):
        OnnxDetector(m, providers=('tensorrt', 'cpu'), require_first_provider=True)
    with pytest.raises(ModelError, match='unknown execution provider'):
        OnnxDetector(m, providers=('openvino',))
