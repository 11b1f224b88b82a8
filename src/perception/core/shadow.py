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
Shadow validation: is a candidate model as good a replacement as the robot can tell.

The candidate sees some of the frames the active model sees and publishes nothing. Over enough
frames with objects in them it is promoted only when its detections agree with the active
model's (each at its own operating thresholds, the detections it would publish: the same class
and an overlap of boxes), its inference p95 fits the frame budget, and its confidences look
like a detector's (as many detections as the active model finds, within a factor, and a
confidence histogram near the active model's on the same frames). Otherwise it is rejected,
with every reason. The active model is the only reference a robot has in the field: a candidate
better than it shows as disagreement, which is why the agreement asked for is not 100%.
"""

from dataclasses import dataclass, field
import math
from typing import Dict, List, Optional, Sequence

import numpy as np

from perception.core.detection import Detections, iou

#: Confidence histogram bins over [0, 1].
BINS = 10


@dataclass(frozen=True)
class ShadowPolicy:
    """When a candidate has been watched long enough, and what it must show."""

    min_frames: int = 60            # frames compared before any decision
    min_detections: int = 40        # detections (either model) compared before any decision
    min_agreement: float = 0.7      # matched share (F1) of the two models' detections
    match_iou: float = 0.5
    frame_budget_ms: float = 66.0   # candidate inference p95 must fit in it
    max_count_ratio: float = 3.0    # detections per frame, either way, against the active model
    max_confidence_psi: float = 1.0  # candidate's confidence histogram against the active one's
    #: A candidate over the budget passes if its median is at most this much slower than the
    #: active model's (see latency_problem).
    max_latency_ratio: float = 1.5


def match(active: Detections, candidate: Detections, min_iou: float) -> int:
    """Return how many detections pair up one to one: same class, boxes overlapping enough."""
    if not len(active) or not len(candidate):
        return 0
    used = np.zeros(len(candidate), bool)
    matched = 0
    for i in np.argsort(-active.scores, kind='stable'):
        same = (candidate.classes == active.classes[i]) & ~used
        if not same.any():
            continue
        overlap = np.where(same, iou(active.boxes[i], candidate.boxes), -1.0)
        best = int(np.argmax(overlap))
        if overlap[best] >= min_iou:
            used[best] = True
            matched += 1
    return matched


def histogram(scores: np.ndarray) -> np.ndarray:
    """Return the counts of scores in BINS equal bins over [0, 1]."""
    return np.histogram(np.clip(scores, 0.0, 1.0), BINS, (0.0, 1.0))[0]


def histogram_psi(expected: np.ndarray, observed: np.ndarray, floor: float = 1e-3) -> float:
    """Return the population stability index between two count histograms."""
    e = np.maximum(expected / max(expected.sum(), 1), floor)
    o = np.maximum(observed / max(observed.sum(), 1), floor)
    e, o = e / e.sum(), o / o.sum()
    return float(np.sum((o - e) * np.log(o / e)))


@dataclass
class Decision:
    """A shadow run's verdict, its reasons and its figures."""

    promote: bool
    reasons: List[str]
    figures: Dict[str, object] = field(default_factory=dict)


def latency_problem(budget_ms: float, new_ms: Sequence[float], reference_ms: Sequence[float],
                    max_ratio: float) -> Optional[str]:
    """
    Return why a new model is too slow, or None.

    Its p95 fits the frame budget, or its median is at most max_ratio times that of the
    reference model, the one already serving: a model in shadow is timed while the serving one
    and everything else on the machine run (on two cores with a simulator, p95 is mostly
    scheduling), and a model no slower than one that serves is no reason to refuse.
    """
    p95 = float(np.percentile(new_ms, 95))
    if p95 <= budget_ms:
        return None
    if len(reference_ms) >= 10:
        p50, theirs = float(np.median(new_ms)), float(np.median(reference_ms))
        if p50 <= max_ratio * theirs:
            return None
        return (f'inference p95 {p95:.1f} ms exceeds the frame budget of {budget_ms:g} ms and '
                f'its p50 {p50:.1f} ms is more than {max_ratio:g} times the {theirs:.1f} ms of '
                'the model serving, on the same frames')
    return f'inference p95 {p95:.1f} ms exceeds the frame budget of {budget_ms:g} ms'


