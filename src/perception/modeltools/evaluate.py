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
`perception evaluate`: how good and how fast a model is, on a user's labelled images.

For each manifest (FP32 and INT8 side by side): COCO-style mAP@0.5 and mAP@0.5:0.95, AP per
class, a precision-recall curve per class, and inference latency p50/p99 on each execution
provider the machine has. From the curves it picks the operating point: per-class score
thresholds, meeting a target recall for the classes given one (people: a safety-relevant class
misses nothing it can avoid missing) and the best F1 for the others. The figures and thresholds
go into each manifest (written whole or not at all) and into a short report with a plot per
class.
"""

from dataclasses import dataclass, field
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from perception.core.drift import build_reference, image_stats, INPUT_STATS, output_stats
from perception.core.evaluation import evaluate as average_precisions
from perception.core.evaluation import OperatingPoint, pr_curve, threshold_best_f1
from perception.core.evaluation import threshold_for_recall
from perception.core.model import load_manifest, ModelError, OnnxDetector, save_manifest
from perception.core.yamlfile import read_yaml
from perception.modeltools.graph import OptimizeError
from perception.modeltools.images import labelled_set, LabelledSet, read_image

#: Providers asked for when none are named, in order of preference.
PROVIDERS = ('tensorrt', 'cuda', 'cpu')
#: At most this many images are timed on providers other than the first.
TIMED_IMAGES = 100


@dataclass
class Result:
    """One model's figures on one labelled set."""

    manifest: str
    name: str
    precision: str
    accuracy: Dict[str, object]
    curves: Dict[str, object]
    latency: Dict[str, Dict[str, float]]
    thresholds: Dict[str, OperatingPoint] = field(default_factory=dict)
    #: What the evaluation images and the model's outputs on them look like (core/drift.py).
    drift_reference: Dict[str, object] = field(default_factory=dict)


def parse_targets(items: Sequence[str]) -> Dict[str, float]:
    """Turn 'person=0.9' items into {label: recall}; OptimizeError for a malformed one."""
    targets = {}
    for item in items:
        label, _, value = item.partition('=')
        try:
            recall = float(value)
        except ValueError:
            recall = -1.0
        if not label or not 0.0 < recall <= 1.0:
            raise OptimizeError(f'target recall {item!r} is not label=recall with recall in '
                                '(0, 1]')
        targets[label] = recall
    return targets


def available_providers(wanted: Sequence[str]) -> List[str]:
    """Return the wanted providers ONNX Runtime has here, in order (cpu always)."""
    import onnxruntime as ort
    from perception.core.model import PROVIDERS as NAMES
    have = set(ort.get_available_providers())
    chosen = [p for p in wanted if NAMES.get(p) in have]
    return chosen or ['cpu']


