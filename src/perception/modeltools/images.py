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
Images for calibration and evaluation: a folder, a YOLO dataset, or a recorded bag.

Bags (rosbag2 directories with SQLite or MCAP storage, or a bare .mcap file) are read with the
pure-Python `rosbags` library, so no ROS install is needed; sensor_msgs/Image (rgb8, bgr8,
mono8 refused as not colour) and sensor_msgs/CompressedImage topics are understood. Every image
comes out as RGB uint8 (h, w, 3); what cannot be one is an OptimizeError naming the file.
"""

from dataclasses import dataclass
import glob
import os
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from perception.core.evaluation import ImageTruth, read_yolo_labels
from perception.core.yamlfile import read_yaml
from perception.modeltools.graph import OptimizeError

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
IMAGE_TYPES = ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage')
#: Smallest side an image may have to be of any use to a detector.
MIN_SIDE = 32


def check_image(image: Optional[np.ndarray], where: str) -> np.ndarray:
    """Return an image that is colour, 8-bit and big enough; OptimizeError otherwise."""
    if image is None:
        raise OptimizeError(f'{where} cannot be read as an image')
    if image.dtype != np.uint8:
        raise OptimizeError(f'{where} has {image.dtype} pixels; expected 8-bit colour')
    if image.ndim != 3 or image.shape[2] != 3:
        channels = 1 if image.ndim == 2 else image.shape[2]
        raise OptimizeError(f'{where} has {channels} channel(s); expected colour (3)')
    if min(image.shape[:2]) < MIN_SIDE:
        raise OptimizeError(f'{where} is {image.shape[1]}x{image.shape[0]} pixels, smaller '
                            f'than the {MIN_SIDE} a detector can use')
    return image


def read_image(path: str) -> np.ndarray:
    """Read an image file as RGB uint8; OptimizeError when it is not a colour image."""
    import cv2
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is not None and image.ndim == 3 and image.shape[2] == 3:
        image = image[:, :, ::-1]
    return check_image(image, path)


def is_bag(path: str) -> bool:
    """Tell whether a path is a rosbag2 directory or an MCAP / db3 file."""
    return os.path.isfile(os.path.join(path, 'metadata.yaml')) or \
        path.endswith(('.mcap', '.db3'))


def image_files(directory: str, split: str = '') -> List[str]:
    """Image files of a YOLO dataset (images/<split>/) or, else, anywhere under a folder."""
    root = os.path.join(directory, 'images')
    if os.path.isdir(root):
        root = os.path.join(root, split) if split else root
    else:
        root = directory
    if not os.path.isdir(root):
        raise OptimizeError(f'{root} is not a folder of images')
    found = [p for p in glob.glob(os.path.join(root, '**', '*'), recursive=True)
             if p.lower().endswith(IMAGE_SUFFIXES)]
    return sorted(found)


def bag_images(path: str, topic: str = '', limit: int = 0) -> Iterator[Tuple[str, np.ndarray]]:
    """Yield (where, RGB image) from a bag's image topic (the first one when none is named)."""
    from pathlib import Path
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import get_typestore, Stores
    try:
        reader = AnyReader([Path(path)], default_typestore=get_typestore(Stores.ROS2_HUMBLE))
        reader.open()
    except Exception as exc:  # noqa: B902 - rosbags raises its own types for broken bags
        raise OptimizeError(f'{path} cannot be read as a bag: {exc}') from None
    try:
        topics = {c.topic: c.msgtype for c in reader.connections}
        images = [t for t, kind in topics.items() if kind in IMAGE_TYPES]
        if topic and topic not in images:
            raise OptimizeError(f'{path} has no image topic {topic}; its image topics: '
                                f'{", ".join(images) or "none"}')
        if not images:
            found = ', '.join(f'{t} ({k})' for t, k in sorted(topics.items())) or 'none'
            raise OptimizeError(f'{path} has no image topic (sensor_msgs/Image or '
                                f'CompressedImage); its topics: {found}')
        chosen = topic or sorted(images)[0]
        connections = [c for c in reader.connections if c.topic == chosen]
        count = 0
        for connection, stamp, raw in reader.messages(connections=connections):
            where = f'{path} {chosen} message at {stamp} ns'
            yield where, _decode(reader.deserialize(raw, connection.msgtype),
                                 connection.msgtype, where)
            count += 1
            if limit and count >= limit:
                break
    finally:
        reader.close()


