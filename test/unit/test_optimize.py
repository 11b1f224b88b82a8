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

"""perception optimize on exports of every layout, named unlike ours; its refusals."""

import os
import subprocess

import cv2
import numpy as np
import onnx
import pytest

from perception.core.detection import iou
from perception.core.model import load_manifest, OnnxDetector, sha256_of
from perception.modeltools.graph import ensure_names, load_model, OptimizeError, split
from perception.modeltools.graph import weighted_coverage
from perception.modeltools.optimize import optimize, parse_labels
from perception.modeltools.quantize import quantize
from support import perception_command, write_bag

torch = pytest.importorskip('torch', reason='the test exports are built with PyTorch')
exports = pytest.importorskip('exports')

LABELS = ['person', 'forklift', 'pallet', 'box']
LAYOUTS = ['yolov8', 'yolov8_transposed', 'yolov5', 'end2end']


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp('exports')
    return {layout: (str(folder / f'{layout}.onnx'),
                     exports.export(layout, folder / f'{layout}.onnx'))
            for layout in LAYOUTS}


@pytest.fixture(scope='module')
def frames(tmp_path_factory):
    """Return a folder of colourful 160x120 images: noise, blobs and stripes."""
    folder = tmp_path_factory.mktemp('frames')
    rng = np.random.default_rng(3)
    for i in range(24):
        image = rng.integers(0, 255, (120, 160, 3), np.uint8)
        cv2.circle(image, (int(rng.integers(20, 140)), int(rng.integers(20, 100))), 25,
                   tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
        image[:, ::8] = 30 * (i % 8)
        cv2.imwrite(str(folder / f'{i:03d}.png'), image)
    return str(folder)


def outputs(path, images):
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    return [session.run(None, {session.get_inputs()[0].name: x})[0] for x in images]


def test_the_decoding_is_found_by_structure_whatever_the_names(models):
    for layout, (path, _model) in models.items():
        model = load_model(path)
        ensure_names(model)
        parts = split(model)
        names = {n.name: n for n in model.graph.node}
        assert not any(name.startswith('/model/') for name in names)
        # The network holds every learned convolution; the decoding none of them.
        convs = [n for n in names.values() if n.op_type == 'Conv']
        network_convs = [n for n in convs if n.name in parts.network]
        assert network_convs and all(
            [i for i in model.graph.initializer if i.name == n.input[1]][0].dims[0] == 1
            for n in convs if n.name in parts.decode), layout
        # Every path to the output goes through the decoding.
        producer = {o: n.name for n in model.graph.node for o in n.output}
        assert producer[model.graph.output[0].name] in parts.decode, layout


@pytest.mark.parametrize('layout', LAYOUTS)
def test_optimize_quantizes_the_network_and_agrees_with_fp32(models, frames, tmp_path, layout):
    path, _ = models[layout]
    summary = optimize(path, LABELS, frames, str(tmp_path), 'user', images=16)
    int8 = summary['int8']
    graph = onnx.load(int8).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count('QuantizeLinear') > 5 and ops.count('DequantizeLinear') > 10
    convs = [n.name for n in graph.node if n.op_type == 'Conv']
    quantized, total = weighted_coverage(load_model(int8), convs)
    assert quantized >= total - 1  # every learned convolution; the fixed DFL one stays float
    # Manifests of both models, with hash, input, layout, labels and precision.
    fp32 = load_manifest(summary['manifests']['fp32'])
    q8 = load_manifest(summary['manifests']['int8'])
    assert (q8.precision, fp32.precision) == ('int8', 'fp32')
    assert q8.sha256 == sha256_of(int8) and fp32.sha256 == sha256_of(path)
    assert list(q8.labels) == LABELS and (q8.width, q8.height) == (128, 128)
    assert q8.layout == fp32.layout == ('yolov8' if 'yolov8' in layout else layout)
    # Same detections on images: the decoding in float keeps scores and boxes.
    images = [cv2.imread(os.path.join(frames, f))[:, :, ::-1] for f in
              sorted(os.listdir(frames))[:6]]
    detectors = [OnnxDetector(m) for m in (fp32, q8)]
    found = matched = 0
    for image in images:
        a, b = (d.detect(image, source_rgb=True, score_threshold=0.2) for d in detectors)
        for box, cls, score in zip(a.boxes, a.classes, a.scores):
            found += 1
            same = b.boxes[b.classes == cls]
            if len(same):
                matched += iou(box, same).max() >= 0.5
    assert found >= 10 and matched / found >= 0.8, (layout, matched, found)
    assert summary['quantization']['fp32_agreement'] >= 0.8


def test_quantizing_the_decoding_too_would_erase_the_scores(models, frames, tmp_path):
    """The failure the decoding's split prevents: coordinates and scores under one scale."""
    from onnxruntime.quantization import QuantFormat, quantize_static
    from onnxruntime.quantization import CalibrationDataReader
    path, _ = models['yolov8']
    tensors = [np.random.default_rng(i).random((1, 3, 128, 128), np.float32)
               for i in range(8)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(tensors)

        def get_next(self):
            x = next(self.items, None)
            return None if x is None else {'pixels': x}

    naive = str(tmp_path / 'naive.onnx')
    quantize_static(path, naive, Reader(), quant_format=QuantFormat.QDQ, per_channel=True)
    ours = str(tmp_path / 'ours.onnx')
    quantize(path, ours, iter(tensors))
    reference, = outputs(path, tensors[:1])
    errors = {}
    for name, candidate in (('naive', naive), ('ours', ours)):
        out, = outputs(candidate, tensors[:1])
        errors[name] = float(np.abs(out[0, 4:] - reference[0, 4:]).max())
    assert errors['ours'] < 0.1 < errors['naive'], errors


def test_calibration_frames_can_come_from_a_recorded_bag(models, tmp_path):
    pytest.importorskip('rosbags', reason='bags are read with the rosbags package')
    bag = write_bag(tmp_path / 'bag', {'/camera/image_raw': 'rgb8', '/status': 'odom'},
                    'mcap', count=12)
    path, _ = models['yolov8']
    summary = optimize(path, LABELS, bag, str(tmp_path / 'out'), 'from_bag', images=8)
    assert summary['quantization']['calibration_images'] == 8
    assert summary['quantization']['calibration_source'] == 'bag'


def test_a_model_with_nothing_to_quantize_is_refused(tmp_path, frames):
    from onnx import helper, numpy_helper, TensorProto
    # A 'detector' of one YOLOv8-layout output that learned nothing: it only reshapes pixels.
    x = helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, 32, 32])
    y = helper.make_tensor_value_info('out', TensorProto.FLOAT, [1, 8, 384])
    nodes = [helper.make_node('Reshape', ['images', 'shape'], ['flat'], name='flatten'),
             helper.make_node('Slice', ['flat', 'start', 'end', 'axis'], ['cut'], name='cut'),
             helper.make_node('Reshape', ['cut', 'shape2'], ['out'], name='rows')]
    inits = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in (
        ('shape', [1, 3, 1024]), ('start', [0]), ('end', [1024]), ('axis', [2]),
        ('shape2', [1, 8, 384]))]
    graph = helper.make_graph(nodes, 'no_network', [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    path = str(tmp_path / 'nothing.onnx')
    onnx.save(model, path)
    with pytest.raises(OptimizeError, match='effectively unquantized|not a detector'):
        optimize(path, LABELS, frames, str(tmp_path / 'out'), 'nothing', images=4)
    assert not os.path.exists(tmp_path / 'out' / 'nothing_int8.onnx')


def test_labels_from_a_file_yaml_or_list(tmp_path):
    (tmp_path / 'labels.txt').write_text('person\nforklift\n\n')
    (tmp_path / 'data.yaml').write_text('names: {0: person, 1: box}\n')
    assert parse_labels(str(tmp_path / 'labels.txt')) == ['person', 'forklift']
    assert parse_labels(str(tmp_path / 'data.yaml')) == ['person', 'box']
    assert parse_labels('a, b,c') == ['a', 'b', 'c']
    with pytest.raises(OptimizeError, match='repeat'):
        parse_labels('a,a')


def run_cli(*args):
    result = subprocess.run(perception_command('optimize', *args), capture_output=True,
                            text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize('case,message', [
    ('not_onnx', 'is not an ONNX model'),
    ('labels', 'not a detector of a known layout for 3 labels'),
    ('empty', 'holds no image'),
    ('gray', 'has 1 channel(s); expected colour'),
    ('tiny', 'smaller than the 32 a detector can use'),
    ('missing', 'calibration source'),
])
def test_bad_input_is_a_clear_message_exit_2_and_nothing_written(models, frames, tmp_path,
                                                                 case, message):
    path, _ = models['yolov8']
    labels, calibration = ','.join(LABELS), frames
    if case == 'not_onnx':
        path = str(tmp_path / 'model.onnx')
        open(path, 'w').write('this is not a model')
    elif case == 'labels':
        labels = 'person,forklift,pallet'
    elif case in ('empty', 'gray', 'tiny'):
        calibration = str(tmp_path / 'images')
        os.makedirs(calibration)
        if case == 'gray':
            cv2.imwrite(os.path.join(calibration, 'a.png'), np.zeros((64, 64), np.uint8))
        elif case == 'tiny':
            cv2.imwrite(os.path.join(calibration, 'a.png'), np.zeros((16, 16, 3), np.uint8))
    else:
        calibration = str(tmp_path / 'nowhere')
    out = tmp_path / 'out'
    code, output = run_cli(path, '--labels', labels, '--calibration', calibration, '--out',
                           str(out), '--name', 'user', '--images', '8')
    assert code == 2 and message in output and 'Traceback' not in output, output
    assert not out.exists() or os.listdir(out) == []