def evaluate_model(manifest_path: str, data: LabelledSet, providers: Sequence[str],
                   targets: Dict[str, float], min_precision: float = 0.5) -> Result:
    """Run a model over a labelled set: accuracy, curves, latency and thresholds."""
    try:
        manifest = load_manifest(manifest_path)
    except ModelError as exc:
        raise OptimizeError(str(exc)) from None
    labels = list(manifest.labels)
    if data.names and list(data.names) != labels:
        raise OptimizeError(f'the labels of {manifest_path} ({", ".join(labels)}) do not match '
                            f'those of {data.root} ({", ".join(data.names)})')
    unknown = sorted(set(targets) - set(labels))
    if unknown:
        raise OptimizeError(f'target recall for {", ".join(unknown)}, which '
                            f'{manifest_path} does not know')
    latency: Dict[str, Dict[str, float]] = {}
    predictions, truths, frame_stats = [], [], []
    for index, provider in enumerate(providers):
        try:
            detector = OnnxDetector(manifest, providers=(provider,))
        except ModelError as exc:
            raise OptimizeError(str(exc)) from None
        timed = []
        count = len(data.images) if index == 0 else min(len(data.images), TIMED_IMAGES)
        for i in range(count):
            image = read_image(data.images[i])
            found = detector.detect(image, source_rgb=True, score_threshold=0.001,
                                    max_detections=300)
            timed.append(detector.timings['inference_ms'])
            if index == 0:
                frame_stats.append(image_stats(image))
                predictions.append(found)
                truths.append(data.truth(i, image.shape[1], image.shape[0]))
        in_use = detector.providers_in_use[0].replace('ExecutionProvider', '').lower()
        latency[in_use] = {'inference_p50_ms': round(float(np.percentile(timed, 50)), 3),
                           'inference_p99_ms': round(float(np.percentile(timed, 99)), 3),
                           'images': count}
    bad = [int(t.classes.max()) for t in truths if len(t.classes) and
           t.classes.max() >= len(labels)]
    if bad:
        raise OptimizeError(f'labels of {data.root} use class {max(bad)}, but the model has '
                            f'{len(labels)} classes')
    scores = average_precisions(predictions, truths, labels)
    curves = {label: pr_curve(predictions, truths, cls) for cls, label in enumerate(labels)}
    thresholds = {}
    for label, curve in curves.items():
        if curve.instances:
            thresholds[label] = threshold_for_recall(curve, targets[label], min_precision) \
                if label in targets else threshold_best_f1(curve)
    drift_reference = _drift_reference(frame_stats, predictions, labels, thresholds)
    accuracy = {'dataset': os.path.basename(os.path.normpath(data.root)),
                'images': len(truths),
                'map50': round(100 * scores['map50'], 2),
                'map50_95': round(100 * scores['map50_95'], 2),
                'per_class': {k: {'ap50': round(100 * v['ap50'], 2),
                                  'ap50_95': round(100 * v['ap50_95'], 2),
                                  'instances': v['instances']}
                              for k, v in scores['per_class'].items() if v['instances']}}
    return Result(manifest_path, manifest.extra.get('name', os.path.basename(manifest_path)),
                  manifest.precision or 'unknown', accuracy, curves, latency, thresholds,
                  drift_reference)


def _drift_reference(frame_stats, predictions, labels, thresholds, default: float = 0.25):
    """Return the drift profile: image statistics, and outputs at the chosen thresholds."""
    cut = np.array([thresholds[label].score if label in thresholds else default
                    for label in labels], np.float32)
    samples: Dict[str, List[float]] = {name: [s[name] for s in frame_stats]
                                       for name in INPUT_STATS}
    for found in predictions:
        keep = found.scores >= cut[found.classes]
        for name, value in output_stats(found.scores[keep], found.classes[keep],
                                        labels).items():
            samples.setdefault(name, []).append(value)
    return build_reference(samples)


def update_manifest(result: Result) -> None:
    """Write a result's accuracy, latency and thresholds into its manifest, whole."""
    doc = read_yaml(result.manifest, OptimizeError, 'model manifest')
    doc['accuracy'] = result.accuracy
    doc['latency'] = result.latency
    doc['thresholds'] = {label: round(point.score, 4) for label, point in
                         result.thresholds.items()}
    doc['evaluation'] = {label: {'rule': point.rule, 'met': point.met,
                                 'recall': round(point.recall, 4),
                                 'precision': round(point.precision, 4)}
                         for label, point in result.thresholds.items()}
    if result.drift_reference:
        doc['drift_reference'] = result.drift_reference
    save_manifest(result.manifest, doc)


COLORS = ((200, 90, 30), (40, 40, 220), (40, 160, 40), (160, 40, 160))  # BGR


