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
Drift: does the world still look like the data the model was evaluated on.

Each frame gives input statistics (brightness, contrast, sharpness) and output statistics (the
mean confidence of its detections, its detections per class). `perception evaluate` stores a
reference profile of each statistic over the evaluation images in the model's manifest: its
range (the 0.5 and 99.5 percentiles, widened by a margin) and its histogram.

The alarm is a Page-Hinkley test on whether each frame's statistic falls outside the reference
range: it trips once out-of-range frames outnumber in-range ones by `alarm_frames` (a change
point, found within a second or two of a real change). A robot's frames come from one place at
one time, never a sample of the whole reference: a population stability index (PSI) of a
window against the reference is large even in a warehouse the model knows well, so the PSI is
reported for people but raises no alarm. numpy only: this runs on the robot.
"""

from collections import deque
from dataclasses import dataclass
import math
from typing import Deque, Dict, List, Optional, Sequence

import numpy as np

INPUT_STATS = ('brightness', 'contrast', 'sharpness')
#: Bins of the reference histograms; their edges are the reference's quantiles.
BINS = 10
#: A small share given to empty bins, so a bin the window fills and the reference never did
#: counts as a large shift rather than an infinite one.
EPSILON = 1e-4
#: The reference range: these quantiles of the evaluation images, widened by MARGIN of its width.
RANGE_QUANTILES = (0.005, 0.995)
MARGIN = 0.1


def image_stats(image: np.ndarray) -> Dict[str, float]:
    """Return the brightness, contrast and sharpness of an (h, w, 3) uint8 image, in [0, 1]."""
    small = np.asarray(image)[::4, ::4].astype(np.float32)
    gray = small @ np.array([0.299, 0.587, 0.114], np.float32) / 255.0
    # Sharpness: the spread of the discrete Laplacian (edges and detail; blur flattens it).
    laplacian = (-4 * gray[1:-1, 1:-1] + gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] +
                 gray[1:-1, 2:])
    return {'brightness': float(gray.mean()), 'contrast': float(gray.std()),
            'sharpness': float(min(1.0, laplacian.std() * 4))}


def output_stats(scores: Sequence[float], classes: Sequence[int],
                 labels: Sequence[str]) -> Dict[str, float]:
    """Return a frame's detections per class and their mean confidence (none: no entry)."""
    counts = np.bincount(np.asarray(classes, np.int64), minlength=len(labels))
    out = {f'count_{label}': float(counts[i]) for i, label in enumerate(labels)}
    if len(scores):
        out['confidence'] = float(np.mean(scores))
    return out


def _edges(values: np.ndarray) -> List[float]:
    inner = np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1)[1:-1]))
    return [float(v) for v in inner]


def _proportions(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side='right'),
                         minlength=len(edges) + 1).astype(np.float64)
    counts = np.maximum(counts / max(len(values), 1), EPSILON)
    return counts / counts.sum()


def build_reference(samples: Dict[str, Sequence[float]]) -> Dict[str, Dict[str, object]]:
    """Return the reference profile (range, histogram, moments) of each statistic's samples."""
    reference = {}
    for name, values in samples.items():
        values = np.asarray(values, np.float64)
        values = values[np.isfinite(values)]
        if len(values) < 10:
            continue  # too few to say what is usual
        low, high = (float(v) for v in np.quantile(values, RANGE_QUANTILES))
        margin = MARGIN * max(high - low, 1e-3)
        edges = _edges(values)
        reference[name] = {'low': round(low - margin, 6), 'high': round(high + margin, 6),
                           'edges': [round(e, 6) for e in edges],
                           'proportions': [round(float(p), 6) for p in
                                           _proportions(values, edges)],
                           'mean': round(float(values.mean()), 6),
                           'std': round(float(values.std()), 6), 'samples': int(len(values))}
    return reference


def psi(reference: Dict[str, object], values: Sequence[float]) -> float:
    """Return the population stability index of values against a reference histogram."""
    expected = np.asarray(reference['proportions'], np.float64)
    observed = _proportions(np.asarray(values, np.float64), reference['edges'])
    return float(np.sum((observed - expected) * np.log(observed / expected)))


