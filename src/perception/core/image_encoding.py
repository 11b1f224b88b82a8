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
Raw image buffers to numpy arrays and back, for the sensor_msgs/Image encodings we use.

The functions take and return the fields of a sensor_msgs/Image, not the message, so the core
stays free of ROS; perception.conversions wraps them for messages.
"""

from dataclasses import dataclass
import sys
from typing import NamedTuple

import numpy as np


class ImageEncodingError(ValueError):
    """An image whose encoding, shape or buffer size cannot be converted."""


@dataclass(frozen=True)
class Encoding:
    """How one encoding lays out a pixel."""

    dtype: np.dtype
    channels: int


ENCODINGS = {
    'bgr8': Encoding(np.dtype(np.uint8), 3),
    'rgb8': Encoding(np.dtype(np.uint8), 3),
    'mono8': Encoding(np.dtype(np.uint8), 1),
    'mono16': Encoding(np.dtype(np.uint16), 1),
    '16UC1': Encoding(np.dtype(np.uint16), 1),
    '32FC1': Encoding(np.dtype(np.float32), 1),
}


class ImageFields(NamedTuple):
    """The sensor_msgs/Image fields that describe a buffer."""

    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: memoryview


def encoding_of(encoding: str) -> Encoding:
    """Return the layout of an encoding, or raise ImageEncodingError naming the known ones."""
    try:
        return ENCODINGS[encoding]
    except KeyError:
        raise ImageEncodingError(
            f'unsupported image encoding {encoding!r}; supported: {", ".join(ENCODINGS)}'
        ) from None


def buffer_to_array(height: int, width: int, encoding: str, is_bigendian: int, step: int,
                    data) -> np.ndarray:
    """
    View an image buffer (any bytes-like object) as an array of shape (height, width[, ch]).

    The array shares memory with data (no copy), so it is read-only when data is. Rows padded
    beyond width (step larger than a row) are handled by strides. Big-endian 16 and 32 bit data
    give an array of big-endian dtype, whose values are correct.
    """
    layout = encoding_of(encoding)
    if height < 0 or width < 0:
        raise ImageEncodingError(f'negative image size {width}x{height}')
    itemsize = layout.dtype.itemsize
    row_bytes = width * layout.channels * itemsize
    if step < row_bytes:
        raise ImageEncodingError(
            f'step {step} is shorter than a row of {width} {encoding} pixels ({row_bytes} bytes)')
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size != height * step:
        raise ImageEncodingError(
            f'data holds {raw.size} bytes but height x step is {height} x {step} = '
            f'{height * step}')
    if height == 0 or width == 0:
        shape = (height, width) if layout.channels == 1 else (height, width, layout.channels)
        return np.zeros(shape, dtype=layout.dtype)
    dtype = layout.dtype.newbyteorder('>' if is_bigendian else '<') if itemsize > 1 \
        else layout.dtype
    if layout.channels == 1:
        shape, strides = (height, width), (step, itemsize)
    else:
        shape = (height, width, layout.channels)
        strides = (step, layout.channels * itemsize, itemsize)
    return np.ndarray(shape=shape, dtype=dtype, buffer=raw, strides=strides)


def array_to_buffer(image: np.ndarray, encoding: str) -> ImageFields:
    """
    Describe an array as sensor_msgs/Image fields, without copying when it is C-contiguous.

    The array's shape and dtype must match the encoding: (h, w, 3) uint8 for bgr8 and rgb8,
    (h, w) or (h, w, 1) for the single-channel encodings.
    """
    layout = encoding_of(encoding)
    if not isinstance(image, np.ndarray):
        raise ImageEncodingError(f'expected a numpy array, got {type(image).__name__}')
    if image.ndim == 3 and image.shape[2] == 1 and layout.channels == 1:
        image = image[:, :, 0]
    expected_ndim = 2 if layout.channels == 1 else 3
    if image.ndim != expected_ndim or (expected_ndim == 3 and image.shape[2] != layout.channels):
        raise ImageEncodingError(
            f'{encoding} needs an array of shape (h, w{"" if layout.channels == 1 else ", 3"}), '
            f'got {image.shape}')
    if (image.dtype.kind, image.dtype.itemsize) != (layout.dtype.kind, layout.dtype.itemsize):
        raise ImageEncodingError(f'{encoding} needs dtype {layout.dtype}, got {image.dtype}')
    big = image.dtype.byteorder == '>' or (image.dtype.byteorder == '=' and
                                           sys.byteorder == 'big')
    image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    step = width * layout.channels * layout.dtype.itemsize
    data = memoryview(image.reshape(-1).view(np.uint8))
    return ImageFields(height, width, encoding, int(big and layout.dtype.itemsize > 1), step, data)
