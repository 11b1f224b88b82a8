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

"""Shadow validation: matching detections, and the verdict's every reason."""

import numpy as np
import pytest

from perception.core.detection import Detections
from perception.core.shadow import histogram_psi, match, ShadowPolicy, ShadowRun


def dets(*rows):
    """Build detections from (x1, y1, x2, y2, class, score) rows."""
    rows = np.array(rows, np.float32).reshape(-1, 6)
    return Detections(rows[:, :4], rows[:, 5], rows[:, 4].astype(np.int64))


PERSON = (100, 100, 150, 250, 0, 0.9)
PALLET = (300, 300, 400, 350, 2, 0.8)


def test_matching_is_one_to_one_by_class_and_overlap():
    assert match(dets(PERSON, PALLET), dets(PALLET, PERSON), 0.5) == 2
    shifted = (110, 105, 160, 255, 0, 0.6)           # IoU about 0.74
    assert match(dets(PERSON), dets(shifted), 0.5) == 1
    assert match(dets(PERSON), dets((110, 105, 160, 255, 2, 0.6)), 0.5) == 0  # other class
    assert match(dets(PERSON), dets((300, 300, 350, 450, 0, 0.9)), 0.5) == 0  # elsewhere
    assert match(dets(PERSON, PERSON), dets(PERSON), 0.5) == 1   # one box pairs once
    assert match(dets(), dets(PERSON), 0.5) == 0


def feed(run, frames, active, candidate, ms=10.0, active_ms=None):
    for _ in range(frames):
        run.add(dets(*active), dets(*candidate), ms, active_ms)


def test_an_agreeing_fast_candidate_is_promoted_only_after_enough_frames():
    run = ShadowRun(ShadowPolicy(min_frames=60, min_detections=40, frame_budget_ms=50.0))
    feed(run, 59, [PERSON, PALLET], [PERSON, PALLET])
    assert run.decision() is None
    feed(run, 1, [PERSON, PALLET], [PERSON, PALLET])
    decision = run.decision()
    assert decision.promote and decision.reasons == []
    assert decision.figures['agreement'] == 1.0 and decision.figures['frames'] == 60


def test_empty_scenes_decide_nothing():
    run = ShadowRun(ShadowPolicy(min_frames=10, min_detections=40))
    feed(run, 500, [], [])
    assert run.decision() is None


@pytest.mark.parametrize('candidate,ms,reason', [
    ([(300, 10, 350, 60, 0, 0.9), PALLET], 10.0, 'agrees with the active model on 50%'),
    ([PERSON, PALLET], 80.0, 'inference p95 80.0 ms exceeds the frame budget of 50 ms'),
    ([PERSON, PALLET] + [(10 * i, 0, 10 * i + 8, 8, 3, 0.3) for i in range(10)], 10.0,
     '12.00 detections a frame against 2.00'),
])
def test_a_bad_candidate_is_rejected_with_the_reason(candidate, ms, reason):
    run = ShadowRun(ShadowPolicy(min_frames=20, min_detections=20, frame_budget_ms=50.0))
    feed(run, 20, [PERSON, PALLET], candidate, ms)
    decision = run.decision()
    assert not decision.promote and any(reason in r for r in decision.reasons), decision


def test_confidences_far_from_the_active_models_are_a_reason():
    run = ShadowRun(ShadowPolicy(min_frames=20, min_detections=20, min_agreement=0.0))
    feed(run, 20, [PERSON, PALLET], [PERSON[:5] + (0.26,), PALLET[:5] + (0.27,)])
    decision = run.decision()
    assert not decision.promote and 'confidence histogram' in decision.reasons[0]


def test_a_candidate_that_failed_to_run_is_rejected_at_once():
    run = ShadowRun(ShadowPolicy())
    run.fail('inference failed in shadow: boom')
    decision = run.decision()
    assert not decision.promote and decision.reasons == ['inference failed in shadow: boom']


def test_the_histogram_psi_is_zero_for_equal_shapes_and_grows_with_the_shift():
    a = np.array([0, 0, 1, 4, 10, 10, 4, 1, 0, 0])
    assert histogram_psi(a, a * 3) == pytest.approx(0.0)
    assert 0 < histogram_psi(a, np.roll(a, 1)) < histogram_psi(a, np.roll(a, 3))


def test_a_clearly_too_slow_candidate_is_rejected_after_a_few_frames():
    run = ShadowRun(ShadowPolicy(min_frames=60, frame_budget_ms=50.0))
    feed(run, 9, [PERSON], [PERSON], 400.0)
    assert run.decision() is None
    feed(run, 1, [PERSON], [PERSON], 400.0)
    decision = run.decision()
    assert not decision.promote and 'more than twice the frame budget' in decision.reasons[0]


@pytest.mark.parametrize('ms,active_ms,promote', [
    (140.0, 100.0, True), (160.0, 100.0, False), (40.0, 10.0, True), (70.0, 40.0, False)])
def test_a_candidate_over_the_budget_is_held_to_the_serving_models_latency(ms, active_ms,
                                                                           promote):
    # Within the budget of 50 ms is always fast enough; over it, the candidate's median may
    # be up to 1.5 times the active model's on the same frames, no more.
    run = ShadowRun(ShadowPolicy(min_frames=20, min_detections=20, frame_budget_ms=50.0))
    feed(run, 20, [PERSON, PALLET], [PERSON, PALLET], ms, active_ms)
    decision = run.decision()
    assert decision.promote is promote, decision
    if not promote:
        assert f'more than 1.5 times the {active_ms:.1f} ms of the model serving' in \
            decision.reasons[0]
    assert decision.figures['active_latency_p95_ms'] == active_ms
