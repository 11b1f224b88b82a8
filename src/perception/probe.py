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

"""A listening node that measures what a stack publishes: delivery, latency and diagnostics."""

from dataclasses import dataclass
import threading
import time
from typing import Dict, List, Optional

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from perception.conversions import image_to_numpy, stamp_to_ns
from perception.core.capture import decode_frame_counter
from perception.qos import RELIABLE_QOS, SENSOR_QOS


@dataclass
class ImageSample:
    """One received image: its stamp, when it arrived (both ns), and its test-pattern number."""

    stamp_ns: int
    received_ns: int
    counter: int
    width: int
    height: int
    encoding: str
    frame_id: str


def percentile(values: List[float], q: float) -> float:
    """Return the q-th percentile of values, or NaN for none."""
    return float(np.percentile(values, q)) if values else float('nan')


class StackProbe:
    """
    Subscribes to camera/image_raw, camera/camera_info and /diagnostics on a thread of its own.

    The image callback only records times and reads the test pattern's frame number, so the
    probe itself adds little to the latency it measures.
    """

    def __init__(self, namespace: str = '', decode_counter: bool = True,
                 context: Optional[rclpy.context.Context] = None):
        self._context = context
        self.node = Node('stack_probe', namespace=namespace, context=context)
        self.decode_counter = decode_counter
        self.samples: List[ImageSample] = []
        self.infos: List[CameraInfo] = []
        self.diagnostics: Dict[str, Dict[str, str]] = {}
        self.diagnostic_levels: Dict[str, bytes] = {}
        self.diagnostic_messages: Dict[str, str] = {}
        self.recording = True
        self._lock = threading.Lock()
        self.node.create_subscription(Image, 'camera/image_raw', self._on_image, SENSOR_QOS)
        self.node.create_subscription(CameraInfo, 'camera/camera_info', self._on_info, SENSOR_QOS)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                      RELIABLE_QOS)
        self._executor = SingleThreadedExecutor(context=context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            self._executor.spin()
        except Exception:  # noqa: B902 - the context was shut down under us
            pass

    def _on_image(self, msg: Image) -> None:
        received = time.time_ns()
        if not self.recording:
            return
        counter = -1
        if self.decode_counter and msg.encoding in ('bgr8', 'rgb8'):
            counter = decode_frame_counter(image_to_numpy(msg))
        with self._lock:
            self.samples.append(ImageSample(stamp_to_ns(msg.header.stamp), received, counter,
                                            msg.width, msg.height, msg.encoding,
                                            msg.header.frame_id))

    def _on_info(self, msg: CameraInfo) -> None:
        with self._lock:
            self.infos.append(msg)
            del self.infos[:-5]

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        with self._lock:
            for status in msg.status:
                self.diagnostics[status.name] = {kv.key: kv.value for kv in status.values}
                self.diagnostic_levels[status.name] = status.level
                self.diagnostic_messages[status.name] = status.message

    def reset(self) -> None:
        """Forget the samples received so far."""
        with self._lock:
            self.samples = []

    def snapshot(self) -> List[ImageSample]:
        """Return a copy of the samples received so far."""
        with self._lock:
            return list(self.samples)

    def wait_for_images(self, count: int, timeout: float) -> bool:
        """Wait until count images have arrived; False on timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.samples) >= count:
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        """Stop spinning and destroy the node."""
        self._executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self._thread.join(2.0)


def summarize(samples: List[ImageSample], expected_rate: float) -> Dict[str, float]:
    """
    Delivery and latency figures of a run.

    delivered_ratio counts the test pattern's frame numbers: frames received over the frames
    generated between the first and the last received, so a frame lost anywhere (capture,
    publish, transport) counts as lost.
    """
    latencies = [(s.received_ns - s.stamp_ns) / 1e6 for s in samples]
    counters = sorted({s.counter for s in samples if s.counter >= 0})
    if len(counters) >= 2:
        delivered = len(counters) / (counters[-1] - counters[0] + 1)
    else:
        delivered = float('nan')
    span = (samples[-1].received_ns - samples[0].received_ns) / 1e9 if len(samples) > 1 else 0
    return {
        'frames': len(samples),
        'rate_hz': (len(samples) - 1) / span if span > 0 else 0.0,
        'expected_rate_hz': expected_rate,
        'delivered_ratio': delivered,
        'latency_p50_ms': percentile(latencies, 50),
        'latency_p99_ms': percentile(latencies, 99),
        'latency_max_ms': max(latencies) if latencies else float('nan'),
    }
