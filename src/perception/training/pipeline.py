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
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from perception.core.detection import letterbox
from perception.core.evaluation import read_yolo_labels
from perception.sim.scenario import DETECTION_CLASSES

SIZE = 320


def load_split(directory: str, limit: int = 0) -> Tuple[np.ndarray, List]:
    """
    Letterboxed RGB images (N, SIZE, SIZE, 3) and boxes in letterboxed pixels.

    directory may list several datasets, comma-separated (renders made in parallel).
    """
    paths = sorted(p for d in directory.split(',') if d
                   for p in glob.glob(os.path.join(d, 'images', '*', '*.jpg')))
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


def pick_device(name: str = 'auto') -> str:
    """Return 'cuda' when asked for or available (auto), else 'cpu'."""
    import torch
    if name == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if name == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda asked for, but PyTorch sees no GPU here')
    return name


def _zoom(x, targets, rng: np.random.Generator):
    """Zoom a batch in or out by one random factor (0.7 to 1.3), moving the boxes with it."""
    import torch
    import torch.nn.functional as F
    factor = float(rng.uniform(0.7, 1.3))
    size = int(round(SIZE * factor))
    scaled = F.interpolate(x, size=(size, size), mode='bilinear', align_corners=False)
    if size >= SIZE:  # crop a window of the enlarged images
        ox, oy = (int(rng.integers(0, size - SIZE + 1)) for _ in range(2))
        out = scaled[:, :, oy:oy + SIZE, ox:ox + SIZE]
        shift = (-ox, -oy)
    else:  # place the reduced images on grey
        ox, oy = (int(rng.integers(0, SIZE - size + 1)) for _ in range(2))
        out = torch.full_like(x, 114 / 255.0)
        out[:, :, oy:oy + size, ox:ox + size] = scaled
        shift = (ox, oy)
    moved = []
    for boxes, classes in targets:
        b = boxes * factor + np.array(shift * 2, np.float32)
        clipped = b.clip(0, SIZE)
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        kept_area = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
        # A box mostly cut away, or too small to learn from, is no longer a target.
        keep = (kept_area >= 0.4 * np.maximum(area, 1e-6)) & \
            (clipped[:, 2] - clipped[:, 0] >= 2) & (clipped[:, 3] - clipped[:, 1] >= 2)
        moved.append((clipped[keep], classes[keep]))
    return out, moved


def train(images, targets, epochs: int, batch: int = 16, lr: float = 2e-3, seed: int = 0,
          progress: bool = True, device: str = 'cpu', widths=None, teacher=None,
          distill: float = 1.0, model=None, zoom: bool = True):
    """
    Train TinyDetector (or go on training `model`, e.g. a pruned one); return it in eval mode.

    Augmentation: horizontal flips, lighting gain and offset, a zoom per batch. A `teacher`
    (a trained TinyDetector) adds its soft class scores to the targets (distillation). On a
    GPU the images live on the device and the forward pass runs in bfloat16.
    """
    import torch
    from perception.training.net import detection_loss, TinyDetector, Widths
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if model is None:
        model = TinyDetector(len(DETECTION_CLASSES), widths or Widths())
    model = model.to(device)
    if teacher is not None:
        teacher = teacher.to(device).eval()
    pixels = torch.from_numpy(images).to(device)  # uint8, (N, SIZE, SIZE, 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    steps = epochs * int(np.ceil(len(images) / batch))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps,
                                                   pct_start=0.15)
    from tqdm import tqdm
    bar = tqdm(total=steps, disable=not progress, desc='training', unit='batch')
    autocast = torch.autocast('cuda', dtype=torch.bfloat16) if device == 'cuda' else None
    model.train()
    for epoch in range(epochs):
        order = rng.permutation(len(images))
        for start in range(0, len(images), batch):
            index = order[start:start + batch]
            x = pixels[torch.from_numpy(index).to(device)].permute(0, 3, 1, 2).float() / 255.0
            flips = rng.random(len(index)) < 0.5
            flip_mask = torch.from_numpy(flips).to(device)
            x[flip_mask] = x[flip_mask].flip(-1)
            # Lighting varies in the warehouse: random gain and offset per image.
            gain = torch.from_numpy(rng.uniform(0.6, 1.4, (len(index), 1, 1, 1))).float()
            offset = torch.from_numpy(rng.uniform(-0.08, 0.08, (len(index), 1, 1, 1))).float()
            x = (x * gain.to(device) + offset.to(device)).clamp(0, 1)
            batch_targets = []
            for k, i in enumerate(index):
                boxes, classes = targets[i]
                boxes = boxes.copy()
                if flips[k]:
                    boxes[:, [0, 2]] = SIZE - boxes[:, [2, 0]]
                batch_targets.append((boxes, classes))
            if zoom and rng.random() < 0.5:
                x, batch_targets = _zoom(x, batch_targets, rng)
            if autocast is not None:
                with autocast:
                    outputs = model(x)
                    soft = _teacher(teacher, x)
            else:
                outputs, soft = model(x), _teacher(teacher, x)
            loss, parts = detection_loss(outputs, batch_targets, len(DETECTION_CLASSES),
                                         soft, distill)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            schedule.step()
            bar.set_postfix(epoch=epoch + 1, loss=f'{float(loss.detach()):.3f}',
                            box=f'{parts["box"]:.3f}')
            bar.update(1)
    bar.close()
    return model.cpu().eval()


