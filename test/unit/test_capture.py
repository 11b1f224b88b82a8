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

"""Frame sources and the newest-frame-only capture thread."""

import threading
import time

import cv2
import numpy as np
import pytest

from perception.core.backoff import Backoff
from perception.core.capture import CaptureSettings, CaptureWorker, decode_frame_counter
from perception.core.capture import ensure_newest_only_appsink, FrameSource, make_source
from perception.core.capture import OpenCVSource, SourceError, StreamEnded, SyntheticSource
from support import wait_until


def write_video(path, frames=12, size=(160, 120), fps=30):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 10 * i, np.uint8))
    writer.release()
    return str(path)


def test_synthetic_frames_carry_their_number_and_move():
    source = SyntheticSource(320, 240)
    frames = [source.read() for _ in range(3)]
    assert frames[0].shape == (240, 320, 3) and frames[0].dtype == np.uint8
    assert [decode_frame_counter(f) for f in frames] == [0, 1, 2]
    assert not np.array_equal(frames[1], frames[2])


@pytest.mark.parametrize('pipeline,expected', [
    ('v4l2src device=/dev/video0', 'v4l2src device=/dev/video0 ! videoconvert ! '
     'video/x-raw,format=BGR ! appsink drop=true max-buffers=1 sync=false'),
    ('nvarguscamerasrc ! nvvidconv ! appsink', 'nvarguscamerasrc ! nvvidconv ! '
     'appsink drop=true max-buffers=1 sync=false'),
    ('src ! appsink max-buffers=2 name=s', 'src ! appsink max-buffers=2 name=s drop=true '
     'sync=false'),
])
def test_gstreamer_pipelines_end_in_a_newest_only_appsink(pipeline, expected):
    assert ensure_newest_only_appsink(pipeline) == expected


