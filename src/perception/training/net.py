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
A small anchor-free detector for the warehouse classes, and its training objective.

Backbone of strided convolutions with residual blocks, a top-down neck over strides 8, 16 and
32, and a head per level predicting class logits and the distances from each grid point to the
box sides (FCOS-style). Points are assigned to a ground-truth box when they lie near its centre
and the box's size suits their level; classification uses a focal loss, boxes a GIoU loss.
The export wrapper writes the YOLOv8 layout [1, 4 + classes, N]: cx, cy, w, h in input pixels,
then a sigmoid score per class, which perception.core.detection decodes.
"""

from dataclasses import dataclass
from typing import Tuple

import torch
from torch import nn
import torch.nn.functional as F

STRIDES = (8, 16, 32)
#: Largest box side each level is responsible for (input pixels), FCOS's size ranges.
SIZE_LIMITS = ((0, 64), (48, 160), (128, 1e5))


def conv(c_in: int, c_out: int, k: int = 3, s: int = 1) -> nn.Module:
    """Convolution, batch norm, SiLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.SiLU(inplace=True))


class Residual(nn.Module):
    """Two 3x3 convolutions (through `inner` channels) around a skip connection."""

    def __init__(self, c: int, inner: int = 0):
        super().__init__()
        self.body = nn.Sequential(conv(c, inner or c), conv(inner or c, c))

    def forward(self, x):
        return x + self.body(x)


@dataclass(frozen=True)
class Widths:
    """The channels of each part of TinyDetector; pruning narrows the inner ones."""

    stem: Tuple[int, int] = (16, 32)
    stages: Tuple[int, int, int] = (64, 96, 128)   # outputs of the strides 8, 16, 32
    inner: Tuple[int, int, int] = (64, 96, 128)    # inside each stage's residual block
    neck: int = 64
    head: Tuple[int, int, int] = (64, 64, 64)      # inside each level's box and class heads

    def scaled(self, factor: float) -> 'Widths':
        """Return every width times factor (rounded to multiples of 8), for a teacher."""
        def s(v):
            return max(8, int(round(v * factor / 8)) * 8)
        return Widths(tuple(s(v) for v in self.stem), tuple(s(v) for v in self.stages),
                      tuple(s(v) for v in self.inner), s(self.neck),
                      tuple(s(v) for v in self.head))


class TinyDetector(nn.Module):
    """About a million parameters at the default widths; raw per-level outputs for training."""

    def __init__(self, classes: int, widths: Widths = Widths()):
        super().__init__()
        self.classes = classes
        self.widths = widths
        w = widths
        self.stem = nn.Sequential(conv(3, w.stem[0], 3, 2), conv(w.stem[0], w.stem[1], 3, 2))
        self.c3 = nn.Sequential(conv(w.stem[1], w.stages[0], 3, 2),
                                Residual(w.stages[0], w.inner[0]))
        self.c4 = nn.Sequential(conv(w.stages[0], w.stages[1], 3, 2),
                                Residual(w.stages[1], w.inner[1]))
        self.c5 = nn.Sequential(conv(w.stages[1], w.stages[2], 3, 2),
                                Residual(w.stages[2], w.inner[2]))
        self.lateral = nn.ModuleList([conv(c, w.neck, 1) for c in w.stages])
        self.smooth = nn.ModuleList([conv(w.neck, w.neck) for _ in STRIDES])
        self.box = nn.ModuleList([nn.Sequential(conv(w.neck, h), nn.Conv2d(h, 4, 1))
                                  for h in w.head])
        self.cls = nn.ModuleList([nn.Sequential(conv(w.neck, h), nn.Conv2d(h, classes, 1))
                                  for h in w.head])
        for head in self.cls:
            nn.init.constant_(head[-1].bias, -4.6)  # a prior of 1% for every class

    def forward(self, x):
        c3 = self.c3(self.stem(x))
        c4 = self.c4(c3)
        c5 = self.c5(c4)
        p5 = self.lateral[2](c5)
        p4 = self.lateral[1](c4) + F.interpolate(p5, scale_factor=2.0, mode='nearest')
        p3 = self.lateral[0](c3) + F.interpolate(p4, scale_factor=2.0, mode='nearest')
        feats = [s(p) for s, p in zip(self.smooth, (p3, p4, p5))]
        return [(b(f), c(f)) for b, c, f in zip(self.box, self.cls, feats)]


