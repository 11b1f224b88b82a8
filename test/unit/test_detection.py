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

"""Detection core: letterboxing, decoders, NMS, manifests and the ONNX Runtime session."""

import numpy as np
import pytest

from perception.core.detection import decode, DetectionError, Detections, infer_layout
from perception.core.detection import letterbox, nms, postprocess, unletterbox
from support import yolov8_output


@pytest.mark.parametrize('size', [(480, 640), (720, 1280), (640, 480), (333, 517)])
def test_letterbox_round_trip(size):
    image = np.zeros((*size, 3), np.uint8)
    boxed, info = letterbox(image, 320, 320)
    assert boxed.shape == (320, 320, 3)
    original = np.array([[10.0, 20.0, size[1] - 5.0, size[0] - 7.0]])
    mapped = original * info.scale + [info.pad_x, info.pad_y, info.pad_x, info.pad_y]
    np.testing.assert_allclose(unletterbox(mapped, info), original, atol=1e-3)


def test_letterbox_refuses_non_images():
    with pytest.raises(DetectionError):
        letterbox(np.zeros((10, 10), np.uint8), 32, 32)


def test_yolov8_decoder_in_both_orientations():
    out = yolov8_output([(100, 100, 20, 40, 0, 0.9), (50, 60, 10, 10, 3, 0.2),
                         (200, 150, 30, 30, 2, 0.6)])
    for tensor in (out, out.transpose(0, 2, 1)):
        found = decode(tensor, infer_layout(tensor.shape, 4), 4, 0.25)
        assert found.classes.tolist() == [0, 2]
        np.testing.assert_allclose(found.boxes[0], [90, 80, 110, 120])
        np.testing.assert_allclose(found.scores, [0.9, 0.6])


def test_yolov5_decoder_multiplies_objectness():
    out = np.zeros((1, 2, 9), np.float32)
    out[0, 0] = [100, 100, 20, 20, 0.5, 0.1, 0.9, 0.0, 0.0]  # 0.45 for class 1
    out[0, 1] = [10, 10, 4, 4, 0.1, 0.9, 0.0, 0.0, 0.0]      # 0.09: below threshold
    assert infer_layout(out.shape, 4) == 'yolov5'
    found = decode(out, 'yolov5', 4, 0.25)
    assert found.classes.tolist() == [1] and found.scores[0] == pytest.approx(0.45)


def test_end2end_decoder_drops_padding():
    out = np.zeros((1, 4, 6), np.float32)
    out[0, 0] = [10, 20, 50, 80, 0.8, 2]
    out[0, 1] = [0, 0, 0, 0, 0.0, -1]   # padding of a fixed-size output
    out[0, 2] = [5, 5, 9, 9, 0.3, 3]
    out[0, 3] = [0, 0, 0, 0, 0.9, 7]    # a class the labels do not have
    found = decode(out, 'end2end', 4, 0.25)
    assert found.classes.tolist() == [2, 3]
    np.testing.assert_allclose(found.boxes[0], [10, 20, 50, 80])


def test_decoders_refuse_what_they_cannot_read():
    with pytest.raises(DetectionError, match='fits no known layout'):
        infer_layout((1, 7, 100), 4)
    with pytest.raises(DetectionError, match='unknown layout'):
        decode(np.zeros((1, 8, 5)), 'yolox', 4, 0.5)
    with pytest.raises(DetectionError, match=r'\[1, a, b\]'):
        decode(np.zeros((8, 5)), 'yolov8', 4, 0.5)
    nan = yolov8_output([(np.nan, 100, 20, 40, 0, 0.9)])
    assert len(decode(nan, 'yolov8', 4, 0.25)) == 0


def test_nms_is_per_class_and_keeps_the_best():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]],
                     np.float32)
    found = nms(Detections(boxes, np.array([0.8, 0.9, 0.7, 0.5], np.float32),
                           np.array([0, 0, 1, 0])), 0.5, 100)
    assert sorted(zip(found.classes.tolist(), found.scores.tolist())) == \
        [(0, pytest.approx(0.5)), (0, pytest.approx(0.9)), (1, pytest.approx(0.7))]
    assert len(nms(Detections(boxes, np.ones(4, np.float32), np.arange(4)), 0.5, 2)) == 2


def test_postprocess_filters_classes_and_maps_back():
    image = np.zeros((480, 640, 3), np.uint8)
    _, info = letterbox(image, 320, 320)  # scale 0.5, 40 px bars above and below
    out = yolov8_output([(160, 160, 50, 100, 0, 0.9), (100, 100, 20, 20, 3, 0.8)])
    found = postprocess(out, 'yolov8', 4, info, class_filter=[0])
    assert found.classes.tolist() == [0]
    np.testing.assert_allclose(found.boxes[0], [270, 140, 370, 340])
