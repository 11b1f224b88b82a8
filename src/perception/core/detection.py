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
Object detection around an ONNX model: letterboxing, output decoders and non-maximum suppression.

ROS-free. The decoders read the common ONNX detector layouts:
- yolov8: [1, 4 + classes, N] (YOLOv8, YOLO11): cx, cy, w, h, then one score per class;
- yolov5: [1, N, 5 + classes]: cx, cy, w, h, objectness, then class probabilities;
- end2end: [1, K, 6]: x1, y1, x2, y2, score, class, with NMS done inside the model.
Boxes come out in the model's input pixels; unletterbox() maps them to the original image.
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

LAYOUTS = ('yolov8', 'yolov5', 'end2end')


class DetectionError(ValueError):
    """A model output, layout or image the decoders cannot use."""


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the model's input: scale, then padding."""

    scale: float
    pad_x: float
    pad_y: float
    width: int   # original image
    height: int


@dataclass
class Detections:
    """Boxes (N, 4) as x1, y1, x2, y2 pixels, scores (N,) and class ids (N,)."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


def letterbox(image: np.ndarray, width: int, height: int,
              fill: int = 114) -> Tuple[np.ndarray, Letterbox]:
    """Resize an (h, w, 3) image to fit width x height keeping its aspect, pad the rest."""
    import cv2
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise DetectionError(f'expected an (h, w, 3) image, got shape {image.shape}')
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR) \
        if (new_w, new_h) != (w, h) else image
    pad_x, pad_y = (width - new_w) / 2, (height - new_h) / 2
    out = np.full((height, width, 3), fill, dtype=image.dtype)
    top, left = int(round(pad_y - 0.1)), int(round(pad_x - 0.1))
    out[top:top + new_h, left:left + new_w] = resized
    return out, Letterbox(scale, left, top, w, h)


def unletterbox(boxes: np.ndarray, info: Letterbox) -> np.ndarray:
    """Map x1, y1, x2, y2 boxes from the model's input back to the original image, clipped."""
    out = boxes.astype(np.float32).copy()
    out[:, [0, 2]] = (out[:, [0, 2]] - info.pad_x) / info.scale
    out[:, [1, 3]] = (out[:, [1, 3]] - info.pad_y) / info.scale
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, info.width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, info.height)
    return out


def _xyxy(cxcywh: np.ndarray) -> np.ndarray:
    cx, cy, w, h = cxcywh.T
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def infer_layout(shape: Sequence[int], classes: int) -> str:
    """Tell which layout an output of this shape is, for a model with `classes` classes."""
    if len(shape) != 3 or shape[0] != 1:
        raise DetectionError(f'expected an output of shape [1, a, b], got {list(shape)}')
    _, a, b = shape
    if a == 4 + classes and b != 5 + classes:
        return 'yolov8'
    if b == 5 + classes:
        return 'yolov5'
    if b == 6:
        return 'end2end'
    if b == 4 + classes:
        return 'yolov8'  # transposed [1, N, 4 + classes], as some exports write it
    raise DetectionError(f'output shape {list(shape)} fits no known layout with {classes} '
                         f'classes (yolov8 [1, {4 + classes}, N], yolov5 [1, N, {5 + classes}],'
                         ' end2end [1, K, 6])')


