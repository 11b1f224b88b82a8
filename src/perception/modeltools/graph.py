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
A detector's ONNX graph: where the network ends and the decoding begins, found by structure.

A detector export is a convolutional network on feature maps [N, C, H, W] followed by a decoding
that turns them into boxes and scores: it flattens the maps into per-anchor rows (a Reshape to
another rank, or a Transpose that moves the channel axis), then adds grids, multiplies strides,
applies distribution-focal or sigmoid decoding, joins coordinates and scores, maybe runs NMS.
Whatever a layer is called, such a step out of the feature-map world after which no learned
convolution follows marks the border (attention blocks inside a network reshape too, but
convolutions come after them; a distribution-focal decoding's fixed one-channel convolution does
not count): the decoding is every node downstream of a border on the image's data path.
Quantizing the decoding with the network puts pixel coordinates and [0, 1] scores under one
8-bit scale and erases the scores, so it stays in float.
"""

from dataclasses import dataclass
from typing import Dict, List, Set, Tuple

#: Operators whose weights make a layer worth quantizing.
WEIGHTED = ('Conv', 'ConvTranspose', 'Gemm', 'MatMul')


class OptimizeError(ValueError):
    """A model, label set or calibration set the tools cannot work with; says which and why."""


@dataclass(frozen=True)
class GraphSplit:
    """The nodes of the network and of the decoding, by name."""

    network: Tuple[str, ...]
    decode: Tuple[str, ...]
    borders: Tuple[str, ...]   # the nodes where the decoding starts


def load_model(path: str):
    """Read an ONNX model; OptimizeError when it is missing or not ONNX."""
    import onnx
    try:
        model = onnx.load(path)
    except FileNotFoundError:
        raise OptimizeError(f'model {path} not found') from None
    except Exception as exc:  # noqa: B902 - protobuf and onnx raise several types
        raise OptimizeError(f'{path} is not an ONNX model: {exc}') from None
    if not len(model.graph.node):
        raise OptimizeError(f'{path} is not an ONNX model: its graph is empty')
    return model


def ensure_names(model) -> int:
    """Give every unnamed node a unique name (the quantizer selects nodes by name)."""
    taken = {n.name for n in model.graph.node if n.name}
    named = 0
    for i, node in enumerate(model.graph.node):
        if not node.name:
            name = f'{node.op_type}_{i}'
            while name in taken:
                name += '_'
            node.name = name
            taken.add(name)
            named += 1
    return named


def _ranks(model) -> Dict[str, int]:
    from onnx import shape_inference
    try:
        inferred = shape_inference.infer_shapes(model)
    except Exception as exc:  # noqa: B902 - onnx's inference raises several types
        raise OptimizeError(f"the model's shapes cannot be inferred: {exc}") from None
    ranks = {}
    for info in list(inferred.graph.value_info) + list(inferred.graph.input) + \
            list(inferred.graph.output):
        tensor = info.type.tensor_type
        if tensor.HasField('shape'):
            ranks[info.name] = len(tensor.shape.dim)
    return ranks


def image_input(model) -> str:
    """Return the name of the model's one image input ([1, 3, H, W]); OptimizeError if none."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise OptimizeError(f'a detector takes one image; this model has {len(inputs)} inputs '
                            f'({", ".join(i.name for i in inputs)})')
    dims = inputs[0].type.tensor_type.shape.dim
    if len(dims) != 4 or (dims[1].HasField('dim_value') and dims[1].dim_value != 3):
        shape = [d.dim_value if d.HasField('dim_value') else d.dim_param for d in dims]
        raise OptimizeError(f"the model's input {inputs[0].name} is {shape}, not an image "
                            '[1, 3, H, W]')
    return inputs[0].name


def split(model) -> GraphSplit:
    """Find the network and the decoding of a detector graph (nodes must have names)."""
    ranks = _ranks(model)
    start = image_input(model)
    consumers: Dict[str, List] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    # The image's data path: every node reachable from the input.
    data: Set[str] = {start}
    on_path, frontier = [], [start]
    seen_nodes: Set[str] = set()
    while frontier:
        tensor = frontier.pop()
        for node in consumers.get(tensor, []):
            if node.name in seen_nodes:
                continue
            seen_nodes.add(node.name)
            on_path.append(node)
            for out in node.output:
                if out not in data:
                    data.add(out)
                    frontier.append(out)
    learned_after = _learned_downstream(model, consumers)
    borders = []
    for node in on_path:
        fed = [i for i in node.input if i in data]
        if not fed or node.op_type not in ('Reshape', 'Flatten', 'Transpose', 'Squeeze',
                                           'Unsqueeze') or learned_after[node.name]:
            continue
        rank_in, rank_out = ranks.get(fed[0]), ranks.get(node.output[0])
        moves_channels = node.op_type == 'Transpose' and rank_in == 4 and \
            _perm(node) not in ((0, 1, 2, 3), ())
        if rank_in == 4 and (moves_channels or (rank_out is not None and rank_out != 4)):
            borders.append(node)
    if not borders:
        raise OptimizeError('the graph never leaves the feature maps (no reshape or transpose '
                            "out of [N, C, H, W] on the image's path): it is not a detector of "
                            'a known layout')
    decode: Set[str] = set()
    frontier = list(borders)
    while frontier:
        node = frontier.pop()
        if node.name in decode:
            continue
        decode.add(node.name)
        for out in node.output:
            frontier.extend(consumers.get(out, []))
    network = tuple(n.name for n in on_path if n.name not in decode)
    return GraphSplit(network, tuple(n.name for n in on_path if n.name in decode),
                      tuple(b.name for b in borders))


def _learned_downstream(model, consumers) -> Dict[str, bool]:
    """For each node: whether a learned layer (more than one output channel) lies downstream."""
    weights = {t.name: tuple(t.dims) for t in model.graph.initializer}
    memo: Dict[str, bool] = {}

    def learned(node) -> bool:
        if node.op_type not in WEIGHTED or len(node.input) < 2:
            return False
        shape = weights.get(node.input[1])
        return shape is None or len(shape) < 1 or shape[0] > 1

    def visit(node) -> bool:
        if node.name not in memo:
            memo[node.name] = False  # a cycle cannot exist in ONNX; this guards recursion
            memo[node.name] = any(learned(c) or visit(c) for out in node.output
                                  for c in consumers.get(out, []))
        return memo[node.name]

    for node in model.graph.node:
        visit(node)
    return memo


def _perm(node) -> tuple:
    for attribute in node.attribute:
        if attribute.name == 'perm':
            return tuple(attribute.ints)
    return ()


def weighted_coverage(model, names) -> Tuple[int, int]:
    """Of the weighted layers among the named nodes: how many read dequantized weights."""
    producers = {out: node for node in model.graph.node for out in node.output}
    wanted = set(names)
    total = quantized = 0
    for node in model.graph.node:
        if node.op_type not in WEIGHTED or node.name not in wanted or len(node.input) < 2:
            continue
        total += 1
        source = producers.get(node.input[1])
        if source is not None and source.op_type == 'DequantizeLinear':
            quantized += 1
    return quantized, total
