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

"""The camera node in a process of its own, received in this one."""

import cv2
import numpy as np
import pytest

from perception.core.calibration import calibration_to_yaml, CameraCalibration
from perception.diagnostics import ERROR, OK, WARN
from perception.probe import StackProbe
from support import NodeStarter, wait_until

pytestmark = pytest.mark.node


@pytest.fixture
def nodes(tmp_path):
    starter = NodeStarter('camera_node', tmp_path)
    yield starter
    starter.kill_all()


@pytest.fixture
def probe(ros_context):
    probe = StackProbe(context=ros_context)
    yield probe
    probe.close()


def test_synthetic_source_streams_frames_to_another_process(nodes, probe):
    node = nodes('-p', 'width:=320', '-p', 'height:=240', '-p', 'fps:=30.0',
                 '-p', 'frame_id:=front_optical')
    assert probe.wait_for_images(30, timeout=20), node.output()
    samples = probe.snapshot()
    last = samples[-1]
    assert (last.width, last.height, last.encoding, last.frame_id) == \
        (320, 240, 'bgr8', 'front_optical')
    counters = [s.counter for s in samples]
    assert counters == sorted(counters) and len(set(counters)) == len(counters)
    assert all(b.stamp_ns > a.stamp_ns for a, b in zip(samples, samples[1:]))
    assert all(0 <= s.received_ns - s.stamp_ns < 1e9 for s in samples)
    assert wait_until(lambda: probe.infos, 15)
    info = probe.infos[-1]
    assert (info.width, info.height, info.header.frame_id) == (320, 240, 'front_optical')
    assert info.k[0] == 0.0  # uncalibrated, per REP 104
    assert wait_until(lambda: 'camera: capture' in probe.diagnostics, 15)
    values = probe.diagnostics['camera: capture']
    assert values['state'] == 'STREAMING' and float(values['configured_rate_hz']) == 30.0
    assert int(values['frames_published']) > 0
    assert probe.diagnostic_levels['camera: calibration'] == WARN


def test_video_file_source_publishes_its_frames_resized(nodes, probe, tmp_path):
    path = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 30, (160, 120))
    for i in range(20):
        frame = np.zeros((120, 160, 3), np.uint8)
        frame[:, :, 2] = 200  # red in BGR
        writer.write(frame)
    writer.release()
    node = nodes('-p', 'source:=file', '-p', f'uri:={path}', '-p', 'width:=320',
                 '-p', 'height:=240', '-p', 'encoding:=rgb8', '-p', 'fps:=20.0')
    # 20 frames at 20 Hz: receiving 30 proves the file loops.
    assert probe.wait_for_images(30, timeout=20), node.output()
    assert probe.samples[-1].width == 320 and probe.samples[-1].encoding == 'rgb8'
    assert wait_until(lambda: probe.diagnostics.get('camera: capture', {}).get('resized')
                      == 'True', 15)
    assert probe.diagnostic_levels['camera: capture'] in (OK, WARN)


def test_calibration_file_is_published_scaled_to_the_image(nodes, probe, tmp_path):
    calibration = CameraCalibration(
        width=640, height=480, camera_name='front', d=(0.1, 0.0, 0.0, 0.0, 0.0),
        k=(400.0, 0.0, 320.0, 0.0, 400.0, 240.0, 0.0, 0.0, 1.0),
        p=(400.0, 0.0, 320.0, 0.0, 0.0, 400.0, 240.0, 0.0, 0.0, 0.0, 1.0, 0.0))
    (tmp_path / 'front.yaml').write_text(calibration_to_yaml(calibration))
    node = nodes('-p', 'width:=320', '-p', 'height:=240', '-p', 'camera_name:=front',
                 '-p', f'camera_info_url:=file://{tmp_path}/${{NAME}}.yaml')
    assert wait_until(lambda: probe.infos, 20), node.output()
    info = probe.infos[-1]
    assert list(info.k) == [200.0, 0.0, 160.0, 0.0, 200.0, 120.0, 0.0, 0.0, 1.0]
    assert list(info.d) == [0.1, 0.0, 0.0, 0.0, 0.0]
    assert wait_until(lambda: probe.diagnostic_levels.get('camera: calibration') == OK, 15)


def test_bad_calibration_is_an_error_not_a_crash(nodes, probe, tmp_path):
    (tmp_path / 'bad.yaml').write_text('image_width: 640\n')
    node = nodes('-p', f'camera_info_url:={tmp_path}/bad.yaml')
    assert probe.wait_for_images(5, timeout=20), node.output()
    assert wait_until(lambda: probe.diagnostic_levels.get('camera: calibration') == ERROR, 15)
    assert 'image_height must be a positive integer' in \
        probe.diagnostic_messages['camera: calibration']
    assert probe.infos[-1].k[0] == 0.0


def test_missing_device_reports_error_and_keeps_retrying(nodes, probe, tmp_path):
    node = nodes('-p', 'source:=file', '-p', f'uri:={tmp_path}/not_there.mp4',
                 '-p', 'reconnect_initial_s:=0.1', '-p', 'reconnect_max_s:=0.2',
                 '-p', 'diagnostics_period_s:=0.2')
    assert wait_until(lambda: probe.diagnostic_levels.get('camera: capture') == ERROR, 20), \
        node.output()
    assert 'not found' in probe.diagnostic_messages['camera: capture']
    first = int(probe.diagnostics['camera: capture']['reconnects'])
    assert wait_until(
        lambda: int(probe.diagnostics['camera: capture']['reconnects']) > first + 2, 30)
    assert node.alive()
    # The file appears (a mounted drive, a camera plugged in): streaming resumes by itself.
    writer = cv2.VideoWriter(str(tmp_path / 'not_there.mp4'), cv2.VideoWriter_fourcc(*'mp4v'),
                             30, (64, 48))
    for _ in range(10):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    assert probe.wait_for_images(5, timeout=10)
    assert wait_until(lambda: probe.diagnostic_levels.get('camera: capture') != ERROR, 15)


def test_invalid_parameters_exit_with_a_clear_message(nodes):
    node = nodes('-p', 'source:=webcam')
    assert node.process.wait(20) == 2
    assert 'source must be one of' in node.output()
    node = nodes('-p', 'width:=-5')
    assert node.process.wait(20) != 0
    assert 'width' in node.output()


def test_sigint_stops_the_node_cleanly(nodes, probe):
    node = nodes()
    assert probe.wait_for_images(3, timeout=20), node.output()
    code, seconds = node.interrupt()
    assert code == 0 and seconds < 5.0
