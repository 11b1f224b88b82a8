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
Detection models: their manifest, integrity checks, and an ONNX Runtime session around them.

A manifest (YAML) names the model file and its labels; it may also give the sha256, the input
size, colour order and normalization, and the output layout. A user's own Ultralytics export
works with nothing but `file` and `labels`: the input size comes from the model, the layout from
its output shape, and the input is RGB scaled to [0, 1] as those exports expect. A model that is
missing, corrupt, tampered with (sha256) or does not match its manifest is an error at start,
never garbage detections.
"""

from dataclasses import dataclass, field
import hashlib
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from perception.core.detection import DetectionError, Detections, infer_layout, LAYOUTS
from perception.core.detection import letterbox, postprocess, to_tensor
from perception.core.optional import require
from perception.core.yamlfile import read_yaml


class ModelError(ValueError):
    """A model or manifest that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Manifest:
    """What a detection model is and how to feed it."""

    path: str                      # the manifest file
    file: str                      # the model, relative to the manifest
    labels: Tuple[str, ...]
    sha256: str = ''
    width: int = 0                 # 0: from the model
    height: int = 0
    color: str = 'rgb'             # channel order the model expects
    scale: float = 1 / 255.0
    mean: Tuple[float, ...] = (0.0, 0.0, 0.0)
    std: Tuple[float, ...] = (1.0, 1.0, 1.0)
    layout: str = ''               # '': from the output shape
    precision: str = ''
    #: Score threshold per label from `perception evaluate` (the chosen operating point).
    thresholds: Dict[str, float] = field(default_factory=dict)
    extra: Dict[str, object] = field(default_factory=dict)

    def class_thresholds(self, default: float) -> np.ndarray:
        """Return a score threshold per class: the manifest's, else the default."""
        return np.array([self.thresholds.get(label, default) for label in self.labels],
                        np.float32)

    @property
    def model_path(self) -> str:
        """Absolute path of the model file."""
        return os.path.join(os.path.dirname(os.path.abspath(self.path)), self.file)


KNOWN_KEYS = {'name', 'file', 'labels', 'sha256', 'input', 'output', 'precision', 'accuracy',
              'size_bytes', 'latency', 'training', 'data', 'notes', 'thresholds', 'quantization',
              'source', 'evaluation', 'version', 'drift_reference'}


def manifest_doc(name: str, model_path: str, manifest_dir: str, labels: Sequence[str],
                 width: int, height: int, layout: str, precision: str, color: str = 'rgb',
                 scale: float = 1 / 255.0, **more) -> Dict[str, object]:
    """Return a manifest's fields for a model file, its path relative to the manifest's folder."""
    doc = {'name': name, 'file': os.path.relpath(model_path, manifest_dir),
           'labels': list(labels), 'sha256': sha256_of(model_path),
           'input': {'width': int(width), 'height': int(height), 'color': color,
                     'scale': float(scale), 'mean': [0.0, 0.0, 0.0], 'std': [1.0, 1.0, 1.0],
                     'layout': 'nchw'},
           'output': {'layout': layout}, 'precision': precision,
           'size_bytes': os.path.getsize(model_path)}
    doc.update(more)
    return doc


