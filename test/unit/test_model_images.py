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

"""Calibration and evaluation images: folders, YOLO datasets and bags written here."""

import os

import cv2
import numpy as np
import pytest

from perception.modeltools.graph import OptimizeError
from perception.modeltools.images import bag_images, labelled_set, sample_images
from support import write_bag

rosbags = pytest.importorskip('rosbags', reason='bags are read with the rosbags package')


@pytest.mark.parametrize('storage', ['sqlite3', 'mcap'])
@pytest.mark.parametrize('kind', ['rgb8', 'bgr8', 'jpeg'])
def test_images_come_out_of_a_bag_as_rgb(tmp_path, storage, kind):
    bag = write_bag(tmp_path / 'bag', {'/camera/image_raw': kind, '/status': 'odom'}, storage)
    images = [image for _, image in bag_images(bag)]
    assert len(images) == 6 and images[0].shape == (48, 64, 3)
    assert abs(int(images[0][20, 40, 0]) - 200) < 12 and images[0][20, 40, 2] < 12  # red
    assert len(sample_images(bag, 3)) == 3


def test_a_bag_names_what_is_wrong(tmp_path):
    no_images = write_bag(tmp_path / 'a', {'/status': 'odom'})
    with pytest.raises(OptimizeError, match='no image topic .* its topics: /status'):
        sample_images(no_images, 4)
    gray = write_bag(tmp_path / 'b', {'/mono': 'mono8'})
    with pytest.raises(OptimizeError, match='is mono8; expected colour'):
        sample_images(gray, 4)
    two = write_bag(tmp_path / 'c', {'/left': 'rgb8', '/right': 'rgb8'})
    with pytest.raises(OptimizeError, match='no image topic /front; its image topics: /left'):
        sample_images(two, 4, topic='/front')
    assert len(sample_images(two, 4, topic='/right')) == 4
    broken = tmp_path / 'd.mcap'
    broken.write_bytes(b'not a bag at all')
    with pytest.raises(OptimizeError, match='cannot be read as a bag'):
        sample_images(str(broken), 4)


def test_a_folder_is_sampled_evenly_and_a_yolo_dataset_read(tmp_path):
    for split in ('train', 'val'):
        os.makedirs(tmp_path / 'images' / split)
        os.makedirs(tmp_path / 'labels' / split)
        for i in range(5):
            cv2.imwrite(str(tmp_path / 'images' / split / f'{i}.jpg'),
                        np.full((40, 50, 3), 20 * i, np.uint8))
            (tmp_path / 'labels' / split / f'{i}.txt').write_text('0 0.5 0.5 0.2 0.2\n')
    (tmp_path / 'data.yaml').write_text('names: [person, box]\n')
    assert len(sample_images(str(tmp_path), 4)) == 4
    data = labelled_set(str(tmp_path), 'val')
    assert len(data.images) == 5 and data.names == ('person', 'box')
    truth = data.truth(0, 50, 40)
    assert truth.boxes[0] == pytest.approx([20.0, 16.0, 30.0, 24.0])
    os.remove(tmp_path / 'labels' / 'val' / '3.txt')
    with pytest.raises(OptimizeError, match='1 images of .* have no label file'):
        labelled_set(str(tmp_path), 'val')
    with pytest.raises(OptimizeError, match='not a YOLO dataset'):
        labelled_set(str(tmp_path / 'images'))