def _decode(msg, msgtype: str, where: str) -> np.ndarray:
    import cv2
    if msgtype.endswith('CompressedImage'):
        image = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_UNCHANGED)
        if image is not None and image.ndim == 3 and image.shape[2] == 3:
            image = image[:, :, ::-1]
        return check_image(image, where)
    from perception.core.image_encoding import buffer_to_array, ImageEncodingError
    if msg.encoding not in ('rgb8', 'bgr8'):
        raise OptimizeError(f'{where} is {msg.encoding}; expected colour (rgb8 or bgr8)')
    try:
        image = buffer_to_array(msg.height, msg.width, msg.encoding, msg.is_bigendian,
                                msg.step, bytes(msg.data))
    except ImageEncodingError as exc:
        raise OptimizeError(f'{where}: {exc}') from None
    return check_image(np.ascontiguousarray(image if msg.encoding == 'rgb8'
                                            else image[:, :, ::-1]), where)


def sample_images(source: str, count: int, topic: str = '') -> List[np.ndarray]:
    """
    Return up to `count` RGB images spread evenly over a folder, a YOLO dataset or a bag.

    An empty source, or one of which no image can be read, is an OptimizeError.
    """
    if not os.path.exists(source):
        raise OptimizeError(f'calibration source {source} not found')
    if is_bag(source):
        images = [image for _, image in bag_images(source, topic)]
        chosen = images if len(images) <= count else \
            [images[i] for i in np.linspace(0, len(images) - 1, count).round().astype(int)]
    else:
        if topic:
            raise OptimizeError(f'--topic {topic} was given but {source} is not a bag')
        files = image_files(source)
        if len(files) > count:
            files = [files[i] for i in np.linspace(0, len(files) - 1, count).round()
                     .astype(int)]
        chosen = [read_image(path) for path in files]
    if not chosen:
        raise OptimizeError(f'{source} holds no image to calibrate with')
    return chosen


@dataclass(frozen=True)
class LabelledSet:
    """A YOLO dataset: its image files, their labels' class names, and where it is."""

    root: str
    images: Tuple[str, ...]
    names: Tuple[str, ...]    # from data.yaml; empty when it has none

    def truth(self, index: int, width: int, height: int) -> ImageTruth:
        """Return the ground truth of an image, in its pixels."""
        return read_yolo_labels(label_path(self.images[index]), width, height)


def label_path(image: str) -> str:
    """Return the YOLO label file of an image (images/ -> labels/, .txt)."""
    head, _, tail = image.rpartition(f'{os.sep}images{os.sep}')
    return os.path.splitext(os.path.join(head, 'labels', tail))[0] + '.txt'


def labelled_set(directory: str, split: str = '') -> LabelledSet:
    """Open a YOLO dataset (images/, labels/, data.yaml with names); OptimizeError if not one."""
    if not os.path.isdir(os.path.join(directory, 'images')):
        raise OptimizeError(f'{directory} is not a YOLO dataset (no images/ folder)')
    images = image_files(directory, split)
    if not images:
        where = f' in split {split}' if split else ''
        raise OptimizeError(f'{directory} holds no image{where}')
    missing = [p for p in images if not os.path.isfile(label_path(p))]
    if missing:
        raise OptimizeError(f'{len(missing)} images of {directory} have no label file, e.g. '
                            f'{label_path(missing[0])}')
    names: Sequence[str] = ()
    meta = os.path.join(directory, 'data.yaml')
    if os.path.isfile(meta):
        doc = read_yaml(meta, OptimizeError, 'dataset description')
        raw = doc.get('names') if isinstance(doc, dict) else None
        if isinstance(raw, dict):
            names = [raw[k] for k in sorted(raw)]
        elif isinstance(raw, list):
            names = raw
        else:
            raise OptimizeError(f'{meta} has no list of class names (names:)')
    return LabelledSet(directory, tuple(images), tuple(str(n) for n in names))