def _teacher(teacher, x):
    if teacher is None:
        return None
    import torch
    with torch.no_grad():
        return [(b.detach(), c.detach()) for b, c in teacher(x)]


def export(model, path: str) -> None:
    """Write the model as one ONNX file in the YOLOv8 layout."""
    import torch
    from perception.training.net import Exported
    torch.onnx.export(Exported(model), torch.zeros(1, 3, SIZE, SIZE), path,
                      input_names=['images'], output_names=['output0'], opset_version=17,
                      dynamo=False)


#: The variants train_candidates can make: the label-only student, the larger teacher, the
#: student distilled from it, and the distilled student pruned by a share of its channels.
STUDENT, TEACHER, DISTILLED = 'student', 'teacher', 'distilled'


def pruned_name(fraction: float) -> str:
    """Return the candidate name of a pruning level, e.g. pruned_50."""
    return f'pruned_{int(round(100 * fraction))}'


def train_candidates(train_dir: str, out: str, epochs: int, device: str = 'auto',
                     batch: int = 16, teacher_epochs: int = 0, teacher_scale: float = 2.0,
                     prune: Sequence[float] = (), finetune_epochs: int = 0, limit: int = 0,
                     progress: bool = True, lr: float = 2e-3) -> dict:
    """
    Train the variants and export each to <out>/<name>.onnx; return what was done.

    The label-only student always; with teacher_epochs, a teacher `teacher_scale` times wider
    and a student distilled from it (the same epochs as the label-only one: the same budget);
    with prune, the distilled (or label-only) student pruned by each fraction and fine-tuned.
    """
    import torch
    from perception.training.net import prune as narrow, Widths
    device = pick_device(device)
    os.makedirs(out, exist_ok=True)
    images, targets = load_split(train_dir, limit)
    done = {'device': device, 'train_images': len(images), 'epochs': epochs, 'batch': batch,
            'variants': {}}

    def keep(name, model, started, **info):
        export(model, os.path.join(out, f'{name}.onnx'))
        torch.save(model.state_dict(), os.path.join(out, f'{name}.pt'))
        done['variants'][name] = dict(info, parameters=sum(p.numel()
                                                           for p in model.parameters()),
                                      widths=str(model.widths),
                                      minutes=round((time.time() - started) / 60, 2))
        with open(os.path.join(out, 'training.json'), 'w', encoding='utf-8') as stream:
            json.dump(done, stream, indent=2)
        return model

    started = time.time()
    best = keep(STUDENT, train(images, targets, epochs, batch, lr, progress=progress,
                               device=device), started, epochs=epochs, teacher=None)
    if teacher_epochs:
        started = time.time()
        teacher = keep(TEACHER, train(images, targets, teacher_epochs, batch, lr, seed=1,
                                      progress=progress, device=device,
                                      widths=Widths().scaled(teacher_scale)),
                       started, epochs=teacher_epochs, scale=teacher_scale)
        started = time.time()
        best = keep(DISTILLED, train(images, targets, epochs, batch, lr, progress=progress,
                                     device=device, teacher=teacher), started, epochs=epochs,
                    teacher=TEACHER)
    for fraction in prune:
        started = time.time()
        small = narrow(best, fraction)
        teacher_model = teacher if teacher_epochs else None
        keep(pruned_name(fraction),
             train(images, targets, finetune_epochs, batch, lr / 4, progress=progress,
                   device=device, teacher=teacher_model, model=small),
             started, fraction=fraction, finetune_epochs=finetune_epochs,
             pruned_from=DISTILLED if teacher_epochs else STUDENT)
    return done