def grid(height: int, width: int, stride: int, device=None):
    """Centres (H*W, 2) of a level's grid cells in input pixels."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device),
                            torch.arange(width, device=device), indexing='ij')
    return torch.stack([(xs.reshape(-1) + 0.5) * stride, (ys.reshape(-1) + 0.5) * stride], 1)


def flatten(outputs):
    """Per-level outputs as (B, N, 4) distances in pixels, (B, N, C) logits, points, strides."""
    distances, logits, points, strides = [], [], [], []
    for (box, cls), stride in zip(outputs, STRIDES):
        b, _, h, w = box.shape
        distances.append(F.softplus(box).permute(0, 2, 3, 1).reshape(b, h * w, 4) * stride * 4)
        logits.append(cls.permute(0, 2, 3, 1).reshape(b, h * w, -1))
        points.append(grid(h, w, stride, box.device))
        strides.append(torch.full((h * w,), float(stride), device=box.device))
    return (torch.cat(distances, 1), torch.cat(logits, 1), torch.cat(points, 0),
            torch.cat(strides, 0))


def boxes_from(points, distances):
    """x1, y1, x2, y2 from grid points and their distances to the box sides."""
    return torch.cat([points - distances[..., :2], points + distances[..., 2:]], -1)


class Exported(nn.Module):
    """The detector as shipped: image in, YOLOv8 layout out."""

    def __init__(self, model: TinyDetector):
        super().__init__()
        self.model = model

    def forward(self, x):
        distances, logits, points, _ = flatten(self.model(x))
        boxes = boxes_from(points[None], distances)
        cxcywh = torch.cat([(boxes[..., :2] + boxes[..., 2:]) / 2,
                            boxes[..., 2:] - boxes[..., :2]], -1)
        return torch.cat([cxcywh, logits.sigmoid()], -1).permute(0, 2, 1)


def pad_targets(targets, device=None):
    """Stack per-image (boxes (M, 4), classes (M,)) into padded [B, M] tensors and a mask."""
    most = max([len(b) for b, _ in targets] + [1])
    boxes = torch.zeros((len(targets), most, 4), device=device)
    classes = torch.zeros((len(targets), most), dtype=torch.long, device=device)
    valid = torch.zeros((len(targets), most), dtype=torch.bool, device=device)
    for i, (b, c) in enumerate(targets):
        if len(b):
            boxes[i, :len(b)] = torch.as_tensor(b, dtype=torch.float32, device=device)
            classes[i, :len(b)] = torch.as_tensor(c, dtype=torch.long, device=device)
            valid[i, :len(b)] = True
    return boxes, classes, valid


def assign(points, strides, gt_boxes, valid, radius: float = 1.5):
    """
    Per image and point: index of its ground-truth box or -1, for a whole batch at once.

    FCOS rules with centre sampling: the point lies inside the box and near its centre, the
    box's size suits the point's level, and among several boxes the smallest wins. gt_boxes is
    [B, M, 4] (x1, y1, x2, y2), valid [B, M] says which are real; points [N, 2], strides [N].
    """
    x, y = points[None, :, None, 0], points[None, :, None, 1]
    left, top = x - gt_boxes[:, None, :, 0], y - gt_boxes[:, None, :, 1]
    right, bottom = gt_boxes[:, None, :, 2] - x, gt_boxes[:, None, :, 3] - y
    inside = torch.minimum(torch.minimum(left, top), torch.minimum(right, bottom)) > 0
    cx = (gt_boxes[:, None, :, 0] + gt_boxes[:, None, :, 2]) / 2
    cy = (gt_boxes[:, None, :, 1] + gt_boxes[:, None, :, 3]) / 2
    reach = strides[None, :, None] * radius
    near = ((x - cx).abs() < reach) & ((y - cy).abs() < reach)
    side = torch.maximum(torch.maximum(left, top), torch.maximum(right, bottom))
    limits = torch.tensor(SIZE_LIMITS, dtype=points.dtype, device=points.device)
    level = torch.bucketize(strides, torch.tensor(STRIDES, dtype=strides.dtype,
                                                  device=strides.device))
    low, high = limits[level, 0][None, :, None], limits[level, 1][None, :, None]
    ok = inside & near & (side >= low) & (side <= high) & valid[:, None, :]
    area = ((gt_boxes[..., 2] - gt_boxes[..., 0]) * (gt_boxes[..., 3] - gt_boxes[..., 1]))
    area = torch.where(ok, area[:, None, :], torch.full_like(area[:, None, :], 1e12))
    best = area.argmin(-1)
    return torch.where(ok.any(-1), best, torch.full_like(best, -1))


def giou_loss(pred, target):
    """1 - generalized IoU of matching x1, y1, x2, y2 boxes."""
    ix1, iy1 = torch.max(pred[:, 0], target[:, 0]), torch.max(pred[:, 1], target[:, 1])
    ix2, iy2 = torch.min(pred[:, 2], target[:, 2]), torch.min(pred[:, 3], target[:, 3])
    inter = (ix2 - ix1).clamp(min=0) * (iy2 - iy1).clamp(min=0)
    area_p = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    area_t = (target[:, 2] - target[:, 0]) * (target[:, 3] - target[:, 1])
    union = area_p + area_t - inter + 1e-7
    cx1, cy1 = torch.min(pred[:, 0], target[:, 0]), torch.min(pred[:, 1], target[:, 1])
    cx2, cy2 = torch.max(pred[:, 2], target[:, 2]), torch.max(pred[:, 3], target[:, 3])
    hull = (cx2 - cx1) * (cy2 - cy1) + 1e-7
    return 1 - (inter / union - (hull - union) / hull)


def detection_loss(outputs, targets, classes: int, teacher=None, distill: float = 1.0):
    """
    Focal loss on classes plus GIoU on the boxes of assigned points, per positive point.

    With a teacher's raw outputs, the class scores also learn the teacher's soft scores
    (knowledge distillation), weighted where either network thinks something is there; boxes
    still learn from the labels.
    """
    distances, logits, points, strides = flatten(outputs)
    logits = logits.float()
    gt_boxes, gt_classes, valid = pad_targets(targets, logits.device)
    index = assign(points, strides, gt_boxes, valid)
    images, where = (index >= 0).nonzero(as_tuple=True)
    matched = index[images, where]
    cls_targets = torch.zeros_like(logits)
    cls_targets[images, where, gt_classes[images, matched]] = 1.0
    pred = boxes_from(points[where], distances[images, where].float())
    box = giou_loss(pred, gt_boxes[images, matched]).sum()
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, cls_targets, reduction='none')
    p_t = p * cls_targets + (1 - p) * (1 - cls_targets)
    alpha = 0.25 * cls_targets + 0.75 * (1 - cls_targets)
    focal = (alpha * (1 - p_t) ** 2 * ce).sum()
    positives = int(len(images))
    norm = max(positives, 1)
    parts = {'cls': float(focal.detach()) / norm, 'box': float(box.detach()) / norm,
             'positives': positives}
    total = focal + 2.0 * box
    if teacher is not None:
        soft = flatten(teacher)[1].float().sigmoid()
        weight = torch.maximum(soft, p).detach()
        kd = (F.binary_cross_entropy_with_logits(logits, soft, reduction='none') * weight).sum()
        total = total + distill * kd
        parts['distill'] = float(kd.detach()) / norm
    return total / norm, parts


def prune(model: TinyDetector, fraction: float) -> TinyDetector:
    """
    Return a narrower copy of a trained model: structured (channel) pruning.

    The channels inside each residual block and each head branch are ranked by the magnitude of
    their batch-norm scale (a channel the network barely uses has a small one) and the weakest
    `fraction` of them removed, weights and all: the convolutions get smaller, so the model runs
    faster, which zeroing weights (unstructured sparsity) would not do. Fine-tune afterwards.
    """
    keep = {}

    def count(total):  # multiples of 8 keep the convolutions' kernels efficient
        return max(8, int(round(total * (1 - fraction) / 8)) * 8)

    def ranked(bn, total):
        order = torch.argsort(bn.weight.detach().abs(), descending=True)
        return order[:count(total)].sort().values

    w = model.widths
    for i, stage in enumerate((model.c3, model.c4, model.c5)):
        keep[f'inner{i}'] = ranked(stage[1].body[0][1], w.inner[i])
    for i in range(len(STRIDES)):
        box_bn, cls_bn = model.box[i][0][1], model.cls[i][0][1]
        both = box_bn.weight.detach().abs() + cls_bn.weight.detach().abs()
        keep[f'head{i}'] = torch.argsort(both, descending=True)[:count(w.head[i])].sort().values
    widths = Widths(w.stem, w.stages, tuple(len(keep[f'inner{i}']) for i in range(3)), w.neck,
                    tuple(len(keep[f'head{i}']) for i in range(3)))
    small = TinyDetector(model.classes, widths)
    state = {k: v.clone() for k, v in model.state_dict().items()}

    def cut(prefix, rows=None, cols=None):
        for name in [k for k in state if k.startswith(prefix + '.')]:
            value = state[name]
            if rows is not None and value.dim() >= 1 and not name.endswith('num_batches_tracked'):
                value = value[rows]
            if cols is not None and value.dim() == 4:
                value = value[:, cols]
            state[name] = value

    for i, stage in enumerate(('c3', 'c4', 'c5')):
        kept = keep[f'inner{i}']
        cut(f'{stage}.1.body.0', rows=kept)        # conv (out = inner) and its batch norm
        cut(f'{stage}.1.body.1.0', cols=kept)      # the next conv reads the kept channels
    for i in range(len(STRIDES)):
        kept = keep[f'head{i}']
        for branch in ('box', 'cls'):
            cut(f'{branch}.{i}.0', rows=kept)
            cut(f'{branch}.{i}.1', cols=kept)
    small.load_state_dict(state)
    return small
