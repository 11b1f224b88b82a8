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
Frame sources and a capture thread that keeps only the newest frame.

Sources: a V4L2 device, a GStreamer pipeline, a video file, a network stream (RTSP/HTTP) and a
synthetic moving test pattern. OpenCV does the decoding; it is imported lazily so that the
synthetic source works without it.
"""

from dataclasses import dataclass
import os
import re
import threading
import time
from typing import Callable, Optional

import numpy as np

from perception.core.backoff import Backoff

SOURCE_KINDS = ('synthetic', 'v4l2', 'gstreamer', 'file', 'stream')


class SourceError(RuntimeError):
    """A source that cannot be opened or stopped delivering frames."""


class StreamEnded(SourceError):
    """A finite source (a video file) reached its end."""


def _cv2():
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - opencv is a declared dependency
        raise SourceError(f'OpenCV is needed for this source and cannot be imported: {exc}')
    return cv2


class FrameSource:
    """A device, file or generator of BGR uint8 frames."""

    #: True when read() returns at once and the caller must pace it to the frame rate.
    needs_pacing = False

    def connect(self) -> None:
        """Open the source; raise SourceError saying why it cannot be opened."""

    def read(self) -> np.ndarray:
        """Return the next frame (h, w, 3) uint8 BGR; raise SourceError or StreamEnded."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the device; safe to call more than once."""

    def describe(self) -> str:
        """Say what this source is, for logs and diagnostics."""
        return type(self).__name__