class ShadowRun:
    """Figures of a candidate beside the active model, and the verdict once there are enough."""

    def __init__(self, policy: ShadowPolicy):
        self.policy = policy
        self.frames = 0
        self.matched = 0
        self.active_count = 0
        self.candidate_count = 0
        self.latencies: List[float] = []
        self.active_latencies: List[float] = []
        self.active_hist = np.zeros(BINS, np.int64)
        self.candidate_hist = np.zeros(BINS, np.int64)
        self.failure = ''

    def add(self, active: Detections, candidate: Detections, candidate_ms: float,
            active_ms: Optional[float] = None) -> None:
        """Take one frame: both models' detections and inference times."""
        self.frames += 1
        if active_ms is not None:
            self.active_latencies.append(float(active_ms))
        self.matched += match(active, candidate, self.policy.match_iou)
        self.active_count += len(active)
        self.candidate_count += len(candidate)
        self.latencies.append(float(candidate_ms))
        self.active_hist += histogram(active.scores)
        self.candidate_hist += histogram(candidate.scores)

    def fail(self, reason: str) -> None:
        """Record that the candidate could not run (it is rejected at once)."""
        self.failure = reason

    def figures(self) -> Dict[str, object]:
        """Return the figures so far."""
        both = self.active_count + self.candidate_count
        frames = max(self.frames, 1)
        return {'frames': self.frames,
                'agreement': round(2 * self.matched / both, 4) if both else None,
                'latency_p95_ms': round(float(np.percentile(self.latencies, 95)), 2)
                if self.latencies else None,
                'active_latency_p95_ms': round(float(np.percentile(self.active_latencies, 95)),
                                               2) if self.active_latencies else None,
                'active_per_frame': round(self.active_count / frames, 3),
                'candidate_per_frame': round(self.candidate_count / frames, 3),
                'confidence_psi': round(histogram_psi(self.active_hist, self.candidate_hist), 3)
                if self.active_hist.sum() and self.candidate_hist.sum() else None,
                'active_histogram': self.active_hist.tolist(),
                'candidate_histogram': self.candidate_hist.tolist()}

    def decision(self) -> Optional[Decision]:
        """Return the verdict, or None while there is not enough to judge."""
        p, figures = self.policy, self.figures()
        if self.failure:
            return Decision(False, [self.failure], figures)
        if len(self.latencies) >= 10:
            # Clearly too slow: no need to spend more CPU on it.
            mine = float(np.median(self.latencies))
            theirs = float(np.median(self.active_latencies)) \
                if len(self.active_latencies) >= 10 else 0.0
            if mine > 2 * p.frame_budget_ms and mine > 2 * p.max_latency_ratio * theirs:
                return Decision(False, [
                    f'inference p50 {mine:.1f} ms is more than twice the frame budget of '
                    f'{p.frame_budget_ms:g} ms' + (f' and {2 * p.max_latency_ratio:g} times the '
                                                   f"active model's {theirs:.1f} ms"
                                                   if theirs else '')], figures)
        if self.frames < p.min_frames or \
                self.active_count + self.candidate_count < p.min_detections:
            return None
        reasons = []
        if figures['agreement'] < p.min_agreement:
            reasons.append(f'agrees with the active model on {100 * figures["agreement"]:.0f}% '
                           f'of detections, less than {100 * p.min_agreement:.0f}%')
        slow = latency_problem(p.frame_budget_ms, self.latencies, self.active_latencies,
                               p.max_latency_ratio)
        if slow:
            reasons.append(slow)
        ratio = (self.candidate_count + 1) / (self.active_count + 1)
        if not 1 / p.max_count_ratio <= ratio <= p.max_count_ratio:
            reasons.append(f'{figures["candidate_per_frame"]:.2f} detections a frame against '
                           f'{figures["active_per_frame"]:.2f} from the active model')
        psi = figures['confidence_psi']
        if psi is not None and (not math.isfinite(psi) or psi > p.max_confidence_psi):
            reasons.append('confidence histogram far from that of the active model (PSI '
                           f'{psi:.2f} > {p.max_confidence_psi:g})')
        return Decision(not reasons, reasons, figures)
