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

With `trusted_keys` set, the model comes from slots on disk and signed bundles replace it
(core/lifecycle.py): a lifecycle thread takes bundles from the inbox, probes and shadows the
candidate on sampled frames within a CPU budget, and hands a promoted model to the inference
thread, which swaps it between two frames; a commit window rolls back by itself. A drift monitor
compares each frame with the model's reference profile. Every step is an event on
telemetry/events and shows on /diagnostics. The safety gate depends on none of it.
"""

import threading
import time
from typing import Optional

import cv2
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from perception import diagnostics
from perception.conversions import image_to_numpy, numpy_to_image
from perception.core import lifecycle as lc
from perception.core.bundle import BundleError
from perception.core.calibration import resolve_url
from perception.core.detection import DetectionError, Detections
from perception.core.drift import DriftMonitor, image_stats, output_stats
from perception.core.image_encoding import ImageEncodingError
from perception.core.model import load_manifest, ModelError, OnnxDetector
from perception.core.model_store import StoreError
from perception.core.rate import RateMeter
from perception.core.shadow import ShadowPolicy, ShadowRun
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
    ParamSpec('trusted_keys', 'File of the Ed25519 public keys whose bundles this robot takes '
              "(perception model keygen); '' takes no bundle and serves model_manifest."),
    ParamSpec('model_dir', "Model slots and the inbox/ bundles are dropped into; '' is "
              '$ROS_HOME/perception/models.'),
    ParamSpec('inbox_period_s', 'How often the inbox is looked at.', min_value=0.1,
              max_value=60.0),
    ParamSpec('shadow_cpu_share', 'Share of one core the candidate may use in shadow.',
              min_value=0.01, max_value=1.0),
    ParamSpec('shadow_min_frames', 'Frames a candidate is compared on before a verdict.',
              min_value=10, max_value=100000),
    ParamSpec('shadow_min_agreement', 'Share of detections the candidate must share with the '
              'active model.', min_value=0.0, max_value=1.0),
    ParamSpec('frame_budget_ms', "Inference p95 a model must fit in (the camera's period).",
              min_value=1.0, max_value=10000.0),
    ParamSpec('commit_window_s', 'Time a promoted model is watched before it is kept.',
              min_value=1.0, max_value=3600.0),
    ParamSpec('drift_monitor', "Compare frames with the model's drift reference profile.",
              read_only=False),
    ParamSpec('drift_window', 'Frames the drift statistics are reported over.', min_value=20,
              max_value=100000),
    ParamSpec('drift_alarm_frames', 'Excess of out-of-reference frames over in-reference ones '
              'that raises a drift alarm.', min_value=1.0, max_value=10000.0),
]

COLORS = ((60, 60, 230), (0, 190, 240), (40, 120, 200), (200, 140, 60))
LEVELS = {'OK': diagnostics.OK, 'WARN': diagnostics.WARN, 'ERROR': diagnostics.ERROR}


class Serving:
    """A loaded model and what it came from (slot version, None without slots)."""

    def __init__(self, detector: OnnxDetector, version: Optional[int]):
        self.detector = detector
        self.manifest = detector.manifest
        self.version = version


class DetectorNode(Node):
    """Runs a detection model on camera/image_raw and publishes detections."""

    def __init__(self, **kwargs):
        # Set before anything can fail, so that destroy_node works on a half-built node.
        self._thread = self._manager = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        super().__init__('detector', **kwargs)
        p = declare_parameters(self, PARAMS, 'detector.yaml')
        self.p = p
        self.shipped = resolve_url(p['model_manifest'], '', package_share_of)
        shipped = load_manifest(self.shipped)
        self.labels = list(shipped.labels)
        self.lifecycle = None
        self.events_pub = self.create_publisher(DiagnosticStatus, 'telemetry/events',
                                                RELIABLE_QOS)
        self.serving = self._start_serving(shipped)
        self.model_thresholds = p['model_thresholds']
        wanted = list(p['classes'])
        unknown = [c for c in wanted if c not in self.labels]
        if unknown:
            raise ParameterError(f'classes names {", ".join(unknown)}, which the model does not '
                                 f'know; it knows {", ".join(self.labels)}')
        self.class_filter = [self.labels.index(c) for c in wanted]
        self.enabled = p['enabled']
        self.thresholds = (p['score_threshold'], p['iou_threshold'], p['max_detections'])
        self.drift_on = p['drift_monitor']
        self.add_on_set_parameters_callback(self._on_parameters)

        self._lock = threading.Lock()
        self._newest = None
        self.received = 0
        self.dropped = 0
        self.processed = 0
        self.errors = 0
        self.last_error = ''
        self.rate = RateMeter(3.0)
        # Lifecycle state shared by the two threads (plain assignments of whole objects).
        self._pending: Optional[Serving] = None   # to be served from the next frame on
        self._swapped = threading.Event()
        self.swaps = []                            # (version, dropped at the swap, stamps)
        self._shadow_frame = None                  # newest frame offered to the shadow
        self._shadow_next = 0.0
        self.candidate: Optional[Serving] = None
        self.previous: Optional[Serving] = None
        self.shadow: Optional[ShadowRun] = None
        self.watch: Optional[lc.CommitWatch] = None
        self.model_state = 'serving'
        self.last_event: Optional[lc.Event] = None
        self.drift = self._drift_monitor(self.serving)
        self.drift_alarm: dict = {}

        self.pub = self.create_publisher(Detection2DArray, 'detections', RELIABLE_QOS)
        self.pub_image = self.create_publisher(Image, 'detections/image', SENSOR_QOS)
        self.create_subscription(Image, 'camera/image_raw', self._on_image, SENSOR_QOS)
        self.diagnostics = diagnostics.DiagnosticsPublisher(self, self.serving.manifest.file)
        self.create_timer(p['diagnostics_period_s'], self._report)
        self._thread = threading.Thread(target=self._work, name='inference', daemon=True)
        self._thread.start()
        if self.lifecycle is not None:
            self._manager = threading.Thread(target=self._manage, name='lifecycle',
                                             daemon=True)
            self._manager.start()
        detector = self.serving.detector
        missing = detector.providers_missing
        self.get_logger().info(
            f'{self.serving.manifest.file}'
            + (f' (version {self.serving.version})' if self.serving.version is not None
               else '') +
            f' ({detector.layout}, {detector.width}x{detector.height}, {len(self.labels)} '
            f'classes) on {", ".join(detector.providers_in_use)}'
            + (f'; not available here: {", ".join(missing)}' if missing else ''))

    # --- models ------------------------------------------------------------------------------

    def _load(self, manifest_path: str, version: Optional[int]) -> Serving:
        p = self.p
        detector = OnnxDetector(load_manifest(manifest_path), list(p['providers']),
                                p['engine_cache_dir'], p['threads'],
                                require_first_provider=p['require_first_provider'])
        if list(detector.manifest.labels) != self.labels:
            raise ModelError(f'{manifest_path}: labels {list(detector.manifest.labels)} are not '
                             f'those of {self.shipped} ({self.labels})')
        return Serving(detector, version)

    def _start_serving(self, shipped) -> Serving:
        p = self.p
        if not p['trusted_keys']:
            return self._load(self.shipped, None)
        try:
            self.lifecycle = lc.Lifecycle(p['model_dir'], p['trusted_keys'], self.labels,
                                          self.shipped)
            self.lifecycle.keys()  # an unreadable key file is a configuration error: say so
        except (BundleError, StoreError, OSError) as exc:
            raise ParameterError(f'model updates cannot start: {exc}') from None
        for note in self.lifecycle.notes:
            self.get_logger().warn(f'model store: {note}')
        store = self.lifecycle.store
        for slot in ('active', 'previous'):
            version = store.slot(slot)
            if version is None:
                continue
            try:
                serving = self._load(store.manifest(slot), version)
            except (ModelError, DetectionError) as exc:
                self._event(lc.Event('model_unusable', 'ERROR', f'{slot} model version '
                                     f'{version} cannot be loaded: {exc}',
                                     {'version': version, 'reason': str(exc)}))
                continue
            if slot == 'previous':
                store.rollback()
                self._event(lc.Event('model_rolled_back', 'ERROR', 'the active model could not '
                                     f'be loaded: back to version {version}',
                                     {'version': version}))
            return serving
        self._event(lc.Event('model_unusable', 'ERROR', 'no installed model loads: serving '
                             f'the shipped {self.shipped}', {}))
        return self._load(self.shipped, None)

    def _renew_drift(self, old: Serving) -> None:
        """Judge drift against the new model's reference (the same monitor if it is the same)."""
        reference = self.serving.manifest.extra.get('drift_reference')
        if reference == old.manifest.extra.get('drift_reference'):
            return
        self.drift = self._drift_monitor(self.serving)
        if self.drift_alarm:
            gone, self.drift_alarm = sorted(self.drift_alarm), {}
            self._event(lc.Event('drift_cleared', 'OK', f'version {self.serving.version} has a '
                                 'reference of its own: drift is judged afresh',
                                 {'stats': ', '.join(gone), 'stamp': ''}))

    def _drift_monitor(self, serving: Serving) -> Optional[DriftMonitor]:
        reference = serving.manifest.extra.get('drift_reference')
        if not isinstance(reference, dict) or not reference:
            return None
        return DriftMonitor(reference, self.p['drift_window'], self.p['drift_alarm_frames'])

    def _event(self, event: lc.Event) -> None:
        self.last_event = event
        # One call site per severity: rclpy refuses a call site whose severity changes.
        text = f'{event.name}: {event.message}'
        if event.level == 'OK':
            self.get_logger().info(text)
        elif event.level == 'WARN':
            self.get_logger().warn(text)
        else:
            self.get_logger().error(text)
        msg = DiagnosticStatus(level=LEVELS[event.level], name=event.name,
                               message=event.message, hardware_id=self.get_name())
        msg.values = [KeyValue(key=str(k), value=str(v)) for k, v in event.values.items()]
        self.events_pub.publish(msg)

    # --- frames ------------------------------------------------------------------------------

    def _on_parameters(self, params):
        for param in params:
            if param.name == 'model_thresholds':
                self.model_thresholds = bool(param.value)
            elif param.name == 'enabled':
                self.enabled = bool(param.value)
                self.get_logger().info(f'detector {"enabled" if self.enabled else "disabled"}')
            elif param.name == 'drift_monitor':
                self.drift_on = bool(param.value)
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
        last_stamp = None
        while not self._stop.is_set():
            if self._pending is not None:  # between two frames: the swap drops nothing
                with self._lock:
                    dropped_before = self.dropped
                old, self.serving, self._pending = self.serving, self._pending, None
                self._renew_drift(old)
                self.swaps.append({'version': self.serving.version, 'dropped_before':
                                   dropped_before, 'last_stamp': last_stamp})
                self._swapped.set()
            if not self._wake.wait(0.2):
                continue
            self._wake.clear()
            with self._lock:
                msg, self._newest = self._newest, None
            if msg is None or not self.enabled:
                continue
            serving, watch = self.serving, self.watch
            try:
                image, found = self._process(msg, serving)
            except (ImageEncodingError, DetectionError, ValueError) as exc:
                self.errors += 1
                self.last_error = str(exc)
                self.get_logger().error(f'frame skipped: {exc}', throttle_duration_sec=2.0)
                if watch is not None and isinstance(exc, DetectionError):
                    watch.frame(time.monotonic(), None, str(exc))
                continue
            stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
            if self.swaps and 'first_stamp' not in self.swaps[-1]:
                with self._lock:
                    self.swaps[-1].update(first_stamp=stamp, dropped=self.dropped -
                                          self.swaps[-1]['dropped_before'])
            last_stamp = stamp
            if watch is not None:
                watch.frame(time.monotonic(), serving.detector.timings['inference_ms'])
            if self.drift is not None and self.drift_on:
                self._watch_drift(image, found, msg)
            if self.lifecycle is not None and (self.candidate is not None or
                                               (watch is not None and self.previous)):
                now = time.monotonic()
                if now >= self._shadow_next:  # the newest frame only; the budget decides how often
                    self._shadow_frame = (image, msg.encoding == 'rgb8', found, serving,
                                          serving.detector.timings['inference_ms'])

    def _score_cut(self, serving: Serving):
        score, _, _ = self.thresholds
        if self.model_thresholds and serving.manifest.thresholds:
            return serving.manifest.class_thresholds(score)
        return score

    def _process(self, msg: Image, serving: Serving):
        if msg.encoding not in ('bgr8', 'rgb8'):
            raise ValueError(f'camera/image_raw must be bgr8 or rgb8, not {msg.encoding!r}')
        image = image_to_numpy(msg)
        _, iou, most = self.thresholds
        found = serving.detector.detect(image, msg.encoding == 'rgb8', self._score_cut(serving),
                                        iou, int(most), self.class_filter or None)
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
        return image, found

    def _watch_drift(self, image, found: Detections, msg: Image) -> None:
        stats = image_stats(image if msg.encoding == 'rgb8' else image[:, :, ::-1])
        stats.update(output_stats(found.scores, found.classes, self.labels))
        self.drift.add(stats)
        findings = {f.stat: f for f in self.drift.findings()}
        new = sorted(set(findings) - set(self.drift_alarm))
        gone = sorted(set(self.drift_alarm) - set(findings))
        self.drift_alarm = findings
        stamp = f'{msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d}'
        if new:
            self._event(lc.Event('drift', 'WARN', 'the world no longer looks like the data of '
                                 'the model: ' + '; '.join(findings[n].describe() for n in new),
                                 {'stats': ', '.join(new), 'stamp': stamp,
                                  'frames': self.drift.frames, **{
                                      f'{n}.{k}': v for n in new
                                      for k, v in findings[n].as_dict().items()
                                      if k != 'stat'}}))
        if gone:
            self._event(lc.Event('drift_cleared', 'OK', f'back within the reference: '
                                 f'{", ".join(gone)}', {'stats': ', '.join(gone),
                                                        'stamp': stamp}))

    # --- lifecycle thread --------------------------------------------------------------------

    def _manage(self) -> None:
        p = self.p
        policy = ShadowPolicy(min_frames=p['shadow_min_frames'],
                              min_agreement=p['shadow_min_agreement'],
                              frame_budget_ms=p['frame_budget_ms'])
        next_inbox = 0.0
        store = self.lifecycle.store
        try:
            if store.pending:  # promoted before a restart, never committed: watch it again
                self._begin_commit_window(store.slot('previous'))
            if store.slot('candidate') is not None:
                self._begin_shadow(policy)
        except Exception as exc:  # noqa: B902 - the lifecycle must not end the node
            self.get_logger().error(f'model lifecycle: {type(exc).__name__}: {exc}')
        while not self._stop.wait(0.05):
            try:
                now = time.monotonic()
                # One update at a time: bundles wait in the inbox while a candidate is in
                # shadow or a promoted model in its commit window.
                if now >= next_inbox and self.shadow is None and self.watch is None:
                    next_inbox = now + p['inbox_period_s']
                    for path in self.lifecycle.inbox.ready():
                        event = self.lifecycle.offer(path)
                        self._event(event)
                        if event.name == 'model_installed':
                            self._begin_shadow(policy)
                            break
                self._shadow_step()
                self._decide()
            except Exception as exc:  # noqa: B902 - the lifecycle must not end the node
                self.get_logger().error(f'model lifecycle: {type(exc).__name__}: {exc}',
                                        throttle_duration_sec=5.0)

    def _begin_shadow(self, policy: ShadowPolicy) -> None:
        store = self.lifecycle.store
        version = store.slot('candidate')
        self.candidate = self.shadow = None
        if version is None:
            return
        self.model_state = f'probing version {version}'
        reason = lc.probe(store.manifest('candidate'))
        if reason is None:
            try:
                candidate = self._load(store.manifest('candidate'), version)
            except (ModelError, DetectionError) as exc:
                reason = str(exc)
        if reason is not None:
            self._event(self.lifecycle.refuse_candidate(reason))
            self.model_state = 'serving'
            return
        self.shadow = ShadowRun(policy)
        self.candidate = candidate
        self.model_state = f'shadowing version {version}'
        self._event(lc.Event('shadow_started', 'OK', f'candidate version {version} runs in '
                             f'shadow beside version {self.serving.version}',
                             {'version': version, 'active': self.serving.version}))

    def _shadow_step(self) -> None:
        frame = self._shadow_frame
        if frame is None:
            return
        self._shadow_frame = None
        image, rgb, found, served_by, served_ms = frame
        _, iou, most = self.thresholds
        other = self.candidate if self.shadow is not None else self.previous
        if other is None or (self.shadow is None and self.watch is None):
            return
        start = time.monotonic()
        try:
            theirs = other.detector.detect(image, rgb, self._score_cut(other), iou, int(most),
                                           self.class_filter or None)
            error = ''
        except DetectionError as exc:
            theirs, error = None, str(exc)
        spent = time.monotonic() - start
        # A token bucket in time: the shadow takes at most its share of one core.
        self._shadow_next = time.monotonic() + spent * (1 - self.p['shadow_cpu_share']) / \
            self.p['shadow_cpu_share']
        if self.shadow is not None and served_by is self.serving:
            if error:
                self.shadow.fail(f'inference failed in shadow: {error}')
            else:
                self.shadow.add(found, theirs, other.detector.timings['inference_ms'],
                                served_ms)
        elif self.watch is not None and theirs is not None:
            self.watch.compare(len(found), len(theirs), other.detector.timings['inference_ms'])

    def _decide(self) -> None:
        if self.shadow is not None:
            decision = self.shadow.decision()
            if decision is not None:
                figures = {k: v for k, v in decision.figures.items()
                           if not k.endswith('histogram')}
                if decision.promote:
                    self._promote(figures)
                else:
                    self.candidate, self.shadow = None, None
                    event = self.lifecycle.refuse_candidate('; '.join(decision.reasons))
                    self._event(lc.Event(event.name, event.level, event.message,
                                         {**event.values, **figures}))
                    self.model_state = 'serving'
        if self.watch is not None:
            verdict = self.watch.verdict(time.monotonic())
            if verdict is not None:
                self._end_commit_window(*verdict)

    def _swap_to(self, serving: Serving) -> dict:
        self._swapped.clear()
        self._pending = serving
        self._wake.set()
        if not self._swapped.wait(10.0):
            raise RuntimeError('the inference thread did not take the new model in 10 s')
        return self.swaps[-1]

    def _promote(self, figures: dict) -> None:
        start = time.monotonic()
        old, new = self.serving, self.candidate
        self.lifecycle.promote()
        self.candidate = self.shadow = None
        self.previous = old
        swap = self._swap_to(new)
        self.watch = lc.CommitWatch(self.p['commit_window_s'], self.p['frame_budget_ms'],
                                    time.monotonic())
        self.model_state = f'commit window of version {new.version}'
        deadline = time.monotonic() + 5.0
        while 'first_stamp' not in swap and time.monotonic() < deadline and \
                not self._stop.is_set():
            time.sleep(0.01)  # the first frame the new model serves gives the swap's figures
        self._event(lc.Event('model_promoted', 'OK', f'version {new.version} promoted after '
                             f'shadow ({figures["frames"]} frames, agreement '
                             f'{figures["agreement"]}, p95 {figures["latency_p95_ms"]} ms); '
                             f'{swap.get("dropped", 0)} frames dropped at the swap',
                             {'version': new.version, 'previous': old.version,
                              'promote_s': round(time.monotonic() - start, 3),
                              'frames_dropped_at_swap': swap.get('dropped', 'unknown'),
                              'last_old_stamp': _stamp(swap.get('last_stamp')),
                              'first_new_stamp': _stamp(swap.get('first_stamp')),
                              **figures}))

    def _begin_commit_window(self, previous_version: Optional[int]) -> None:
        store = self.lifecycle.store
        if previous_version is not None and self.previous is None:
            try:
                self.previous = self._load(store.manifest('previous'), previous_version)
            except (ModelError, DetectionError) as exc:
                self.get_logger().error(f'previous model cannot be loaded: {exc}')
        self.watch = lc.CommitWatch(self.p['commit_window_s'], self.p['frame_budget_ms'],
                                    time.monotonic())
        self.model_state = f'commit window of version {self.serving.version} (after a restart)'

    def _end_commit_window(self, keep: bool, reason: str) -> None:
        watch, self.watch = self.watch, None
        version = self.serving.version
        if keep:
            self.lifecycle.commit()
            self.previous = None
            self.model_state = 'serving'
            self._event(lc.Event('model_committed', 'OK', f'version {version} kept after its '
                                 f'commit window ({watch.frames} frames)',
                                 {'version': version, 'frames': watch.frames}))
            return
        failed_at = watch.first_failure or time.monotonic()
        back = self.lifecycle.rollback()
        if self.previous is not None:
            self._swap_to(self.previous)
        else:  # nothing loaded to go back to: load it now (slower, but the same end)
            self._swap_to(self._load(self.lifecycle.store.manifest('active'), back))
        self.previous = None
        self.model_state = 'serving'
        self._event(lc.Event('model_rolled_back', 'ERROR', f'version {version} rolled back to '
                             f'{back}: {reason}',
                             {'version': version, 'back_to': back, 'reason': reason,
                              'rollback_s': round(time.monotonic() - failed_at, 3)}))

    # --- reports -----------------------------------------------------------------------------

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
        serving = self.serving
        detector, manifest = serving.detector, serving.manifest
        timings = detector.timings
        rate = self.rate.rate(time.monotonic())
        values = dict(timings)
        values.update({'rate_hz': rate, 'received': self.received, 'processed': self.processed,
                       'dropped': self.dropped, 'errors': self.errors,
                       'last_error': self.last_error, 'enabled': self.enabled,
                       'providers_in_use': ', '.join(detector.providers_in_use),
                       'providers_missing': ', '.join(detector.providers_missing),
                       'model_sha256': detector.sha256[:16], 'layout': detector.layout,
                       'thresholds': ', '.join(f'{k} {v:g}' for k, v in
                                               manifest.thresholds.items())
                       if self.model_thresholds and manifest.thresholds else
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
                                              f'{detector.providers_in_use[0]}')
        statuses = [diagnostics.Status('inference', level, message, values)]
        statuses.append(self._model_status())
        statuses.append(self._drift_status())
        self.diagnostics.publish(statuses)

    def _model_status(self) -> diagnostics.Status:
        values = {'version': self.serving.version if self.serving.version is not None
                  else 'shipped', 'file': self.serving.manifest.file, 'state': self.model_state,
                  'updates': 'on' if self.lifecycle else 'off (no trusted_keys)'}
        if self.lifecycle is not None:
            store = self.lifecycle.store
            values.update({slot: store.slot(slot) for slot in ('candidate', 'previous')})
            values['highest_installed'] = store.highest
        if self.shadow is not None:
            values.update({f'shadow_{k}': v for k, v in self.shadow.figures().items()
                           if not k.endswith('histogram')})
        event = self.last_event
        if event is not None:
            values['last_event'] = f'{event.name}: {event.message}'
        level = diagnostics.OK
        if event is not None and event.level != 'OK' and \
                event.name in ('model_refused', 'candidate_rejected', 'model_rolled_back',
                               'model_unusable'):
            level = LEVELS[event.level]
        message = self.model_state if event is None or level == diagnostics.OK \
            else event.message
        return diagnostics.Status('model', level, message, values)

    def _drift_status(self) -> diagnostics.Status:
        if self.drift is None:
            return diagnostics.Status('drift', diagnostics.OK, 'no drift reference in the '
                                      'model manifest (perception evaluate writes one)',
                                      {'monitoring': False})
        values = {'monitoring': self.drift_on, 'frames': self.drift.frames}
        values.update({f'psi_{k}': ('-' if v is None else round(v, 3))
                       for k, v in self.drift.scores().items()})
        if self.drift_alarm:
            return diagnostics.Status('drift', diagnostics.WARN, '; '.join(
                f.describe() for f in self.drift_alarm.values()), values)
        return diagnostics.Status('drift', diagnostics.OK, 'within the reference profile'
                                  if self.drift_on else 'not monitored', values)

    def destroy_node(self):
        self._stop.set()
        self._wake.set()
        for thread in (self._thread, self._manager):
            if thread is not None:
                thread.join(5.0)
        return super().destroy_node()


def _stamp(stamp) -> str:
    return '' if stamp is None else f'{stamp[0]}.{stamp[1]:09d}'


def main(args=None):
    raise SystemExit(run_node(DetectorNode, args))


if __name__ == '__main__':
    main()
