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
Small detector exports of every supported layout, as other tools write them (needs PyTorch).

Each is a convolutional network over three strides with the decoding of its family: YOLOv8 and
YOLO11 (distribution-focal boxes, a fixed one-channel convolution, grid and stride arithmetic,
sigmoid scores, [1, 4 + C, N] or transposed), YOLOv5 (anchors, objectness, [1, N, 5 + C]) and
end-to-end ([1, K, 6] with the selection inside). Module and node names follow no convention of
this project's own exports. Weights are random but fixed by a seed.
"""

import torch
from torch import nn

STRIDES = (8, 16, 32)
BINS = 16


def block(c_in, c_out, stride=1):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(c_out), nn.SiLU())


class Backbone(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.stage0 = nn.Sequential(block(3, width, 2), block(width, width, 2),
                                    block(width, width, 2))
        self.stage1 = block(width, 2 * width, 2)
        self.stage2 = block(2 * width, 2 * width, 2)

    def forward(self, x):
        a = self.stage0(x)
        b = self.stage1(a)
        return a, b, self.stage2(b)


def anchors_and_strides(size):
    points, strides = [], []
    for stride in STRIDES:
        n = size // stride
        ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing='ij')
        points.append(torch.stack([xs.reshape(-1), ys.reshape(-1)], 1).float() + 0.5)
        strides.append(torch.full((n * n, 1), float(stride)))
    return torch.cat(points).T[None], torch.cat(strides).T[None]


class V8Head(nn.Module):
    """YOLOv8's decoupled head and decoding (DFL), for a square input of `size`."""

    def __init__(self, width, classes, size, transposed=False):
        super().__init__()
        self.classes, self.transposed = classes, transposed
        channels = (width, 2 * width, 2 * width)
        self.reg = nn.ModuleList([nn.Sequential(block(c, width), nn.Conv2d(width, 4 * BINS, 1))
                                  for c in channels])
        self.cls = nn.ModuleList([nn.Sequential(block(c, width), nn.Conv2d(width, classes, 1))
                                  for c in channels])
        self.dfl = nn.Conv2d(BINS, 1, 1, bias=False).requires_grad_(False)
        self.dfl.weight.data[:] = torch.arange(BINS, dtype=torch.float).view(1, BINS, 1, 1)
        anchors, strides = anchors_and_strides(size)
        self.register_buffer('anchors', anchors)
        self.register_buffer('strides', strides)

    def forward(self, feats):
        maps = [torch.cat([r(f), c(f)], 1) for r, c, f in zip(self.reg, self.cls, feats)]
        flat = torch.cat([m.view(1, 4 * BINS + self.classes, -1) for m in maps], 2)
        box, cls = flat.split((4 * BINS, self.classes), 1)
        n = box.shape[2]
        dist = self.dfl(box.view(1, 4, BINS, n).transpose(2, 1).softmax(1)).view(1, 4, n)
        lt, rb = dist.chunk(2, 1)
        x1y1, x2y2 = self.anchors - lt, self.anchors + rb
        xywh = torch.cat([(x1y1 + x2y2) / 2, x2y2 - x1y1], 1) * self.strides
        out = torch.cat([xywh, cls.sigmoid()], 1)
        return out.transpose(1, 2) if self.transposed else out


class V5Head(nn.Module):
    """YOLOv5's anchor-based head and decoding."""

    ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119),
               (116, 90, 156, 198, 373, 326))

    def __init__(self, width, classes, size):
        super().__init__()
        self.classes = classes
        channels = (width, 2 * width, 2 * width)
        self.convs = nn.ModuleList([nn.Conv2d(c, 3 * (5 + classes), 1) for c in channels])
        self.size = size

    def forward(self, feats):
        rows = []
        for conv, f, stride, anchors in zip(self.convs, feats, STRIDES, self.ANCHORS):
            n = self.size // stride
            p = conv(f).view(1, 3, 5 + self.classes, n, n).permute(0, 1, 3, 4, 2).sigmoid()
            ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing='ij')
            grid = torch.stack([xs, ys], -1).view(1, 1, n, n, 2).float()
            anchor = torch.tensor(anchors, dtype=torch.float).view(1, 3, 1, 1, 2)
            xy = (p[..., :2] * 2 - 0.5 + grid) * stride
            wh = (p[..., 2:4] * 2) ** 2 * anchor
            rows.append(torch.cat([xy, wh, p[..., 4:]], -1).view(1, -1, 5 + self.classes))
        return torch.cat(rows, 1)


class End2EndHead(V8Head):
    """YOLOv8 decoding, then the best K boxes selected inside: [1, K, 6]."""

    def __init__(self, width, classes, size, keep=30):
        super().__init__(width, classes, size)
        self.keep = keep

    def forward(self, feats):
        out = super().forward(feats)[0]
        xywh, scores = out[:4].T, out[4:].T
        best, label = scores.max(1)
        score, index = best.topk(self.keep)
        box = xywh[index]
        xyxy = torch.cat([box[:, :2] - box[:, 2:] / 2, box[:, :2] + box[:, 2:] / 2], 1)
        return torch.cat([xyxy, score[:, None], label[index, None].float()], 1)[None]


class Detector(nn.Module):
    def __init__(self, head, width):
        super().__init__()
        self.backbone = Backbone(width)
        self.head = head

    def forward(self, images):
        return self.head(self.backbone(images))


LAYOUTS = {
    'yolov8': lambda w, c, s: V8Head(w, c, s),
    'yolov8_transposed': lambda w, c, s: V8Head(w, c, s, transposed=True),
    'yolov5': lambda w, c, s: V5Head(w, c, s),
    'end2end': lambda w, c, s: End2EndHead(w, c, s),
}


def export(layout, path, classes=4, size=128, width=16, seed=0):
    """Write a small detector of a layout to path; return the torch model (eval mode)."""
    torch.manual_seed(seed)
    model = Detector(LAYOUTS[layout](width, classes, size), width).eval()
    with torch.no_grad():
        for module in model.modules():  # settled batch norms, as a trained model has
            if isinstance(module, nn.BatchNorm2d):
                module.running_var.uniform_(0.5, 2.0)
                module.running_mean.uniform_(-0.2, 0.2)
        for module in model.head.modules():  # outputs that tell images apart, as trained ones
            if isinstance(module, nn.Conv2d) and module.out_channels > 1 and \
                    module.kernel_size == (1, 1):
                module.weight.mul_(6.0)
    torch.onnx.export(model, torch.zeros(1, 3, size, size), str(path), input_names=['pixels'],
                      output_names=['detections'], opset_version=17, dynamo=False)
    return model
