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

"""Average precision against cases worked out by hand."""

import numpy as np
import pytest

from perception.core.detection import Detections
from perception.core.evaluation import evaluate, ImageTruth, read_yolo_labels

LABELS = ['person', 'box']


def truth(*rows):
    rows = np.array(rows, float).reshape(-1, 5)
    return ImageTruth(rows[:, 1:], rows[:, 0].astype(np.int64))


def pred(*rows):
    rows = np.array(rows, float).reshape(-1, 6)
    return Detections(rows[:, 1:5], rows[:, 5], rows[:, 0].astype(np.int64))


def test_perfect_predictions_score_one():
    t = [truth((0, 10, 10, 50, 90), (1, 100, 100, 140, 130))]
    p = [pred((0, 10, 10, 50, 90, 0.9), (1, 100, 100, 140, 130, 0.8))]
    result = evaluate(p, t, LABELS)
    assert result['map50'] == pytest.approx(1.0) and result['map50_95'] == pytest.approx(1.0)


def test_no_predictions_score_zero():
    result = evaluate([pred()], [truth((0, 10, 10, 50, 90))], LABELS)
    assert result['map50'] == 0.0
    assert np.isnan(result['per_class']['box']['ap50'])  # no box in the truth: not averaged


def test_a_false_positive_ranked_first_halves_precision():
    t = [truth((0, 10, 10, 50, 90))]
    p = [pred((0, 200, 200, 240, 280, 0.9), (0, 10, 10, 50, 90, 0.8))]
    assert evaluate(p, t, LABELS)['per_class']['person']['ap50'] == pytest.approx(0.5)


def test_half_the_objects_found():
    t = [truth((0, 10, 10, 50, 90), (0, 300, 10, 340, 90))]
    p = [pred((0, 10, 10, 50, 90, 0.9))]
    # Precision 1 up to recall 0.5: 51 of the 101 recall points.
    assert evaluate(p, t, LABELS)['map50'] == pytest.approx(51 / 101)


def test_a_loose_box_counts_at_low_iou_only():
    t = [truth((0, 0, 0, 100, 100))]
    p = [pred((0, 0, 0, 100, 62, 0.9))]  # IoU 0.62: matched at 0.50, 0.55 and 0.60
    result = evaluate(p, t, LABELS)['per_class']['person']
    assert result['ap50'] == pytest.approx(1.0) and result['ap50_95'] == pytest.approx(0.3)


def test_each_truth_is_matched_once_and_classes_do_not_mix():
    t = [truth((0, 10, 10, 50, 90))]
    p = [pred((0, 10, 10, 50, 90, 0.9), (0, 11, 11, 51, 91, 0.8), (1, 10, 10, 50, 90, 0.95))]
    result = evaluate(p, t, LABELS)['per_class']['person']
    assert result['ap50'] == pytest.approx(1.0)  # the duplicate comes after full recall


def test_yolo_labels(tmp_path):
    path = tmp_path / 'a.txt'
    path.write_text('0 0.5 0.5 0.25 0.5\n\n1 0.1 0.1 0.2 0.2\n')
    t = read_yolo_labels(str(path), 640, 480)
    np.testing.assert_allclose(t.boxes[0], [240, 120, 400, 360])
    assert t.classes.tolist() == [0, 1]
    path.write_text('0 0.5 0.5\n')
    with pytest.raises(ValueError, match='expected 5 fields'):
        read_yolo_labels(str(path), 640, 480)
    path.write_text('')
    assert len(read_yolo_labels(str(path), 640, 480).classes) == 0
