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

"""Labels on a run's plan picture: near what they name, and never over each other."""

import itertools

import cv2
import numpy as np
import pytest

from perception.sim.report import draw_plan, FONT, LABEL_SCALE, place_labels, stops


def disjoint(a, b):
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def inside(point, rect):
    return rect[0] <= point[0] < rect[2] and rect[1] <= point[1] < rect[3]


def stop_and_go(count, step_m=0.02):
    """Ground truth of a robot that creeps and stops `count` times within a metre or two."""
    scenario = {'type': 'scenario', 'name': 'creep', 'floor': [[-1.0, 9.0], [-3.0, 3.0]],
                'objects': {}, 'footprints': {}, 'robot': {'length': 0.7, 'width': 0.5}}
    records, t, x = [scenario], 0.0, 0.0
    for _ in range(count):
        for v in [0.5] * 5 + [0.0] * 8:  # move half a second, stand 0.8 s: a stop
            x += step_m if v else 0.0
            t += 0.1
            records.append({'type': 'step', 't': round(t, 3), 'objects': {},
                            'robot': {'x': x, 'y': 0.0, 'yaw': 0.0, 'v': v, 'w': 0.0}})
    return records


def test_stop_labels_close_together_never_overlap(tmp_path):
    records = stop_and_go(18)
    assert len(stops([r for r in records if r['type'] == 'step'])) == 18
    path = str(tmp_path / 'plan.png')
    labels = draw_plan(records, path)
    image = cv2.imread(path)
    assert len(labels) == 18 and all(label.text.startswith('stop t=') for label in labels)
    for a, b in itertools.combinations(labels, 2):
        assert disjoint(a.rect, b.rect), (a, b)
        assert not inside(a.anchor, b.rect) and not inside(b.anchor, a.rect)
    for label in labels:
        assert 0 <= label.rect[0] and label.rect[2] <= image.shape[1]
        assert 0 <= label.rect[1] and label.rect[3] <= image.shape[0]
    # 18 labels on 1.8 m of aisle cannot all sit beside their stops: the others have leaders.
    assert any(label.leader for label in labels) and not labels[0].leader


def test_labels_with_no_room_go_below_the_picture_never_over_each_other():
    labels = place_labels([(f'label {i}', (100, 60)) for i in range(40)], (200, 120))
    for a, b in itertools.combinations(labels, 2):
        assert disjoint(a.rect, b.rect)
    below = [label for label in labels if label.rect[1] >= 120]
    assert below and len(below) < 40  # the picture was filled first
    for label in labels:
        assert label in below or (label.rect[2] <= 200 and label.rect[3] <= 120)
    assert labels[0].rect[0] > 100 and labels[0].rect[3] < 60  # above right of its point
    assert not labels[0].leader and all(label.leader for label in below)


def test_labels_keep_off_what_is_taken():
    taken = [(0, 0, 400, 50), (0, 70, 400, 200)]  # a free band, y 50 to 70
    labels = place_labels([('a', (200, 60)), ('bb', (200, 60)), ('stop t=1.0s', (205, 60))],
                          (400, 200), taken=taken)
    for label in labels:
        assert all(disjoint(label.rect, r) for r in taken)
        assert 50 <= label.rect[1] and label.rect[3] <= 70


@pytest.mark.parametrize('text', ['stop t=12.3s', 'worker', 'forklift_2', 'gyp'])
def test_a_labels_rectangle_holds_its_ink(text):
    (label,) = place_labels([(text, (60, 40))], (300, 100))
    canvas = np.zeros((100, 300), np.uint8)
    cv2.putText(canvas, text, label.origin, FONT, LABEL_SCALE, 255, 1, cv2.LINE_AA)
    ys, xs = np.nonzero(canvas)
    x0, y0, x1, y1 = label.rect
    assert x0 <= xs.min() and xs.max() < x1 and y0 <= ys.min() and ys.max() < y1