def save_manifest(path: str, doc: Dict[str, object]) -> str:
    """Write a manifest whole or not at all (a temporary file renamed into place)."""
    import yaml
    temporary = f'{path}.tmp{os.getpid()}'
    try:
        with open(temporary, 'w', encoding='utf-8') as stream:
            yaml.safe_dump(doc, stream, sort_keys=False)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def load_manifest(path: str) -> Manifest:
    """Read and check a manifest; every error names the file and the key."""
    doc = read_yaml(path, ModelError, 'model manifest')
    if not isinstance(doc, dict):
        raise ModelError(f'{path}: a manifest is a mapping')
    unknown = sorted(set(doc) - KNOWN_KEYS)
    if unknown:
        raise ModelError(f'{path}: unknown key {", ".join(unknown)}')
    if not isinstance(doc.get('file'), str) or not doc['file']:
        raise ModelError(f'{path}: missing field file (the .onnx model)')
    labels = doc.get('labels')
    if not isinstance(labels, list) or not labels or \
            not all(isinstance(x, str) and x for x in labels):
        raise ModelError(f'{path}: labels must be a non-empty list of class names')
    if len(set(labels)) != len(labels):
        raise ModelError(f'{path}: labels repeat a name')
    inp = doc.get('input') or {}
    out = doc.get('output') or {}
    if not isinstance(inp, dict) or not isinstance(out, dict):
        raise ModelError(f'{path}: input and output must be mappings')
    color = inp.get('color', 'rgb')
    if color not in ('rgb', 'bgr'):
        raise ModelError(f'{path}: input.color must be rgb or bgr, not {color!r}')
    layout = out.get('layout', '')
    if layout and layout not in LAYOUTS:
        raise ModelError(f'{path}: output.layout must be one of {", ".join(LAYOUTS)}')
    if inp.get('layout', 'nchw') != 'nchw':
        raise ModelError(f'{path}: only nchw inputs are supported, not {inp["layout"]!r}')
    thresholds = doc.get('thresholds') or {}
    if not isinstance(thresholds, dict) or not all(
            label in labels and isinstance(v, (int, float)) and not isinstance(v, bool) and
            0.0 <= v <= 1.0 for label, v in thresholds.items()):
        raise ModelError(f'{path}: thresholds must map labels of the model to scores in [0, 1]')
    try:
        return Manifest(
            path=path, file=doc['file'], labels=tuple(labels), sha256=str(doc.get('sha256', '')),
            width=int(inp.get('width', 0)), height=int(inp.get('height', 0)), color=color,
            scale=float(inp.get('scale', 1 / 255.0)),
            mean=tuple(float(v) for v in inp.get('mean', (0.0, 0.0, 0.0))),
            std=tuple(float(v) for v in inp.get('std', (1.0, 1.0, 1.0))),
            layout=layout, precision=str(doc.get('precision', '')),
            thresholds={k: float(v) for k, v in thresholds.items()},
            extra={k: doc[k] for k in ('name', 'accuracy', 'version', 'drift_reference')
                   if k in doc})
    except (TypeError, ValueError) as exc:
        raise ModelError(f'{path}: bad input field: {exc}') from None


