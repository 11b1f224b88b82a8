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
Object detector: ONNX Runtime on the newest camera frame, publishing vision_msgs detections.

The image callback only keeps the newest frame (older ones are counted as dropped) and wakes an
inference thread, so a slow model never builds a backlog and never delays other callbacks.
Detections carry the image's stamp and frame. Boxes are drawn on detections/image only while
someone subscribes. /diagnostics reports preprocessing, inference and postprocessing times, the
achieved rate, and the execution providers actually in use (a silent fall back to the CPU shows).
"""

import threading
import time

import cv2
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from perception import diagnostics
from perception.conversions import image_to_numpy, numpy_to_image
from perception.core.calibration import resolve_url
from perception.core.detection import DetectionError
from perception.core.image_encoding import ImageEncodingError
from perception.core.model import load_manifest, OnnxDetector
from perception.core.rate import RateMeter
from perception.node_main import run_node
from perception.params import declare_parameters, package_share_of, ParameterError, ParamSpec
from perception.qos import RELIABLE_QOS, SENSOR_QOS

PARAMS = [
    ParamSpec('model_manifest', 'Manifest of the ONNX model (file://, package:// or a path).'),
    ParamSpec('providers', 'Execution providers in order of preference.',
              choices=('tensorrt', 'cuda', 'cpu')),
    ParamSpec('require_first_provider', 'Refuse to start when the first provider is not the '
              'one in use.'),
    ParamSpec('engine_cache_dir', 'Where TensorRT engines are cached (keyed by model hash).'),
    ParamSpec('threads', 'ONNX Runtime intra-op threads; 0 lets it choose.', min_value=0,
              max_value=64),
    ParamSpec('score_threshold', 'Lowest score kept, for the classes the manifest gives no '
              'threshold of its own.', min_value=0.0, max_value=1.0, read_only=False),
    ParamSpec('model_thresholds', "Use the manifest's per-class thresholds (from perception "
              'evaluate) where it has them.', read_only=False),
    ParamSpec('iou_threshold', 'Overlap above which NMS drops the weaker box.', min_value=0.0,
              max_value=1.0, read_only=False),
    ParamSpec('max_detections', 'Most detections per image.', min_value=1, max_value=1000,
              read_only=False),
    ParamSpec('classes', 'Labels to keep; empty keeps all.'),
    ParamSpec('enabled', 'Run inference; false keeps the node up but idle.', read_only=False),
    ParamSpec('diagnostics_period_s', 'Period of the /diagnostics report.', min_value=0.1,
              max_value=10.0),
]

COLORS = ((60, 60, 230), (0, 190, 240), (40, 120, 200), (200, 140, 60))


class DetectorNode(Node):
    """Runs a detection model on camera/image_raw and publishes detections."""

    def __init__(self, **kwargs):
        self._thread = None
        super().__init__('detector', **kwargs)
        p = declare_parameters(self, PARAMS, 'detector.yaml')
        self.p = p
        path = resolve_url(p['model_manifest'], '', package_share_of)
        manifest = load_manifest(path)
        self.detector = OnnxDetector(
            manifest, list(p['providers']),
            p['engine_cache_dir'], p['threads'],
            require_first_provider=p['require_first_provider'])
        self.labels = list(manifest.labels)
        self.manifest = manifest
        self.model_thresholds = p['model_thresholds']
        wanted = list(p['classes'])
        unknown = [c for c in wanted if c not in self.labels]
        if unknown:
            raise ParameterError(f'classes names {", ".join(unknown)}, which the model does not '
                                 f'know; it knows {", ".join(self.labels)}')
        self.class_filter = [self.labels.index(c) for c in wanted]
        self.enabled = p['enabled']
        self.thresholds = (p['score_threshold'], p['iou_threshold'], p['max_detections'])
        self.add_on_set_parameters_callback(self._on_parameters)

        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._newest = None
        self.received = 0
        self.dropped = 0
        self.processed = 0
        self.errors = 0
        self.last_error = ''
        self.rate = RateMeter(3.0)
        self.pub = self.create_publisher(Detection2DArray, 'detections', RELIABLE_QOS)
        self.pub_image = self.create_publisher(Image, 'detections/image', SENSOR_QOS)
        self.create_subscription(Image, 'camera/image_raw', self._on_image, SENSOR_QOS)
        self.diagnostics = diagnostics.DiagnosticsPublisher(self, manifest.file)
        self.create_timer(p['diagnostics_period_s'], self._report)
        self._thread = threading.Thread(target=self._work, name='inference', daemon=True)
        self._thread.start()
        missing = self.detector.providers_missing
        self.get_logger().info(
            f'{manifest.file} ({self.detector.layout}, {self.detector.width}x'
            f'{self.detector.height}, {len(self.labels)} classes) on '
            f'{", ".join(self.detector.providers_in_use)}'
            + (f'; not available here: {", ".join(missing)}' if missing else ''))

    def _on_parameters(self, params):
        for param in params:
            if param.name == 'model_thresholds':
                self.model_thresholds = bool(param.value)
            elif param.name == 'enabled':
                self.enabled = bool(param.value)
                self.get_logger().info(f'detector {"enabled" if self.enabled else "disabled"}')
            elif param.name in ('score_threshold', 'iou_threshold', 'max_detections'):
                values = dict(zip(('score_threshold', 'iou_threshold', 'max_detections'),
                                  self.thresholds))
                values[param.name] = param.value
                self.thresholds = tuple(values.values())
        return SetParametersResult(successful=True)

    def _on_image(self, msg: Image) -> None:
        with self._lock:
            if self._newest is not None:
                self.dropped += 1  # the inference thread had not taken it: the newer one wins
            self._newest = msg
            self.received += 1
        self._wake.set()

    def _work(self) -> None:
        while not self._stop.is_set():
            if not self._wake.wait(0.2):
                continue
            self._wake.clear()
            with self._lock:
                msg, self._newest = self._newest, None
            if msg is None or not self.enabled:
                continue
            try:
                self._process(msg)
            except (ImageEncodingError, DetectionError, ValueError) as exc:
                self.errors += 1
                self.last_error = str(exc)
                self.get_logger().error(f'frame skipped: {exc}', throttle_duration_sec=2.0)

    def _process(self, msg: Image) -> None:
        if msg.encoding not in ('bgr8', 'rgb8'):
            raise ValueError(f'camera/image_raw must be bgr8 or rgb8, not {msg.encoding!r}')
        image = image_to_numpy(msg)
        score, iou, most = self.thresholds
        if self.model_thresholds and self.manifest.thresholds:
            score = self.manifest.class_thresholds(score)
        found = self.detector.detect(image, msg.encoding == 'rgb8', score, iou, int(most),
                                     self.class_filter or None)
        out = Detection2DArray(header=msg.header)
        for box, conf, cls in zip(found.boxes, found.scores, found.classes):
            det = Detection2D(header=msg.header)
            hypothesis = ObjectHypothesisWithPose()
            hypothesis.hypothesis.class_id = self.labels[int(cls)]
            hypothesis.hypothesis.score = float(conf)
            det.results = [hypothesis]
            det.bbox.center.position.x = float((box[0] + box[2]) / 2)
            det.bbox.center.position.y = float((box[1] + box[3]) / 2)
            det.bbox.size_x = float(box[2] - box[0])
            det.bbox.size_y = float(box[3] - box[1])
            out.detections.append(det)
        self.pub.publish(out)
        self.processed += 1
        self.rate.tick(time.monotonic())
        if self.pub_image.get_subscription_count() > 0:  # drawing costs: only for a viewer
            self.pub_image.publish(self._draw(image, found, msg))

    def _draw(self, image, found, msg) -> Image:
        canvas = image.copy()
        for box, conf, cls in zip(found.boxes, found.scores, found.classes):
            color = COLORS[int(cls) % len(COLORS)]
            if msg.encoding == 'rgb8':
                color = color[::-1]
            x1, y1, x2, y2 = (int(v) for v in box)
            cv2.rectangle(canvas, (x1, y1), (x2, y2), color, 2)
            cv2.putText(canvas, f'{self.labels[int(cls)]} {conf:.2f}', (x1, max(12, y1 - 4)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)
        return numpy_to_image(canvas, msg.encoding, msg.header)

    def _report(self) -> None:
        timings = self.detector.timings
        rate = self.rate.rate(time.monotonic())
        values = dict(timings)
        values.update({'rate_hz': rate, 'received': self.received, 'processed': self.processed,
                       'dropped': self.dropped, 'errors': self.errors,
                       'last_error': self.last_error, 'enabled': self.enabled,
                       'providers_in_use': ', '.join(self.detector.providers_in_use),
                       'providers_missing': ', '.join(self.detector.providers_missing),
                       'model_sha256': self.detector.sha256[:16], 'layout': self.detector.layout,
                       'thresholds': ', '.join(f'{k} {v:g}' for k, v in
                                               self.manifest.thresholds.items())
                       if self.model_thresholds and self.manifest.thresholds else
                       f'all {self.thresholds[0]:g}'})
        if not self.enabled:
            level, message = diagnostics.WARN, 'disabled'
        elif self.errors and self.last_error:
            level, message = diagnostics.ERROR, f'skipping frames: {self.last_error}'
        elif self.received == 0:
            level, message = diagnostics.WARN, 'no image received yet'
        else:
            level, message = diagnostics.OK, (f'{rate:.1f} Hz, inference '
                                              f'{timings["inference_ms"]:.1f} ms on '
                                              f'{self.detector.providers_in_use[0]}')
        self.diagnostics.publish([diagnostics.Status('inference', level, message, values)])

    def destroy_node(self):
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join(5.0)
        return super().destroy_node()


def main(args=None):
    raise SystemExit(run_node(DetectorNode, args))


if __name__ == '__main__':
    main()