class SyntheticSource(FrameSource):
    """Colour bars with a moving box and a frame counter, for machines with no camera."""

    needs_pacing = True

    def __init__(self, width: int, height: int):
        self.width = width
        self.height = height
        self._count = 0
        bars = np.array([[192, 192, 192], [0, 192, 192], [192, 192, 0], [0, 192, 0],
                         [192, 0, 192], [0, 0, 192], [192, 0, 0], [32, 32, 32]], np.uint8)
        columns = np.arange(width) * len(bars) // max(width, 1)
        self._background = np.ascontiguousarray(
            np.broadcast_to(bars[columns], (height, width, 3)))

    def read(self) -> np.ndarray:
        frame = self._background.copy()
        side = max(8, min(self.width, self.height) // 6)
        span_x = max(1, self.width - side)
        span_y = max(1, self.height - side)
        # A box bouncing on a triangle wave, so consecutive frames always differ.
        x = abs((self._count * 7) % (2 * span_x) - span_x)
        y = abs((self._count * 5) % (2 * span_y) - span_y)
        frame[y:y + side, x:x + side] = (255, 255, 255)
        frame[y + side // 4:y + 3 * side // 4, x + side // 4:x + 3 * side // 4] = (0, 0, 0)
        # The frame number as 32 binary blocks in the top-left corner, readable without OCR.
        block = max(2, self.width // 160)
        bits = (self._count >> np.arange(32)) & 1
        for i, bit in enumerate(bits):
            frame[:block, i * block:(i + 1) * block] = 255 if bit else 0
        self._count += 1
        return frame

    def describe(self) -> str:
        return f'synthetic test pattern {self.width}x{self.height}'


def decode_frame_counter(frame: np.ndarray) -> int:
    """Read the frame number a SyntheticSource wrote into a BGR frame (for tests and benches)."""
    block = max(2, frame.shape[1] // 160)
    centres = frame[block // 2, block // 2:32 * block:block, 1].astype(np.int64)
    return int(((centres > 127).astype(np.int64) << np.arange(32)).sum())


def ensure_newest_only_appsink(pipeline: str) -> str:
    """
    Make a GStreamer pipeline end in an appsink that holds only the newest buffer.

    An appsink without drop=true and max-buffers=1 queues frames while the reader is busy, which
    adds latency that grows without bound.
    """
    pipeline = pipeline.strip()
    match = re.search(r'appsink([^!]*)$', pipeline)
    if match is None:
        return pipeline + ' ! videoconvert ! video/x-raw,format=BGR ! ' \
            'appsink drop=true max-buffers=1 sync=false'
    props = match.group(1)
    for key, value in (('drop', 'true'), ('max-buffers', '1'), ('sync', 'false')):
        if not re.search(rf'\b{key}\s*=', props):
            props += f' {key}={value}'
    return pipeline[:match.start()] + 'appsink' + props


class OpenCVSource(FrameSource):
    """A V4L2 device, GStreamer pipeline, video file or network stream read by OpenCV."""

    def __init__(self, kind: str, uri: str, width: int, height: int, fps: float,
                 loop: bool = True, fourcc: str = '', timeout_s: float = 5.0):
        if kind not in ('v4l2', 'gstreamer', 'file', 'stream'):
            raise SourceError(f'unknown source kind {kind!r}')
        if not uri:
            raise SourceError(f'a {kind} source needs a uri')
        self.kind = kind
        self.uri = uri
        self.width = width
        self.height = height
        self.fps = fps
        self.loop = loop
        self.fourcc = fourcc
        self.timeout_s = timeout_s
        self.needs_pacing = kind == 'file'
        self._cap = None

    def describe(self) -> str:
        return f'{self.kind} {self.uri}'

    def connect(self) -> None:
        cv2 = _cv2()
        self.close()
        timeouts = []
        for name, value in (('CAP_PROP_OPEN_TIMEOUT_MSEC', self.timeout_s * 1000),
                            ('CAP_PROP_READ_TIMEOUT_MSEC', self.timeout_s * 1000)):
            if hasattr(cv2, name):  # OpenCV 4.5.2 and newer
                timeouts += [getattr(cv2, name), int(value)]
        if self.kind == 'v4l2':
            device = self._v4l2_device()
            cap = cv2.VideoCapture(device, cv2.CAP_V4L2)
        elif self.kind == 'gstreamer':
            if not re.search(r'GStreamer:\s+YES', cv2.getBuildInformation()):
                raise SourceError(
                    'this OpenCV was built without GStreamer (the PyPI wheels are); use the '
                    "distribution's python3-opencv, as on a Jetson, for GStreamer pipelines")
            cap = cv2.VideoCapture(ensure_newest_only_appsink(self.uri), cv2.CAP_GSTREAMER)
        elif self.kind == 'file':
            if not os.path.isfile(self.uri):
                raise SourceError(f'video file {self.uri} not found')
            cap = cv2.VideoCapture(self.uri, cv2.CAP_FFMPEG, timeouts)
        else:
            cap = cv2.VideoCapture(self.uri, cv2.CAP_FFMPEG, timeouts)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f'cannot open {self.describe()}')
        if self.kind == 'v4l2':
            if self.fourcc:
                cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.fourcc[:4].ljust(4)))
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_FPS, self.fps)
        if self.kind in ('v4l2', 'stream'):
            # The driver's queue would hand out old frames first; ask for the smallest.
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap

    def _v4l2_device(self):
        if self.uri.isdigit():
            path = f'/dev/video{self.uri}'
        else:
            path = os.path.realpath(self.uri)  # /dev/v4l/by-id links name a stable device
        if not os.path.exists(path):
            raise SourceError(f'V4L2 device {self.uri} not found')
        match = re.fullmatch(r'/dev/video(\d+)', path)
        return int(match.group(1)) if match else path

    def read(self) -> np.ndarray:
        if self._cap is None:
            raise SourceError(f'{self.describe()} is not open')
        ok, frame = self._cap.read()
        if not ok and self.kind == 'file':
            if not self.loop:
                raise StreamEnded(f'video file {self.uri} ended')
            self._cap.set(_cv2().CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        if not ok or frame is None:
            raise SourceError(f'{self.describe()} delivered no frame (device gone or stream '
                              'ended)')
        if frame.ndim == 2:
            frame = _cv2().cvtColor(frame, _cv2().COLOR_GRAY2BGR)
        elif frame.shape[2] == 4:
            frame = _cv2().cvtColor(frame, _cv2().COLOR_BGRA2BGR)
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


@dataclass(frozen=True)
class CaptureSettings:
    """What to capture: the source and the frames wanted from it."""

    source: str = 'synthetic'
    uri: str = ''
    width: int = 640
    height: int = 480
    fps: float = 30.0
    encoding: str = 'bgr8'
    loop: bool = True
    fourcc: str = ''
    timeout_s: float = 5.0

    def validate(self) -> None:
        """Raise ValueError naming the first setting that cannot work."""
        if self.source not in SOURCE_KINDS:
            raise ValueError(f'source must be one of {", ".join(SOURCE_KINDS)}, '
                             f'not {self.source!r}')
        if self.source != 'synthetic' and not self.uri:
            raise ValueError(f'source {self.source!r} needs uri')
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f'width and height must be positive, got {self.width}x{self.height}')
        if not self.fps > 0:
            raise ValueError(f'fps must be positive, got {self.fps}')
        if self.encoding not in ('bgr8', 'rgb8'):
            raise ValueError(f'encoding must be bgr8 or rgb8, not {self.encoding!r}')


def make_source(settings: CaptureSettings) -> FrameSource:
    """Build the FrameSource that settings describe (not yet opened)."""
    settings.validate()
    if settings.source == 'synthetic':
        return SyntheticSource(settings.width, settings.height)
    return OpenCVSource(settings.source, settings.uri, settings.width, settings.height,
                        settings.fps, settings.loop, settings.fourcc, settings.timeout_s)


@dataclass(frozen=True)
class Frame:
    """A captured image and the time it was captured."""

    image: np.ndarray
    stamp_ns: int
    index: int


@dataclass(frozen=True)
class CaptureStatus:
    """A snapshot of the capture thread's state, for diagnostics."""

    state: str
    error: str
    source: str
    frames_captured: int
    frames_dropped: int
    reconnects: int
    resized: bool


class CaptureWorker:
    """
    Reads a source on a thread of its own and keeps only the newest frame.

    Each frame is stamped with clock_ns() as soon as the source returns it. When the consumer has
    not taken a frame before the next one arrives, the old one is dropped and counted. A source
    that fails or ends is closed, reported and reopened after a backoff delay.
    """

    CONNECTING, STREAMING, ERROR, STOPPED = 'CONNECTING', 'STREAMING', 'ERROR', 'STOPPED'

    def __init__(self, settings: CaptureSettings, clock_ns: Callable[[], int],
                 on_frame: Optional[Callable[[], None]] = None,
                 backoff: Optional[Backoff] = None,
                 source_factory: Optional[Callable[[CaptureSettings], FrameSource]] = None):
        settings.validate()
        self.settings = settings
        self._clock_ns = clock_ns
        self._on_frame = on_frame
        self._backoff = backoff or Backoff(0.5, 10.0)
        self._factory = source_factory or make_source
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._frame = None
        self._taken = True
        self._state = self.CONNECTING
        self._error = ''
        self._source_name = settings.source
        self._captured = 0
        self._dropped = 0
        self._reconnects = 0
        self._resized = False

    def start(self) -> None:
        """Start the capture thread."""
        self._thread = threading.Thread(target=self._run, name='capture', daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the capture thread and release the source."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            self._state = self.STOPPED

    def take(self) -> Optional[Frame]:
        """Return the newest frame not yet taken, or None."""
        with self._lock:
            if self._taken:
                return None
            self._taken = True
            return self._frame

    def status(self) -> CaptureStatus:
        """Return a consistent snapshot of the counters and state."""
        with self._lock:
            return CaptureStatus(self._state, self._error, self._source_name, self._captured,
                                 self._dropped, self._reconnects, self._resized)

    def _set_state(self, state: str, error: str = '') -> None:
        with self._lock:
            self._state = state
            self._error = error

    def _run(self) -> None:
        while not self._stop.is_set():
            source = None
            try:
                source = self._factory(self.settings)
                with self._lock:
                    self._source_name = source.describe()
                source.connect()
                self._stream(source)
            except SourceError as exc:
                self._set_state(self.ERROR, str(exc))
            except Exception as exc:  # noqa: B902 - a driver bug must not end capture for good
                self._set_state(self.ERROR, f'{type(exc).__name__}: {exc}')
            finally:
                if source is not None:
                    source.close()
            if self._stop.is_set():
                break
            self._stop.wait(self._backoff.next_delay())
            with self._lock:
                self._reconnects += 1

    def _stream(self, source: FrameSource) -> None:
        period = 1.0 / self.settings.fps
        deadline = time.monotonic()
        first = True
        while not self._stop.is_set():
            if source.needs_pacing:
                delay = deadline - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                # Pace on a fixed grid; after a stall start a new grid rather than burst.
                deadline = max(deadline + period, time.monotonic())
            image = source.read()
            stamp = self._clock_ns()
            image = self._fit(image)
            if first:
                self._backoff.reset()
                self._set_state(self.STREAMING)
                first = False
            with self._lock:
                if not self._taken:
                    self._dropped += 1
                self._frame = Frame(image, stamp, self._captured)
                self._taken = False
                self._captured += 1
            if self._on_frame is not None:
                self._on_frame()

    def _fit(self, image: np.ndarray) -> np.ndarray:
        """Resize to the configured size and convert to the configured encoding."""
        height, width = self.settings.height, self.settings.width
        if image.shape[0] != height or image.shape[1] != width:
            cv2 = _cv2()
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            self._resized = True
        if self.settings.encoding == 'rgb8':
            image = np.ascontiguousarray(image[:, :, ::-1])
        return image
