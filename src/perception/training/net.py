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
    """Two 3x3 convolutions around a skip connection."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(conv(c, c), conv(c, c))

    def forward(self, x):
        return x + self.body(x)


class TinyDetector(nn.Module):
    """About half a million parameters; raw per-level outputs for training."""

    def __init__(self, classes: int, width: int = 64):
        super().__init__()
        self.classes = classes
        self.stem = nn.Sequential(conv(3, 16, 3, 2), conv(16, 32, 3, 2))
        self.c3 = nn.Sequential(conv(32, 64, 3, 2), Residual(64))
        self.c4 = nn.Sequential(conv(64, 96, 3, 2), Residual(96))
        self.c5 = nn.Sequential(conv(96, 128, 3, 2), Residual(128))
        self.lateral = nn.ModuleList([conv(64, width, 1), conv(96, width, 1),
                                      conv(128, width, 1)])
        self.smooth = nn.ModuleList([conv(width, width) for _ in STRIDES])
        self.box = nn.ModuleList([nn.Sequential(conv(width, width), nn.Conv2d(width, 4, 1))
                                  for _ in STRIDES])
        self.cls = nn.ModuleList([nn.Sequential(conv(width, width),
                                                nn.Conv2d(width, classes, 1))
                                  for _ in STRIDES])
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


def assign(points, strides, gt_boxes, gt_classes, radius: float = 1.5):
    """Per point: index of its ground-truth box or -1 (FCOS rules with centre sampling)."""
    n = len(points)
    if len(gt_boxes) == 0:
        return torch.full((n,), -1, dtype=torch.long)
    x, y = points[:, 0:1], points[:, 1:2]
    l, t = x - gt_boxes[None, :, 0], y - gt_boxes[None, :, 1]
    r, b = gt_boxes[None, :, 2] - x, gt_boxes[None, :, 3] - y
    ltrb = torch.stack([l, t, r, b], -1)
    inside = ltrb.min(-1).values > 0
    cx = (gt_boxes[:, 0] + gt_boxes[:, 2]) / 2
    cy = (gt_boxes[:, 1] + gt_boxes[:, 3]) / 2
    reach = strides[:, None] * radius
    near = ((x - cx[None]).abs() < reach) & ((y - cy[None]).abs() < reach)
    side = ltrb.max(-1).values
    limits = torch.tensor(SIZE_LIMITS, dtype=points.dtype)
    level = torch.bucketize(strides, torch.tensor(STRIDES, dtype=strides.dtype))
    low, high = limits[level, 0][:, None], limits[level, 1][:, None]
    ok = inside & near & (side >= low) & (side <= high)
    area = ((gt_boxes[:, 2] - gt_boxes[:, 0]) * (gt_boxes[:, 3] - gt_boxes[:, 1]))[None]
    area = torch.where(ok, area.expand(n, -1), torch.full_like(ok, 1e12, dtype=area.dtype))
    best = area.argmin(1)
    return torch.where(ok.any(1), best, torch.full_like(best, -1))


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


def detection_loss(outputs, targets, classes: int):
    """Focal loss on classes plus GIoU on the boxes of assigned points, per positive point."""
    distances, logits, points, strides = flatten(outputs)
    cls_targets = torch.zeros_like(logits)
    box_losses, positives = [], 0
    for i, (gt_boxes, gt_classes) in enumerate(targets):
        index = assign(points, strides, gt_boxes, gt_classes)
        pos = index >= 0
        if pos.any():
            cls_targets[i, pos, gt_classes[index[pos]]] = 1.0
            pred = boxes_from(points[pos], distances[i, pos])
            box_losses.append(giou_loss(pred, gt_boxes[index[pos]]))
            positives += int(pos.sum())
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, cls_targets, reduction='none')
    p_t = p * cls_targets + (1 - p) * (1 - cls_targets)
    alpha = 0.25 * cls_targets + 0.75 * (1 - cls_targets)
    focal = (alpha * (1 - p_t) ** 2 * ce).sum()
    norm = max(positives, 1)
    box = torch.cat(box_losses).sum() if box_losses else logits.sum() * 0
    return (focal + 2.0 * box) / norm, {'cls': float(focal.detach()) / norm,
                                        'box': float(box.detach()) / norm,
                                        'positives': positives}