@pytest.mark.parametrize('settings,message', [
    (CaptureSettings(source='webcam'), 'source must be one of'),
    (CaptureSettings(source='file'), 'needs uri'),
    (CaptureSettings(width=0), 'positive'),
    (CaptureSettings(fps=0.0), 'fps'),
    (CaptureSettings(encoding='mono8'), 'bgr8 or rgb8'),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        settings.validate()


def test_missing_devices_and_files_are_source_errors(tmp_path):
    with pytest.raises(SourceError, match='not found'):
        make_source(CaptureSettings(source='file', uri=str(tmp_path / 'no.mp4'))).connect()
    with pytest.raises(SourceError, match='V4L2 device /dev/video97 not found'):
        make_source(CaptureSettings(source='v4l2', uri='/dev/video97')).connect()
    with pytest.raises(SourceError, match='not found'):
        make_source(CaptureSettings(source='v4l2', uri='97')).connect()


def test_corrupt_video_file_is_a_source_error(tmp_path):
    path = tmp_path / 'corrupt.mp4'
    path.write_bytes(b'this is not a video' * 100)
    with pytest.raises(SourceError, match='cannot open'):
        make_source(CaptureSettings(source='file', uri=str(path))).connect()


@pytest.mark.skipif('GStreamer:                   YES' in cv2.getBuildInformation(),
                    reason='this OpenCV has GStreamer')
def test_gstreamer_without_support_says_so():
    with pytest.raises(SourceError, match='without GStreamer'):
        make_source(CaptureSettings(source='gstreamer', uri='videotestsrc')).connect()


def test_video_file_loops(tmp_path):
    source = OpenCVSource('file', write_video(tmp_path / 'v.avi', frames=5), 160, 120, 30)
    source.connect()
    levels = [int(source.read()[0, 0, 0]) for _ in range(12)]
    source.close()
    assert len(levels) == 12
    assert abs(levels[5] - levels[0]) <= 3 and abs(levels[10] - levels[0]) <= 3


def test_video_file_without_loop_ends(tmp_path):
    source = OpenCVSource('file', write_video(tmp_path / 'v.avi', frames=3), 160, 120, 30,
                          loop=False)
    source.connect()
    for _ in range(3):
        source.read()
    with pytest.raises(StreamEnded):
        source.read()
    source.close()


def test_worker_keeps_only_the_newest_frame_and_counts_drops():
    worker = CaptureWorker(CaptureSettings(width=64, height=48, fps=200.0), time.monotonic_ns)
    worker.start()
    assert wait_until(lambda: worker.status().frames_captured >= 10)
    worker.stop()
    status = worker.status()
    # Nobody took a frame: each one replaced by its successor is a drop.
    assert status.frames_dropped == status.frames_captured - 1
    newest = worker.take()
    assert newest.index == status.frames_captured - 1
    assert decode_frame_counter(newest.image) == newest.index
    assert worker.take() is None  # taken once, gone
    assert worker.status().state == CaptureWorker.STOPPED


def test_worker_stamps_frames_with_its_clock_and_signals_each():
    ticks = []
    signalled = threading.Event()
    worker = CaptureWorker(CaptureSettings(width=32, height=32, fps=50.0),
                           clock_ns=lambda: 1_000_000_000 + len(ticks),
                           on_frame=lambda: (ticks.append(1), signalled.set()))
    worker.start()
    try:
        assert signalled.wait(5)
        frame = worker.take()
        assert frame.stamp_ns >= 1_000_000_000
    finally:
        worker.stop()


def test_worker_paces_a_file_or_pattern_to_its_rate():
    worker = CaptureWorker(CaptureSettings(width=32, height=32, fps=20.0), time.monotonic_ns)
    worker.start()
    time.sleep(1.0)
    worker.stop()
    # 20 Hz for about a second; generous bounds, the machine is shared.
    assert 8 <= worker.status().frames_captured <= 24


def test_worker_resizes_and_converts_to_rgb():
    class Blue(FrameSource):
        needs_pacing = True

        def read(self):
            frame = np.zeros((20, 40, 3), np.uint8)
            frame[:, :, 0] = 255  # blue in BGR
            return frame

    worker = CaptureWorker(CaptureSettings(width=80, height=40, fps=100.0, encoding='rgb8'),
                           time.monotonic_ns, source_factory=lambda s: Blue())
    worker.start()
    try:
        assert wait_until(lambda: worker.status().frames_captured > 0)
        frame = worker.take()
    finally:
        worker.stop()
    assert frame.image.shape == (40, 80, 3)
    assert frame.image[0, 0].tolist() == [0, 0, 255]
    assert worker.status().resized


class Flaky(FrameSource):
    """Fails to open `fail_opens` times, then streams `frames` frames, then dies."""

    needs_pacing = True

    def __init__(self, log, fail_opens, frames):
        self.log, self.fail_opens, self.frames = log, fail_opens, frames

    def connect(self):
        self.log.append('open')
        if self.log.count('open') <= self.fail_opens:
            raise SourceError('camera unplugged')

    def read(self):
        self.log.append('read')
        if self.log.count('read') > self.frames:
            raise SourceError('device gone')
        return np.zeros((8, 8, 3), np.uint8)

    def close(self):
        self.log.append('close')


class RecordingBackoff(Backoff):
    def __init__(self):
        super().__init__(0.01, 0.04, jitter=0.0)
        self.delays = []
        self.resets = 0

    def next_delay(self):
        self.delays.append(super().next_delay())
        return self.delays[-1]

    def reset(self):
        self.resets += 1
        super().reset()


def test_worker_reports_errors_and_reconnects_with_backoff():
    log = []
    backoff = RecordingBackoff()
    worker = CaptureWorker(CaptureSettings(width=8, height=8, fps=200.0), time.monotonic_ns,
                           backoff=backoff, source_factory=lambda s: Flaky(log, 3, 5))
    worker.start()
    try:
        assert wait_until(lambda: worker.status().state == CaptureWorker.ERROR)
        assert 'camera unplugged' in worker.status().error
        assert wait_until(lambda: worker.status().frames_captured >= 5)
        assert wait_until(lambda: 'device gone' in worker.status().error)
    finally:
        worker.stop()
    # Three failed opens wait 0.01, 0.02, 0.04; a success resets the backoff.
    assert backoff.delays[:3] == [0.01, 0.02, 0.04]
    assert backoff.resets >= 1
    assert worker.status().reconnects >= 4
    assert log.count('close') >= 4  # every failed attempt released the device


def test_worker_survives_a_source_that_raises_anything():
    class Broken(FrameSource):
        def connect(self):
            raise RuntimeError('driver bug')

    worker = CaptureWorker(CaptureSettings(), time.monotonic_ns, backoff=Backoff(0.01, 0.01),
                           source_factory=lambda s: Broken())
    worker.start()
    try:
        assert wait_until(lambda: 'RuntimeError: driver bug' in worker.status().error)
        assert wait_until(lambda: worker.status().reconnects >= 2)
    finally:
        worker.stop()


def test_http_stream_source_reads_frames_from_a_loopback_server(tmp_path):
    import functools
    import http.server

    write_video(tmp_path / 'clip.avi', frames=8)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f'http://127.0.0.1:{server.server_port}/clip.avi'
        source = make_source(CaptureSettings(source='stream', uri=url, width=160, height=120))
        source.connect()
        frames = [source.read() for _ in range(8)]
        source.close()
        assert all(f.shape == (120, 160, 3) for f in frames)
        # A stream that ended is an error the worker reconnects from, not a loop.
        source.connect()
        with pytest.raises(SourceError):
            for _ in range(20):
                source.read()
        source.close()
    finally:
        server.shutdown()
        server.server_close()


def test_unreachable_stream_is_a_source_error():
    source = make_source(CaptureSettings(source='stream', uri='http://127.0.0.1:9/none.avi',
                                         timeout_s=1.0))
    with pytest.raises(SourceError, match='cannot open'):
        source.connect()
