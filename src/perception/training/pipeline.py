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
The model pipeline: train on simulator frames, export to ONNX, quantize to INT8, evaluate both.

    perception train-detector --train data/train --heldout data/heldout --out models

Reads YOLO datasets written by `perception dataset`, trains TinyDetector on the CPU, exports a
single ONNX file in the YOLOv8 layout, quantizes it with static QDQ quantization calibrated on
training frames, evaluates FP32 and INT8 on the held-out set (scenes the training never saw), and
writes both models with manifests (labels, input, sha256, accuracy) and a model card.
"""

import glob
import json
import os
import time
from typing import List, Tuple

import cv2
import numpy as np

from perception.core.detection import letterbox
from perception.core.evaluation import evaluate, read_yolo_labels
from perception.core.model import load_manifest, OnnxDetector, sha256_of
from perception.sim.scenario import DETECTION_CLASSES

SIZE = 320


def load_split(directory: str, limit: int = 0) -> Tuple[np.ndarray, List]:
    """Letterboxed RGB images (N, SIZE, SIZE, 3) and boxes in letterboxed pixels."""
    paths = sorted(glob.glob(os.path.join(directory, 'images', '*', '*.jpg')))
    if limit:
        paths = paths[:limit]
    if not paths:
        raise FileNotFoundError(f'no images under {directory}/images')
    images, targets = np.zeros((len(paths), SIZE, SIZE, 3), np.uint8), []
    for i, path in enumerate(paths):
        image = cv2.imread(path)[:, :, ::-1]
        images[i], info = letterbox(image, SIZE, SIZE)
        label = path.replace(f'{os.sep}images{os.sep}', f'{os.sep}labels{os.sep}')[:-4] + '.txt'
        truth = read_yolo_labels(label, image.shape[1], image.shape[0])
        boxes = truth.boxes * info.scale + [info.pad_x, info.pad_y, info.pad_x, info.pad_y]
        targets.append((boxes.astype(np.float32), truth.classes))
    return images, targets


def train(images, targets, epochs: int, batch: int = 16, lr: float = 2e-3, seed: int = 0,
          progress: bool = True):
    """Train TinyDetector; return it in eval mode."""
    import torch
    from perception.training.net import detection_loss, TinyDetector
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = TinyDetector(len(DETECTION_CLASSES))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    steps = epochs * int(np.ceil(len(images) / batch))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps,
                                                   pct_start=0.15)
    from tqdm import tqdm
    bar = tqdm(total=steps, disable=not progress, desc='training', unit='batch')
    model.train()
    for epoch in range(epochs):
        order = rng.permutation(len(images))
        for start in range(0, len(images), batch):
            index = order[start:start + batch]
            x = torch.from_numpy(images[index]).permute(0, 3, 1, 2).float() / 255.0
            flips = rng.random(len(index)) < 0.5
            x[torch.from_numpy(flips)] = x[torch.from_numpy(flips)].flip(-1)
            # Lighting varies in the warehouse: random gain and offset per image.
            gain = torch.from_numpy(rng.uniform(0.6, 1.4, (len(index), 1, 1, 1))).float()
            x = (x * gain + torch.from_numpy(rng.uniform(-0.08, 0.08, (len(index), 1, 1, 1)))
                 .float()).clamp(0, 1)
            batch_targets = []
            for k, i in enumerate(index):
                boxes, classes = targets[i]
                boxes = boxes.copy()
                if flips[k]:
                    boxes[:, [0, 2]] = SIZE - boxes[:, [2, 0]]
                batch_targets.append((torch.from_numpy(boxes), torch.from_numpy(classes)))
            loss, parts = detection_loss(model(x), batch_targets, len(DETECTION_CLASSES))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            schedule.step()
            bar.set_postfix(epoch=epoch + 1, loss=f'{float(loss):.3f}',
                            box=f'{parts["box"]:.3f}')
            bar.update(1)
    bar.close()
    return model.eval()


def export(model, path: str) -> None:
    """Write the model as one ONNX file in the YOLOv8 layout."""
    import torch
    from perception.training.net import Exported
    torch.onnx.export(Exported(model), torch.zeros(1, 3, SIZE, SIZE), path,
                      input_names=['images'], output_names=['output0'], opset_version=17,
                      dynamo=False)


def quantize(fp32: str, int8: str, calibration: np.ndarray) -> None:
    """Quantize to INT8 statically (QDQ, per-channel weights), calibrated on sim frames."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Frames(CalibrationDataReader):
        def __init__(self):
            self.items = iter(calibration)

        def get_next(self):
            image = next(self.items, None)
            if image is None:
                return None
            return {'images': (image.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)}

    import onnx
    prepared = int8 + '.prep.onnx'
    quant_pre_process(fp32, prepared)
    # The network is quantized; the decoding the export wrapper adds (every node outside
    # /model/) stays in float: its output joins box coordinates in pixels with scores in
    # [0, 1], and one 8-bit scale for both erased the scores (mAP@0.5 fell from 58 to 10).
    decode = [n.name for n in onnx.load(prepared).graph.node if not n.name.startswith('/model/')]
    quantize_static(prepared, int8, Frames(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    nodes_to_exclude=decode)
    os.remove(prepared)


def write_manifest(directory: str, name: str, precision: str, accuracy: dict) -> str:
    """Write the manifest <name>.yaml beside <name>.onnx; return its path."""
    import yaml
    model = os.path.join(directory, f'{name}.onnx')
    doc = {'name': name, 'file': f'{name}.onnx', 'labels': list(DETECTION_CLASSES),
           'sha256': sha256_of(model),
           'input': {'width': SIZE, 'height': SIZE, 'color': 'rgb', 'scale': 1 / 255.0,
                     'mean': [0.0, 0.0, 0.0], 'std': [1.0, 1.0, 1.0], 'layout': 'nchw'},
           'output': {'layout': 'yolov8'}, 'precision': precision,
           'size_bytes': os.path.getsize(model), 'accuracy': accuracy}
    path = os.path.join(directory, f'{name}.yaml')
    with open(path, 'w', encoding='utf-8') as stream:
        yaml.safe_dump(doc, stream, sort_keys=False)
    return path


def measure(manifest_path: str, images, targets, threads: int = 0) -> dict:
    """Return a model's mAP on letterboxed images, and its inference latency."""
    from perception.core.evaluation import ImageTruth
    detector = OnnxDetector(load_manifest(manifest_path), threads=threads)
    predictions, latencies = [], []
    for image in images:
        predictions.append(detector.detect(image, source_rgb=True, score_threshold=0.01,
                                           max_detections=300))
        latencies.append(detector.timings['inference_ms'])
    truths = [ImageTruth(b.astype(np.float64), c) for b, c in targets]
    result = evaluate(predictions, truths, DETECTION_CLASSES)
    result['inference_p50_ms'] = float(np.percentile(latencies, 50))
    result['inference_p99_ms'] = float(np.percentile(latencies, 99))
    return result


def pipeline(train_dir: str, heldout_dir: str, out: str, epochs: int, limit: int = 0,
             progress: bool = True, name: str = 'warehouse_detector') -> dict:
    """Train, export, quantize and evaluate; write models and manifests into out."""
    os.makedirs(out, exist_ok=True)
    started = time.time()
    images, targets = load_split(train_dir, limit)
    held_images, held_targets = load_split(heldout_dir)
    model = train(images, targets, epochs, progress=progress)
    fp32 = os.path.join(out, f'{name}_fp32.onnx')
    int8 = os.path.join(out, f'{name}_int8.onnx')
    export(model, fp32)
    rng = np.random.default_rng(0)
    quantize(fp32, int8, images[rng.permutation(len(images))[:128]])
    results = {}
    for precision, path in (('fp32', fp32), ('int8', int8)):
        stem = os.path.basename(path)[:-5]
        manifest = write_manifest(out, stem, precision, {})
        results[precision] = measure(manifest, held_images, held_targets)
        accuracy = {'heldout_images': len(held_images),
                    'map50': round(100 * results[precision]['map50'], 2),
                    'map50_95': round(100 * results[precision]['map50_95'], 2),
                    'per_class': {k: {'ap50': round(100 * v['ap50'], 2),
                                      'ap50_95': round(100 * v['ap50_95'], 2),
                                      'instances': v['instances']}
                                  for k, v in results[precision]['per_class'].items()}}
        write_manifest(out, stem, precision, accuracy)
    summary = {'train_images': len(images), 'heldout_images': len(held_images),
               'epochs': epochs, 'minutes': round((time.time() - started) / 60, 1),
               'fp32': {k: v for k, v in results['fp32'].items() if k != 'per_class'},
               'int8': {k: v for k, v in results['int8'].items() if k != 'per_class'}}
    with open(os.path.join(out, f'{name}_training.json'), 'w', encoding='utf-8') as stream:
        json.dump(summary, stream, indent=2)
    return summary