def evaluate_candidates(out: str, heldout_dir: str, calibration_dir: str,
                        names: Sequence[str] = ()) -> dict:
    """
    Quantize each exported candidate and evaluate FP32 and INT8 on the held-out set (CPU).

    Writes each candidate's manifests (<name>.yaml, <name>_int8.yaml) and results.json.
    """
    from perception.modeltools.evaluate import run as evaluate
    from perception.modeltools.optimize import optimize
    names = list(names) or sorted(os.path.basename(p)[:-5] for p in
                                  glob.glob(os.path.join(out, '*.onnx'))
                                  if not p.endswith('_int8.onnx'))
    results = {}
    for name in names:
        optimize(os.path.join(out, f'{name}.onnx'), list(DETECTION_CLASSES), calibration_dir,
                 out, name)
        manifests = [os.path.join(out, f'{name}_{p}.yaml') for p in ('fp32', 'int8')]
        for result in evaluate(manifests, heldout_dir, providers=['cpu'],
                               targets={'person': 0.9}):
            key = os.path.basename(result.manifest)[:-5]
            model = os.path.join(out, f'{name}.onnx' if key.endswith('_fp32')
                                 else f'{name}_int8.onnx')
            results[key] = {
                'map50': result.accuracy['map50'], 'map50_95': result.accuracy['map50_95'],
                'person_ap50': result.accuracy['per_class'].get('person', {}).get('ap50'),
                'per_class': result.accuracy['per_class'], 'latency': result.latency['cpu'],
                'size_bytes': os.path.getsize(model)}
        with open(os.path.join(out, 'results.json'), 'w', encoding='utf-8') as stream:
            json.dump(results, stream, indent=2)
    return results


def ship(candidates: str, name: str, out: str, model_name: str = 'warehouse_detector') -> dict:
    """Copy a candidate (FP32 and INT8) to <out>/<model_name>_{fp32,int8} with manifests."""
    import shutil

    import yaml
    from perception.core.model import manifest_doc, save_manifest
    training = json.load(open(os.path.join(candidates, 'training.json'), encoding='utf-8'))
    paths = {}
    for precision, suffix in (('fp32', ''), ('int8', '_int8')):
        source = os.path.join(candidates, f'{name}{suffix}.onnx')
        target = os.path.join(out, f'{model_name}_{precision}')
        shutil.copyfile(source, target + '.onnx')
        evaluated = yaml.safe_load(open(os.path.join(candidates, f'{name}_{precision}.yaml'),
                                        encoding='utf-8'))
        doc = manifest_doc(os.path.basename(target), target + '.onnx', out, DETECTION_CLASSES,
                           SIZE, SIZE, 'yolov8', precision,
                           training={'variant': name, 'device': training['device'],
                                     'train_images': training['train_images'],
                                     **training['variants'][name]},
                           **{k: evaluated[k] for k in ('accuracy', 'latency', 'thresholds',
                                                        'evaluation', 'quantization')
                              if k in evaluated})
        paths[precision] = save_manifest(target + '.yaml', doc)
    return paths


def pipeline(train_dir: str, heldout_dir: str, out: str, epochs: int, limit: int = 0,
             progress: bool = True, name: str = 'warehouse_detector', device: str = 'auto',
             batch: int = 16, teacher_epochs: int = 0, prune: Sequence[float] = (),
             finetune_epochs: int = 0, ship_variant: str = '') -> dict:
    """Train the candidates, quantize and evaluate them, and ship one into out."""
    candidates = os.path.join(out, 'candidates')
    started = time.time()
    done = train_candidates(train_dir, candidates, epochs, device, batch, teacher_epochs,
                            prune=prune, finetune_epochs=finetune_epochs, limit=limit,
                            progress=progress)
    results = evaluate_candidates(candidates, heldout_dir, train_dir)
    chosen = ship_variant or (DISTILLED if teacher_epochs else STUDENT)
    manifests = ship(candidates, chosen, out, name)
    return {'train_images': done['train_images'], 'epochs': epochs, 'shipped': chosen,
            'manifests': manifests, 'minutes': round((time.time() - started) / 60, 1),
            'results': {k: {m: v[m] for m in ('map50', 'map50_95', 'person_ap50')}
                        for k, v in results.items()}}
