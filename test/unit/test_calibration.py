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

"""Calibration files in the camera_calibration format."""

import pytest

from perception.core.calibration import calibration_to_yaml, CalibrationError
from perception.core.calibration import CameraCalibration, load_calibration
from perception.core.calibration import parse_calibration, resolve_url, uncalibrated

GOOD = """
image_width: 640
image_height: 480
camera_name: front
camera_matrix: {rows: 3, cols: 3, data: [500.0, 0.0, 320.0, 0.0, 510.0, 240.0, 0.0, 0.0, 1.0]}
distortion_model: plumb_bob
distortion_coefficients: {rows: 1, cols: 5, data: [-0.1, 0.01, 0.0, 0.0, 0.0]}
rectification_matrix: {rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0, 1]}
projection_matrix: {rows: 3, cols: 4, data: [500, 0, 320, 0, 0, 510, 240, 0, 0, 0, 1, 0]}
"""


def test_parses_every_field():
    cal = parse_calibration(GOOD)
    assert (cal.width, cal.height, cal.camera_name) == (640, 480, 'front')
    assert cal.k[0] == 500.0 and cal.k[4] == 510.0 and cal.k[2] == 320.0
    assert cal.d == (-0.1, 0.01, 0.0, 0.0, 0.0)
    assert len(cal.r) == 9 and len(cal.p) == 12
    assert cal.calibrated


def test_round_trip_through_yaml():
    cal = parse_calibration(GOOD)
    assert parse_calibration(calibration_to_yaml(cal)) == cal


def test_missing_projection_is_derived_from_the_camera_matrix():
    text = '\n'.join(line for line in GOOD.splitlines() if 'projection' not in line)
    cal = parse_calibration(text)
    assert cal.p[0] == 500.0 and cal.p[5] == 510.0 and cal.p[3] == 0.0


@pytest.mark.parametrize('edit,message', [
    (('image_width: 640', 'image_width: -1'), 'image_width'),
    (('[500.0, 0.0, 320.0,', '[500.0, 0.0,'), 'camera_matrix says 3x3 but holds 8'),
    (('rows: 3, cols: 3, data: [500.0', 'rows: 2, cols: 3, data: [500.0'), 'camera_matrix'),
    (('[-0.1, 0.01, 0.0, 0.0, 0.0]', '[-0.1, 0.01]'), 'distortion_coefficients says 1x5'),
    (('cols: 5, data: [-0.1, 0.01, 0.0, 0.0, 0.0]', 'cols: 2, data: [-0.1, 0.01]'),
     'plumb_bob takes 5'),
    (('500.0, 0.0, 320.0', '.nan, 0.0, 320.0'), 'NaN'),
    (('500.0, 0.0, 320.0', '0.0, 0.0, 320.0'), 'focal length'),
    (('data: [1, 0, 0, 0, 1', 'data: [one, 0, 0, 0, 1'), 'list of numbers'),
])
def test_bad_files_name_the_key(edit, message):
    with pytest.raises(CalibrationError, match=message):
        parse_calibration(GOOD.replace(*edit), 'cam.yaml')


@pytest.mark.parametrize('text', ['', '- a\n- b', 'a: [', 'image_width: 640'])
def test_garbage_is_a_calibration_error(text):
    with pytest.raises(CalibrationError):
        parse_calibration(text)


def test_scaling_keeps_the_field_of_view():
    cal = parse_calibration(GOOD).scaled_to(1280, 960)
    assert cal.k[0] == 1000.0 and cal.k[2] == 640.0 and cal.k[4] == 1020.0
    assert cal.p[0] == 1000.0 and cal.p[6] == 480.0 and cal.k[8] == 1.0


def test_scaling_to_another_aspect_ratio_is_refused():
    with pytest.raises(CalibrationError, match='aspect ratio'):
        parse_calibration(GOOD).scaled_to(1280, 720)


def test_uncalibrated_follows_rep_104():
    cal = uncalibrated(320, 240, 'x')
    assert not cal.calibrated and cal.k == (0.0,) * 9 and cal.d == ()
    assert cal.scaled_to(640, 360).width == 640  # nothing to scale


def test_urls(tmp_path, monkeypatch):
    monkeypatch.setenv('ROS_HOME', str(tmp_path))
    assert resolve_url('file:///tmp/a%20b.yaml') == '/tmp/a b.yaml'
    assert resolve_url('/abs/${NAME}.yaml', 'front') == '/abs/front.yaml'
    assert resolve_url('${ROS_HOME}/camera_info/${NAME}.yaml', 'front') == \
        f'{tmp_path}/camera_info/front.yaml'
    assert resolve_url('package://pkg/config/c.yaml', '', lambda p: f'/share/{p}') == \
        '/share/pkg/config/c.yaml'
    with pytest.raises(CalibrationError, match='unsupported URL scheme'):
        resolve_url('http://example.invalid/c.yaml')
    with pytest.raises(CalibrationError, match='not found'):
        resolve_url('package://nope/c.yaml', '', lambda p: (_ for _ in ()).throw(KeyError(p)))


def test_load_reports_a_missing_file(tmp_path):
    with pytest.raises(CalibrationError, match='cannot read'):
        load_calibration(str(tmp_path / 'missing.yaml'))
    path = tmp_path / 'front.yaml'
    path.write_text(GOOD)
    assert load_calibration(f'file://{tmp_path}/${{NAME}}.yaml', 'front') == \
        parse_calibration(GOOD, str(path))


def test_shipped_example_calibration_parses():
    import os
    root = os.path.join(os.path.dirname(__file__), '..', '..')
    cal = load_calibration(os.path.join(root, 'config', 'camera_info', 'example_640x480.yaml'))
    assert isinstance(cal, CameraCalibration) and cal.calibrated