def sha256_of(path: str) -> str:
    """Return the sha256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, 'rb') as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


PROVIDERS = {'tensorrt': 'TensorrtExecutionProvider', 'cuda': 'CUDAExecutionProvider',
             'cpu': 'CPUExecutionProvider'}


def provider_list(names: Sequence[str], model_hash: str, cache_dir: str, fp16: bool = True,
                  int8: bool = False) -> List[Tuple[str, dict]]:
    """ONNX Runtime providers with options, in the order asked, from short names."""
    out = []
    for name in names:
        if name not in PROVIDERS:
            raise ModelError(f'unknown execution provider {name!r}; known: '
                             f'{", ".join(PROVIDERS)}')
        options = {}
        if name == 'tensorrt':
            # The engine cache is keyed by the model's hash: a new model never reuses an engine.
            options = {'trt_fp16_enable': fp16, 'trt_int8_enable': int8,
                       'trt_engine_cache_enable': True,
                       'trt_engine_cache_path': os.path.join(cache_dir, model_hash[:16])}
        out.append((PROVIDERS[name], options))
    return out


class OnnxDetector:
    """A checked model in an ONNX Runtime session: image in, detections out, timed."""

    def __init__(self, manifest: Manifest, providers: Sequence[str] = ('cpu',),
                 cache_dir: str = '', threads: int = 0, warmup: int = 2,
                 require_first_provider: bool = False):
        ort = require('onnxruntime')  # only a node that detects needs it
        self.manifest = manifest
        path = manifest.model_path
        if not os.path.isfile(path):
            raise ModelError(f'model file {path} (from {manifest.path}) not found')
        self.sha256 = sha256_of(path)
        if manifest.sha256 and manifest.sha256 != self.sha256:
            raise ModelError(f'{path} does not match its manifest: sha256 {self.sha256[:12]}... '
                             f'instead of {manifest.sha256[:12]}... (corrupt or tampered)')
        available = set(ort.get_available_providers())
        wanted = provider_list(providers, self.sha256,
                               cache_dir or os.path.join(os.path.expanduser('~'), '.cache',
                                                         'perception', 'trt'))
        self.providers_missing = [p for p, _ in wanted if p not in available]
        usable = [(p, o) for p, o in wanted if p in available] or [('CPUExecutionProvider', {})]
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Idle worker threads would spin-wait for work: on a 2-core edge computer that is CPU
        # taken from the safety gate and the other nodes.
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        # A failing frame raises, and the node logs it (throttled); ORT's own log of each one
        # would flood the console.
        options.log_severity_level = 4
        try:
            self.session = ort.InferenceSession(path, sess_options=options,
                                                providers=[p for p, _ in usable],
                                                provider_options=[o for _, o in usable])
        except Exception as exc:  # noqa: B902 - ORT raises its own types for bad models
            raise ModelError(f'cannot load {path}: {exc}') from None
        self.providers_in_use = self.session.get_providers()
        if require_first_provider and self.providers_in_use[0] != wanted[0][0]:
            raise ModelError(f'{wanted[0][0]} was required but the session runs on '
                             f'{", ".join(self.providers_in_use)}')
        self._check_io()
        self.timings = {'preprocess_ms': 0.0, 'inference_ms': 0.0, 'postprocess_ms': 0.0}
        blank = np.zeros((self.height, self.width, 3), np.uint8)
        for _ in range(max(1, warmup)):
            self.detect(blank, source_rgb=True)

    def _check_io(self) -> None:
        m = self.manifest
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1:
            raise ModelError(f'{m.model_path}: expected one input, the model has {len(inputs)}')
        shape = inputs[0].shape
        if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
            raise ModelError(f'{m.model_path}: input shape {shape} is not [1, 3, h, w]')
        model_h = shape[2] if isinstance(shape[2], int) else 0
        model_w = shape[3] if isinstance(shape[3], int) else 0
        if m.width and model_w and (m.width, m.height) != (model_w, model_h):
            raise ModelError(f'{m.model_path}: the manifest says {m.width}x{m.height} input but '
                             f'the model takes {model_w}x{model_h}')
        self.width, self.height = m.width or model_w, m.height or model_h
        if not (self.width and self.height):
            raise ModelError(f'{m.model_path}: the input size is dynamic; give input.width and '
                             'input.height in the manifest')
        self.input_name = inputs[0].name
        self.output_name = outputs[0].name
        # The layout is checked against a real output, with the manifest's number of labels.
        try:
            probe = self.session.run([self.output_name], {self.input_name: np.zeros(
                (1, 3, self.height, self.width), np.float32)})[0]
        except Exception as exc:  # noqa: B902 - ORT raises its own types for bad models
            raise ModelError(f'{m.model_path}: inference failed on a blank image: {exc}') \
                from None
        try:
            found = infer_layout(probe.shape, len(m.labels))
        except DetectionError as exc:
            raise ModelError(f'{m.model_path}: {exc}; do the labels match the model?') from None
        if m.layout and m.layout != found:
            raise ModelError(f'{m.model_path}: the manifest says layout {m.layout} but the '
                             f'output {list(probe.shape)} is {found}')
        self.layout = m.layout or found

    def detect(self, image: np.ndarray, source_rgb: bool, score_threshold=0.25,
               iou_threshold: float = 0.45, max_detections: int = 100,
               class_filter: Optional[Sequence[int]] = None) -> Detections:
        """
        Detect objects in an (h, w, 3) uint8 image; boxes in its pixels.

        score_threshold is one score for every class, or one per class (an array).
        """
        m = self.manifest
        start = time.perf_counter()
        boxed, info = letterbox(image, self.width, self.height)
        tensor = to_tensor(boxed, m.color == 'rgb', source_rgb, m.scale, m.mean, m.std)
        middle = time.perf_counter()
        try:
            output = self.session.run([self.output_name], {self.input_name: tensor})[0]
        except Exception as exc:  # noqa: B902 - ORT raises its own types; a frame is skipped
            raise DetectionError(f'inference failed: {exc}') from None
        after = time.perf_counter()
        found = postprocess(output, self.layout, len(m.labels), info, score_threshold,
                            iou_threshold, max_detections, class_filter)
        end = time.perf_counter()
        self.timings = {'preprocess_ms': (middle - start) * 1000,
                        'inference_ms': (after - middle) * 1000,
                        'postprocess_ms': (end - after) * 1000}
        return found