def plot_curves(results: Sequence[Result], label: str, path: str, size: int = 420) -> None:
    """Draw a class's precision-recall curves of every model, with their thresholds."""
    import cv2
    margin = 50
    image = np.full((size + 2 * margin, size + 2 * margin + 160, 3), 255, np.uint8)

    def px(recall, precision):
        return (int(margin + recall * size), int(margin + (1 - precision) * size))

    cv2.rectangle(image, px(0, 1), px(1, 0), (0, 0, 0), 1)
    for tick in np.linspace(0, 1, 6):
        cv2.putText(image, f'{tick:.1f}', (px(tick, 0)[0] - 10, margin + size + 18),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(image, f'{tick:.1f}', (8, px(0, tick)[1] + 4), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, f'{label}: precision (up) against recall (across)', (margin, 30),
                cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    for k, result in enumerate(results):
        color = COLORS[k % len(COLORS)]
        curve = result.curves[label]
        if len(curve.recall):
            envelope = np.maximum.accumulate(curve.precision[::-1])[::-1]
            points = np.array([px(r, p) for r, p in zip(curve.recall, envelope)], np.int32)
            cv2.polylines(image, [points], False, color, 2, cv2.LINE_AA)
        point = result.thresholds.get(label)
        if point is not None:
            cv2.circle(image, px(point.recall, point.precision), 6, color, 2, cv2.LINE_AA)
        cv2.putText(image, f'{result.precision}', (margin + size + 20, margin + 20 + 20 * k),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1, cv2.LINE_AA)
    cv2.putText(image, 'o threshold', (margin + size + 20, margin + 20 + 20 * len(results)),
                cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(path, image)


def write_report(results: Sequence[Result], directory: str) -> str:
    """Write report.md and a plot per class into directory; return the report's path."""
    os.makedirs(directory, exist_ok=True)
    labels = list(results[0].curves)
    lines = ['# Model evaluation', '',
             f'Data: {results[0].accuracy["dataset"]}, {results[0].accuracy["images"]} '
             'images. AP is COCO-style (101 recall points), at IoU 0.5 unless said.', '',
             '| model | precision | mAP@0.5 | mAP@0.5:0.95 | ' +
             ' | '.join(f'{label} AP@0.5' for label in labels) + ' | latency p50 / p99 |',
             '| --- ' * (5 + len(labels)) + '|']
    for r in results:
        per = r.accuracy['per_class']
        speed = '; '.join(f'{p}: {v["inference_p50_ms"]:.2f} / {v["inference_p99_ms"]:.2f} ms'
                          for p, v in r.latency.items())
        lines.append(f'| {r.name} | {r.precision} | {r.accuracy["map50"]:.2f} | '
                     f'{r.accuracy["map50_95"]:.2f} | ' +
                     ' | '.join(f'{per[label]["ap50"]:.2f}' if label in per else '-'
                                for label in labels) + f' | {speed} |')
    lines += ['', '## Operating points', '',
              '| model | class | rule | score threshold | recall | precision |',
              '| --- | --- | --- | --- | --- | --- |']
    for r in results:
        for label, point in r.thresholds.items():
            note = '' if point.met else ' (not reached: highest recall)'
            lines.append(f'| {r.name} | {label} | {point.rule}{note} | {point.score:.3f} | '
                         f'{point.recall:.3f} | {point.precision:.3f} |')
    lines.append('')
    for label in labels:
        name = f'pr_{label}.png'
        plot_curves(results, label, os.path.join(directory, name))
        lines += [f'![{label}]({name})', '']
    path = os.path.join(directory, 'report.md')
    with open(path, 'w', encoding='utf-8') as stream:
        stream.write('\n'.join(lines))
    return path


def run(manifests: Sequence[str], data_dir: str, split: str = '',
        providers: Optional[Sequence[str]] = None, targets: Optional[Dict[str, float]] = None,
        report_dir: str = '', write: bool = True, min_precision: float = 0.5) -> List[Result]:
    """Evaluate manifests on a labelled set, update them, and write the report."""
    data = labelled_set(data_dir, split)
    chosen = available_providers(providers or PROVIDERS)
    results = [evaluate_model(m, data, chosen, targets or {}, min_precision)
               for m in manifests]
    if write:
        for result in results:
            update_manifest(result)
    if report_dir:
        write_report(results, report_dir)
    return results