def decode(output: np.ndarray, layout: str, classes: int,
           score_threshold: float) -> Detections:
    """Candidate boxes (input pixels) above score_threshold, before NMS."""
    output = np.asarray(output, dtype=np.float32)
    if layout not in LAYOUTS:
        raise DetectionError(f'unknown layout {layout!r}; known: {", ".join(LAYOUTS)}')
    if output.ndim != 3 or output.shape[0] != 1:
        raise DetectionError(f'expected an output of shape [1, a, b], got {list(output.shape)}')
    rows = output[0]
    if layout == 'yolov8':
        if rows.shape[0] == 4 + classes:
            rows = rows.T
        if rows.shape[1] != 4 + classes:
            raise DetectionError(f'yolov8 output {list(output.shape)} does not hold '
                                 f'{classes} classes')
        class_scores = rows[:, 4:]
        ids = class_scores.argmax(1)
        scores = class_scores[np.arange(len(rows)), ids]
        boxes = _xyxy(rows[:, :4])
    elif layout == 'yolov5':
        if rows.shape[1] != 5 + classes:
            raise DetectionError(f'yolov5 output {list(output.shape)} does not hold '
                                 f'{classes} classes')
        class_scores = rows[:, 5:] * rows[:, 4:5]
        ids = class_scores.argmax(1)
        scores = class_scores[np.arange(len(rows)), ids]
        boxes = _xyxy(rows[:, :4])
    else:
        if rows.shape[1] != 6:
            raise DetectionError(f'end2end output {list(output.shape)} is not [1, K, 6]')
        boxes, scores, ids = rows[:, :4], rows[:, 4], rows[:, 5].round().astype(np.int64)
        if len(ids) and (ids.min() < 0 or ids.max() >= classes):
            keep = (ids >= 0) & (ids < classes)  # padding rows of fixed-size outputs
            boxes, scores, ids = boxes[keep], scores[keep], ids[keep]
    finite = np.isfinite(boxes).all(1) & np.isfinite(scores)
    keep = finite & (scores >= score_threshold)
    return Detections(boxes[keep].astype(np.float32), scores[keep].astype(np.float32),
                      ids[keep].astype(np.int64))


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one x1, y1, x2, y2 box with many."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(detections: Detections, iou_threshold: float, max_detections: int) -> Detections:
    """Per-class non-maximum suppression: keep the best box of each overlapping group."""
    if not len(detections):
        return detections
    # Offsetting each class far apart makes one pass suppress within classes only.
    offset = detections.classes[:, None].astype(np.float32) * \
        (float(np.abs(detections.boxes).max()) + 1.0)
    boxes = detections.boxes + offset
    order = np.argsort(-detections.scores, kind='stable')
    keep = []
    while len(order) and len(keep) < max_detections:
        best = order[0]
        keep.append(best)
        rest = order[1:]
        order = rest[iou(boxes[best], boxes[rest]) <= iou_threshold]
    keep = np.array(keep, dtype=np.int64)
    return Detections(detections.boxes[keep], detections.scores[keep], detections.classes[keep])


def postprocess(output: np.ndarray, layout: str, classes: int, info: Letterbox,
                score_threshold=0.25, iou_threshold: float = 0.45,
                max_detections: int = 100,
                class_filter: Optional[Sequence[int]] = None) -> Detections:
    """
    Decode, filter by class, suppress overlaps and map boxes back to the original image.

    score_threshold is one score for every class, or an array with one per class.
    """
    per_class = np.ndim(score_threshold) > 0
    if per_class and len(score_threshold) != classes:
        raise DetectionError(f'{len(score_threshold)} score thresholds for {classes} classes')
    found = decode(output, layout, classes, float(np.min(score_threshold)) if per_class
                   else score_threshold)
    if per_class:
        keep = found.scores >= np.asarray(score_threshold, np.float32)[found.classes]
        found = Detections(found.boxes[keep], found.scores[keep], found.classes[keep])
    if class_filter:
        keep = np.isin(found.classes, list(class_filter))
        found = Detections(found.boxes[keep], found.scores[keep], found.classes[keep])
    if layout != 'end2end':
        found = nms(found, iou_threshold, max_detections)
    else:
        order = np.argsort(-found.scores, kind='stable')[:max_detections]
        found = Detections(found.boxes[order], found.scores[order], found.classes[order])
    return Detections(unletterbox(found.boxes, info), found.scores, found.classes)


def to_tensor(image: np.ndarray, rgb_input: bool, source_rgb: bool, scale: float = 1 / 255.0,
              mean: Sequence[float] = (0.0, 0.0, 0.0),
              std: Sequence[float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """Turn a letterboxed (h, w, 3) uint8 image into a normalized [1, 3, h, w] tensor."""
    if rgb_input != source_rgb:
        image = image[:, :, ::-1]
    # Channel by channel into the planar tensor: two passes over the pixels, not five, with
    # (x * scale - mean) / std folded into one multiply and one subtraction.
    h, w = image.shape[:2]
    tensor = np.empty((1, 3, h, w), np.float32)
    for c in range(3):
        factor = np.float32(scale) / np.float32(std[c])
        np.multiply(image[:, :, c], factor, out=tensor[0, c], casting='unsafe')
        if mean[c]:
            tensor[0, c] -= np.float32(mean[c]) / np.float32(std[c])
    return tensor
