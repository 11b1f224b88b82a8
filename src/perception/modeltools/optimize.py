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
`perception optimize`: a user's detector export in, an INT8 model and its manifests out.

Takes any ONNX detector of the supported layouts (YOLOv8/YOLO11 either orientation, YOLOv5,
end-to-end), its labels and calibration images (a folder, a YOLO dataset or a bag), and writes
<name>_int8.onnx with the manifests of both models, <name>_fp32.yaml and <name>_int8.yaml
(sha256, input, layout, labels, precision, how it was quantized). Nothing is left
half-written: every file appears only once all are good.
"""

import os
from typing import Dict, List, Sequence, Tuple

import numpy as np

from perception.core.detection import DetectionError, infer_layout, iou, letterbox, to_tensor
from perception.core.model import manifest_doc, save_manifest
from perception.core.yamlfile import read_yaml
from perception.modeltools.graph import image_input, load_model, OptimizeError
from perception.modeltools.images import sample_images
from perception.modeltools.quantize import quantize


def parse_labels(text: str) -> List[str]:
    """Labels from a file (one per line, or YAML with names:) or a comma-separated list."""
    if os.path.isfile(text):
        if text.endswith(('.yaml', '.yml')):
            doc = read_yaml(text, OptimizeError, 'labels')
            names = doc.get('names') if isinstance(doc, dict) else doc
            if isinstance(names, dict):
                names = [names[k] for k in sorted(names)]
        else:
            with open(text, encoding='utf-8') as stream:
                names = [line.strip() for line in stream if line.strip()]
    else:
        names = [n.strip() for n in text.split(',') if n.strip()]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise OptimizeError(f'no labels in {text!r}: give a file with one per line, a YAML '
                            'file with names:, or a comma-separated list')
    if len(set(names)) != len(names):
        raise OptimizeError(f'labels repeat a name: {names}')
    return names


def inspect(path: str, labels: Sequence[str]) -> Tuple[int, int, str]:
    """Return the input width, height and output layout of a detector; OptimizeError if none."""
    import onnxruntime as ort
    image_input(load_model(path))
    try:
        session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    except Exception as exc:  # noqa: B902 - ORT raises its own types for bad models
        raise OptimizeError(f'ONNX Runtime cannot load {path}: {exc}') from None
    shape = session.get_inputs()[0].shape
    if not all(isinstance(v, int) for v in shape[2:]):
        raise OptimizeError(f'{path} takes images of a dynamic size {shape}; export it with a '
                            'fixed input size')
    height, width = shape[2], shape[3]
    outputs = session.run(None, {session.get_inputs()[0].name:
                                 np.zeros((1, 3, height, width), np.float32)})
    try:
        layout = infer_layout(outputs[0].shape, len(labels))
    except DetectionError as exc:
        raise OptimizeError(f'{path} is not a detector of a known layout for {len(labels)} '
                            f'labels ({", ".join(labels)}): {exc}') from None
    return width, height, layout


def tensors(images, width: int, height: int, color: str, scale: float):
    """Input tensors of RGB images, fed exactly as the detector feeds them."""
    for image in images:
        boxed, _ = letterbox(image, width, height)
        yield to_tensor(boxed, color == 'rgb', True, scale)


def agreement(fp32: str, int8: str, images, labels: Sequence[str], layout: str, width: int,
              height: int, color: str, scale: float, score: float = 0.25) -> float:
    """Share of the FP32 model's detections the INT8 one finds too (same class, IoU 0.5)."""
    import onnxruntime as ort
    from perception.core.detection import postprocess
    sessions = [ort.InferenceSession(p, providers=['CPUExecutionProvider'])
                for p in (fp32, int8)]
    found = matched = 0
    for image in images:
        boxed, info = letterbox(image, width, height)
        tensor = to_tensor(boxed, color == 'rgb', True, scale)
        results = [postprocess(s.run(None, {s.get_inputs()[0].name: tensor})[0], layout,
                               len(labels), info, score) for s in sessions]
        reference, candidate = results
        for box, cls in zip(reference.boxes, reference.classes):
            found += 1
            same = candidate.boxes[candidate.classes == cls]
            matched += int(len(same) > 0 and iou(box, same).max() >= 0.5)
    return matched / found if found else 1.0


def optimize(model: str, labels: Sequence[str], calibration: str, out_dir: str,
             name: str = '', topic: str = '', images: int = 128, color: str = 'rgb',
             scale: float = 1 / 255.0) -> Dict[str, object]:
    """Quantize a detector and write its manifests; return a summary. OptimizeError if bad."""
    if color not in ('rgb', 'bgr'):
        raise OptimizeError(f'color must be rgb or bgr, not {color!r}')
    model = os.path.abspath(model)
    width, height, layout = inspect(model, labels)
    frames = sample_images(calibration, images, topic)
    if not name:
        name = os.path.splitext(os.path.basename(model))[0]
        name = name[:-len('_fp32')] if name.endswith('_fp32') else name
    os.makedirs(out_dir, exist_ok=True)
    int8 = os.path.join(out_dir, f'{name}_int8.onnx')
    manifests = {p: os.path.join(out_dir, f'{name}_{p}.yaml') for p in ('fp32', 'int8')}
    staged = int8 + f'.tmp{os.getpid()}'
    try:
        report = quantize(model, staged, tensors(frames, width, height, color, scale))
        agree = agreement(model, staged, frames[:16], labels, layout, width, height, color,
                          scale)
        os.replace(staged, int8)
    finally:
        if os.path.exists(staged):
            os.remove(staged)
    quantization = {'format': 'QDQ', 'weights': 'int8 per channel', 'activations': 'uint8',
                    'calibration_images': report.calibration_images,
                    'calibration_source': os.path.basename(os.path.normpath(calibration)),
                    'quantized_layers': f'{report.quantized_layers}/{report.weighted_layers}',
                    'decode_nodes_in_float': report.decode_nodes,
                    'fp32_agreement': round(agree, 4)}
    try:
        fp32_doc = manifest_doc(f'{name}_fp32', model, out_dir, labels, width, height, layout,
                                'fp32', color, scale)
        int8_doc = manifest_doc(f'{name}_int8', int8, out_dir, labels, width, height, layout,
                                'int8', color, scale, quantization=quantization,
                                source={'file': fp32_doc['file'],
                                        'sha256': fp32_doc['sha256']})
        for precision, doc in (('fp32', fp32_doc), ('int8', int8_doc)):
            save_manifest(manifests[precision], doc)
    except BaseException:
        for path in [int8] + list(manifests.values()):
            if os.path.exists(path):
                os.remove(path)
        raise
    return {'model': model, 'layout': layout, 'input': [width, height], 'int8': int8,
            'manifests': manifests, 'quantization': quantization}
