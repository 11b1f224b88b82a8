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
Detection accuracy: average precision per class, COCO style, and YOLO label files.

AP is the area under the interpolated precision-recall curve sampled at 101 recall points;
mAP@0.5 uses an IoU of 0.5 to match a prediction to a ground-truth box, mAP@0.5:0.95 averages
the IoUs 0.50, 0.55, ..., 0.95. Each ground-truth box is matched at most once, by the
highest-scoring prediction of its class that overlaps it enough.
"""

from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np

from perception.core.detection import iou

IOU_THRESHOLDS = np.round(np.arange(0.5, 0.951, 0.05), 2)


@dataclass
class ImageTruth:
    """The ground-truth boxes (N, 4 as x1, y1, x2, y2) and classes (N,) of one image."""

    boxes: np.ndarray
    classes: np.ndarray


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision envelope, sampled at recall 0, 0.01, ..., 1 (COCO)."""
    if not len(recall):
        return 0.0
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    points = np.linspace(0.0, 1.0, 101)
    index = np.searchsorted(recall, points, side='left')
    sampled = np.where(index < len(envelope), envelope[np.minimum(index, len(envelope) - 1)],
                       0.0)
    return float(sampled.mean())


@dataclass
class Curve:
    """A class's precision-recall curve: one point per detection, by descending score."""

    scores: np.ndarray
    recall: np.ndarray
    precision: np.ndarray
    instances: int


def pr_curve(predictions, truths: Sequence[ImageTruth], cls: int,
             threshold: float = 0.5) -> Curve:
    """Return the precision-recall curve of a class at an IoU threshold."""
    gt = {i: t.boxes[t.classes == cls] for i, t in enumerate(truths)}
    total = sum(len(b) for b in gt.values())
    entries = [(score, i, box) for i, p in enumerate(predictions)
               for box, score, c in zip(p.boxes, p.scores, p.classes) if c == cls]
    entries.sort(key=lambda e: -e[0])
    used = {i: np.zeros(len(b), bool) for i, b in gt.items()}
    hits = np.zeros(len(entries))
    for k, (_score, i, box) in enumerate(entries):
        if not len(gt[i]):
            continue
        overlaps = iou(np.asarray(box, np.float64), gt[i].astype(np.float64))
        overlaps[used[i]] = -1.0
        best = int(np.argmax(overlaps))
        if overlaps[best] >= threshold:
            used[i][best] = True
            hits[k] = 1.0
    tp = np.cumsum(hits)
    return Curve(np.array([e[0] for e in entries], np.float64), tp / max(total, 1),
                 tp / np.arange(1, len(entries) + 1), total)


def _class_ap(predictions, truths, cls: int, threshold: float) -> float:
    curve = pr_curve(predictions, truths, cls, threshold)
    if curve.instances == 0:
        return float('nan')
    return average_precision(curve.recall, curve.precision)


@dataclass(frozen=True)
class OperatingPoint:
    """A score threshold and what it gives: recall and precision at IoU 0.5."""

    score: float
    recall: float
    precision: float
    rule: str
    met: bool = True


def threshold_for_recall(curve: Curve, target: float,
                         min_precision: float = 0.5) -> OperatingPoint:
    """
    Return the highest score threshold whose recall reaches target, precision kept usable.

    Only thresholds at which at least min_precision of the detections are right are
    considered: below that, false detections would stop a robot all the time. When the model
    never reaches the target there, the threshold of its highest recall, marked not met: for a
    safety-relevant class, missing nothing it can avoid missing. With no usable threshold at
    all, the best F1.
    """
    rule = f'recall >= {target:g}, precision >= {min_precision:g}'
    if not len(curve.scores):
        return OperatingPoint(0.0, 0.0, 0.0, rule, False)
    usable = curve.precision >= min_precision
    if not usable.any():
        point = threshold_best_f1(curve)
        return OperatingPoint(point.score, point.recall, point.precision, rule, False)
    reached = np.flatnonzero(usable & (curve.recall >= target - 1e-12))
    k = int(reached[0]) if len(reached) else \
        int(np.flatnonzero(usable)[np.argmax(curve.recall[usable])])
    return OperatingPoint(float(curve.scores[k]), float(curve.recall[k]),
                          float(curve.precision[k]), rule, bool(len(reached)))


def threshold_best_f1(curve: Curve) -> OperatingPoint:
    """Return the score threshold that maximizes F1."""
    if not len(curve.scores):
        return OperatingPoint(0.0, 0.0, 0.0, 'best F1', False)
    f1 = 2 * curve.precision * curve.recall / np.maximum(curve.precision + curve.recall, 1e-12)
    k = int(np.argmax(f1))
    return OperatingPoint(float(curve.scores[k]), float(curve.recall[k]),
                          float(curve.precision[k]), 'best F1')


def evaluate(predictions: Sequence, truths: Sequence[ImageTruth],
             labels: Sequence[str]) -> Dict[str, object]:
    """mAP@0.5 and mAP@0.5:0.95 (as fractions), overall and per class, over a set of images."""
    if len(predictions) != len(truths):
        raise ValueError('one prediction set per image is needed')
    per_class = {}
    for cls, name in enumerate(labels):
        aps = [_class_ap(predictions, truths, cls, t) for t in IOU_THRESHOLDS]
        instances = int(sum((t.classes == cls).sum() for t in truths))
        per_class[name] = {'ap50': aps[0], 'ap50_95': float(np.mean(aps)),
                           'instances': instances}
    present = [v for v in per_class.values() if v['instances']]
    return {'map50': float(np.mean([v['ap50'] for v in present])) if present else float('nan'),
            'map50_95': float(np.mean([v['ap50_95'] for v in present]))
            if present else float('nan'),
            'per_class': per_class, 'images': len(truths)}


def read_yolo_labels(path: str, width: int, height: int) -> ImageTruth:
    """Read a YOLO label file (class cx cy w h, normalized) as pixel boxes."""
    rows: List[List[float]] = []
    with open(path, encoding='utf-8') as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 5:
                raise ValueError(f'{path}:{number}: expected 5 fields, got {len(fields)}')
            rows.append([float(v) for v in fields])
    if not rows:
        return ImageTruth(np.zeros((0, 4)), np.zeros(0, np.int64))
    data = np.array(rows)
    cx, cy, w, h = data[:, 1] * width, data[:, 2] * height, data[:, 3] * width, \
        data[:, 4] * height
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    return ImageTruth(boxes, data[:, 0].astype(np.int64))
