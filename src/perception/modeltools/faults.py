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
Faulty models, made from a good one, to prove that a robot refuses or rolls them back.

Fault injection for the model lifecycle's tests and benchmark: a model that fails only on
bright frames (it passes its shadow run in the usual light and fails once the lights change),
one whose weights are degraded by noise (a badly trained model), one too slow for any frame
budget, and one ONNX Runtime refuses to load. Each is the input model's graph with a few nodes
added, written beside a manifest copied from the original with the new file and hash.
"""

import os
from typing import Dict

import numpy as np

from perception.core.model import manifest_doc, save_manifest
from perception.core.yamlfile import read_yaml
from perception.modeltools.graph import OptimizeError


def _load(path: str):
    import onnx
    return onnx.load(path)


def _gate_output(model, condition_nodes, condition: str, suffix: str) -> None:
    """Reshape the first output to a wrong size wherever `condition` (a bool scalar) holds."""
    from onnx import helper, numpy_helper
    graph = model.graph
    out = graph.output[0].name
    raw = f'{out}_{suffix}_raw'
    for node in graph.node:
        node.output[:] = [raw if name == out else name for name in node.output]
    graph.node.extend(condition_nodes + [
        helper.make_node('Shape', [raw], [f'{suffix}_shape']),
        helper.make_node('Where', [condition, f'{suffix}_wrong_padded', f'{suffix}_shape'],
                         [f'{suffix}_target']),
        helper.make_node('Reshape', [raw, f'{suffix}_target'], [out]),
    ])
    # Where needs both shapes of one length: a prime first dimension no output size divides,
    # so ONNX Runtime raises rather than returning a reshaped tensor.
    rank = len(graph.output[0].type.tensor_type.shape.dim) or 3
    wrong = np.array([9973] + [1] * (rank - 2) + [-1], np.int64)
    graph.initializer.append(numpy_helper.from_array(wrong, f'{suffix}_wrong_padded'))


def failing_when_bright(model_path: str, out_path: str, threshold: float,
                        below: float = np.inf) -> None:
    """
    Write a model that fails (a reshape error) when the mean of its input exceeds threshold.

    With `below`, only means between the two fail: the noise a probe feeds (mean about 0.5)
    passes while a lit scene does not.
    """
    from onnx import helper, numpy_helper
    model = _load(model_path)
    graph = model.graph
    image = graph.input[0].name
    graph.initializer.extend([
        numpy_helper.from_array(np.array(threshold, np.float32), 'bright_threshold'),
        numpy_helper.from_array(np.array(min(below, 3.4e38), np.float32), 'bright_below')])
    nodes = [helper.make_node('ReduceMean', [image], ['bright_mean'], keepdims=0),
             helper.make_node('Greater', ['bright_mean', 'bright_threshold'], ['bright_above']),
             helper.make_node('Less', ['bright_mean', 'bright_below'], ['bright_under']),
             helper.make_node('And', ['bright_above', 'bright_under'], ['bright_is'])]
    _gate_output(model, nodes, 'bright_is', 'bright')
    _save(model, out_path)


def failing_always(model_path: str, out_path: str) -> None:
    """Write a model ONNX Runtime refuses to load: its output can never be shaped."""
    from onnx import helper, numpy_helper
    model = _load(model_path)
    model.graph.initializer.append(numpy_helper.from_array(np.array(True), 'always_true'))
    _gate_output(model, [helper.make_node('Identity', ['always_true'], ['always_is'])],
                 'always_is', 'always')
    _save(model, out_path)


def degraded(model_path: str, out_path: str, noise: float = 0.5, seed: int = 0) -> None:
    """Write the model with noise of `noise` times each conv weight's spread added to it."""
    from onnx import numpy_helper
    model = _load(model_path)
    rng = np.random.default_rng(seed)
    changed = 0
    for init in model.graph.initializer:
        weights = numpy_helper.to_array(init)
        if weights.dtype == np.float32 and weights.ndim == 4:
            weights = weights + rng.normal(0, noise * float(weights.std()),
                                           weights.shape).astype(np.float32)
            init.CopyFrom(numpy_helper.from_array(weights, init.name))
            changed += 1
    if not changed:
        raise OptimizeError(f'{model_path} has no float convolution weights to degrade')
    _save(model, out_path)


def slowed(model_path: str, out_path: str, size: int = 768, repeats: int = 12) -> None:
    """Write a model with `repeats` products of size x size matrices added to every frame."""
    from onnx import helper, numpy_helper
    model = _load(model_path)
    graph = model.graph
    rng = np.random.default_rng(0)
    graph.initializer.append(numpy_helper.from_array(
        (rng.standard_normal((size, size)) / np.sqrt(size)).astype(np.float32), 'slow_matrix'))
    graph.initializer.append(numpy_helper.from_array(np.array(0.0, np.float32), 'slow_zero'))
    image = graph.input[0].name
    nodes = [helper.make_node('ReduceMean', [image], ['slow_seed'], keepdims=0),
             helper.make_node('Add', ['slow_matrix', 'slow_seed'], ['slow_0'])]
    for i in range(repeats):
        nodes.append(helper.make_node('MatMul', [f'slow_{i}', 'slow_matrix'],
                                      [f'slow_{i + 1}']))
    out = graph.output[0].name
    raw = f'{out}_slow_raw'
    for node in graph.node:
        node.output[:] = [raw if name == out else name for name in node.output]
    nodes += [helper.make_node('ReduceMean', [f'slow_{repeats}'], ['slow_mean'], keepdims=0),
              helper.make_node('Mul', ['slow_mean', 'slow_zero'], ['slow_nothing']),
              helper.make_node('Add', [raw, 'slow_nothing'], [out])]
    graph.node.extend(nodes)
    _save(model, out_path)


def _save(model, out_path: str) -> None:
    import onnx
    onnx.checker.check_model(model)
    onnx.save(model, out_path)


def with_manifest(source_manifest: str, model_path: str, out_manifest: str,
                  **changes) -> Dict[str, object]:
    """Write a manifest for model_path: the source manifest's fields, the new file and hash."""
    doc = read_yaml(source_manifest, OptimizeError, 'model manifest')
    base = manifest_doc(doc.get('name', ''), model_path, os.path.dirname(out_manifest) or '.',
                        doc['labels'], (doc.get('input') or {}).get('width', 0),
                        (doc.get('input') or {}).get('height', 0),
                        (doc.get('output') or {}).get('layout', ''), doc.get('precision', ''))
    doc.update(file=base['file'], sha256=base['sha256'], size_bytes=base['size_bytes'])
    doc.update(changes)
    save_manifest(out_manifest, doc)
    return doc