class PageHinkley:
    """Page-Hinkley test on a 0/1 stream: trips when ones outnumber zeros by a threshold."""

    def __init__(self, threshold: float, delta: float = 0.5):
        self.threshold, self.delta = threshold, delta
        self.sum = 0.0

    def update(self, value: float) -> bool:
        """Take one value; return True while the cumulative excess is above the threshold."""
        self.sum = max(0.0, self.sum + value - self.delta)
        return self.sum >= self.threshold


@dataclass(frozen=True)
class Finding:
    """A statistic that moved out of its reference range."""

    stat: str
    reference_low: float
    reference_high: float
    window_mean: float   # mean of the recent frames outside the range
    outside: float       # share of the recent frames outside the range
    psi: Optional[float]
    direction: str = 'above'   # where most of those frames fell: above or below

    def describe(self) -> str:
        """Return one line for people."""
        return (f'{self.stat} {self.direction} the reference range '
                f'[{self.reference_low:.3f}, {self.reference_high:.3f}] in '
                f'{100 * self.outside:.0f}% of recent frames (their mean {self.window_mean:.3f})')

    def as_dict(self) -> Dict[str, object]:
        """Return the finding as plain data (events, reports)."""
        return {'stat': self.stat, 'reference_low': self.reference_low,
                'reference_high': self.reference_high,
                'window_mean': round(self.window_mean, 4), 'outside': round(self.outside, 3),
                'direction': self.direction,
                'psi': None if self.psi is None else round(self.psi, 3)}


class DriftMonitor:
    """Keeps a window of frame statistics and says which ones left their reference range."""

    def __init__(self, reference: Dict[str, Dict[str, object]], window: int = 300,
                 alarm_frames: float = 15.0):
        self.reference = {name: ref for name, ref in reference.items()
                          if is_finite_entry(ref)}
        self.window: Dict[str, Deque[float]] = {name: deque(maxlen=window)
                                                for name in self.reference}
        self.outside: Dict[str, Deque[bool]] = {name: deque(maxlen=window)
                                                for name in self.reference}
        self.tests = {name: PageHinkley(alarm_frames) for name in self.reference}
        self.frames = 0
        self.alarmed: Dict[str, bool] = dict.fromkeys(self.reference, False)

    def add(self, stats: Dict[str, float]) -> None:
        """Take one frame's statistics (image_stats and output_stats merged)."""
        self.frames += 1
        for name, value in stats.items():
            ref = self.reference.get(name)
            if ref is None or not math.isfinite(value):
                continue
            out = not ref['low'] <= value <= ref['high']
            self.window[name].append(float(value))
            self.outside[name].append(out)
            tripped = self.tests[name].update(1.0 if out else 0.0)
            if tripped:
                self.alarmed[name] = True
            elif self.tests[name].sum == 0.0:
                self.alarmed[name] = False  # back in range for a while: the alarm ends

    def findings(self) -> List[Finding]:
        """Return the statistics in alarm now."""
        out = []
        for name, alarmed in self.alarmed.items():
            if not alarmed:
                continue
            ref, values = self.reference[name], list(self.window[name])
            recent = list(zip(values[-50:], list(self.outside[name])[-50:]))
            outside = [v for v, out in recent if out] or [v for v, _ in recent]
            above = sum(v > ref['high'] for v in outside)
            out.append(Finding(name, float(ref['low']), float(ref['high']),
                               float(np.mean(outside)),
                               sum(o for _, o in recent) / max(len(recent), 1),
                               psi(ref, values) if len(values) >= 20 else None,
                               'above' if 2 * above >= len(outside) else 'below'))
        return out

    def scores(self) -> Dict[str, Optional[float]]:
        """Return each statistic's PSI over the window (None while it is too short)."""
        return {name: psi(ref, list(self.window[name])) if len(self.window[name]) >= 20
                else None for name, ref in self.reference.items()}


def is_finite_entry(entry) -> bool:
    """Tell whether one statistic's reference is usable: numbers finite, histogram whole."""
    try:
        numbers = [entry['low'], entry['high'], *entry['edges'], *entry['proportions']]
        return (all(isinstance(v, (int, float)) and math.isfinite(v) for v in numbers) and
                entry['low'] <= entry['high'] and
                len(entry['proportions']) == len(entry['edges']) + 1 and
                abs(sum(entry['proportions']) - 1.0) < 1e-3)
    except (KeyError, TypeError):
        return False
