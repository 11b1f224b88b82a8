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

"""Image buffers to numpy and back, for every supported encoding."""

import array
import sys

import numpy as np
import pytest

from perception.core.image_encoding import array_to_buffer, buffer_to_array, ENCODINGS
from perception.core.image_encoding import ImageEncodingError


def _sample(encoding, height=5, width=7):
    layout = ENCODINGS[encoding]
    rng = np.random.default_rng(1)
    shape = (height, width) if layout.channels == 1 else (height, width, layout.channels)
    if layout.dtype.kind == 'f':
        return rng.normal(size=shape).astype(layout.dtype)
    return rng.integers(0, np.iinfo(layout.dtype).max, size=shape, dtype=layout.dtype)


@pytest.mark.parametrize('encoding', sorted(ENCODINGS))
def test_round_trip_every_encoding(encoding):
    image = _sample(encoding)
    fields = array_to_buffer(image, encoding)
    assert fields.step == image.shape[1] * image.itemsize * ENCODINGS[encoding].channels
    data = array.array('B', bytes(fields.data))  # as a message holds it
    back = buffer_to_array(fields.height, fields.width, fields.encoding, fields.is_bigendian,
                           fields.step, data)
    assert back.shape == image.shape and back.dtype == image.dtype
    np.testing.assert_array_equal(back, image)


def test_view_shares_memory_with_the_buffer():
    data = bytearray(np.arange(12, dtype=np.uint8).tobytes())
    view = buffer_to_array(2, 2, 'bgr8', 0, 6, data)
    data[0] = 200
    assert view[0, 0, 0] == 200


def test_array_to_buffer_does_not_copy_contiguous_arrays():
    image = _sample('32FC1')
    fields = array_to_buffer(image, '32FC1')
    image[0, 0] = 42.0
    assert np.frombuffer(fields.data, dtype=np.float32)[0] == 42.0


def test_padded_rows_are_skipped():
    height, width, step = 3, 4, 16  # 4 bytes of padding after each 12-byte row of mono16
    raw = np.zeros((height, step), dtype=np.uint8)
    values = np.arange(height * width, dtype='<u2').reshape(height, width)
    raw[:, :width * 2] = values.view(np.uint8).reshape(height, width * 2)
    raw[:, width * 2:] = 0xFF
    out = buffer_to_array(height, width, 'mono16', 0, step, raw.tobytes())
    np.testing.assert_array_equal(out, values)


def test_big_endian_data_reads_correct_values():
    values = np.array([[1, 256, 65535]], dtype='>u2')
    out = buffer_to_array(1, 3, '16UC1', 1, 6, values.tobytes())
    assert out.tolist() == [[1, 256, 65535]]
    fields = array_to_buffer(values, '16UC1')
    assert fields.is_bigendian == 1


def test_native_arrays_report_their_byte_order():
    fields = array_to_buffer(np.zeros((2, 2), np.uint16), 'mono16')
    assert fields.is_bigendian == int(sys.byteorder == 'big')


@pytest.mark.parametrize('encoding', ['yuv422', 'bayer_rggb8', '', 'BGR8'])
def test_unknown_encodings_are_rejected_with_the_known_ones_named(encoding):
    with pytest.raises(ImageEncodingError, match='supported: bgr8'):
        buffer_to_array(1, 1, encoding, 0, 3, b'\0\0\0')


@pytest.mark.parametrize('length', [0, 35, 37, 72])
def test_data_length_must_equal_height_times_step(length):
    with pytest.raises(ImageEncodingError, match='height x step'):
        buffer_to_array(3, 4, 'bgr8', 0, 12, bytes(length))


def test_step_shorter_than_a_row_is_rejected():
    with pytest.raises(ImageEncodingError, match='shorter than a row'):
        buffer_to_array(2, 4, 'bgr8', 0, 10, bytes(20))


@pytest.mark.parametrize('image,encoding', [
    (np.zeros((4, 4), np.uint8), 'bgr8'),
    (np.zeros((4, 4, 3), np.uint16), 'bgr8'),
    (np.zeros((4, 4), np.float64), '32FC1'),
    (np.zeros((4, 4, 2), np.uint8), 'mono8'),
])
def test_arrays_that_do_not_match_the_encoding_are_rejected(image, encoding):
    with pytest.raises(ImageEncodingError):
        array_to_buffer(image, encoding)


def test_single_channel_with_trailing_axis_is_accepted():
    fields = array_to_buffer(np.ones((2, 3, 1), np.uint8), 'mono8')
    assert (fields.height, fields.width, fields.step) == (2, 3, 3)


def test_non_contiguous_arrays_are_copied_correctly():
    image = _sample('bgr8', 6, 8)[::2, ::2]
    fields = array_to_buffer(image, 'bgr8')
    back = buffer_to_array(fields.height, fields.width, 'bgr8', 0, fields.step, fields.data)
    np.testing.assert_array_equal(back, image)
