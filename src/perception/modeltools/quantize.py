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
Static INT8 quantization of any detector export: QDQ, per-channel weights, decoding in float.

The network is quantized (activations unsigned 8-bit, weights signed 8-bit per output channel),
calibrated on frames fed exactly as the detector feeds them; the decoding
(perception.modeltools.graph) stays in float. A result whose network is barely quantized (an
export the quantizer could not read, or layers it left out) is an error, never a model that is
INT8 in name only.
"""

from dataclasses import dataclass
import os
import tempfile
from typing import Iterable, Iterator, Optional

import numpy as np

from perception.modeltools.graph import ensure_names, image_input, load_model, OptimizeError
from perception.modeltools.graph import split, weighted_coverage

#: Below this share of the network's weighted layers quantized, the result is refused.
MIN_COVERAGE = 0.8


@dataclass(frozen=True)
class QuantReport:
    """What the quantization did."""

    weighted_layers: int     # in the network
    quantized_layers: int
    decode_nodes: int        # kept in float
    calibration_images: int

    @property
    def coverage(self) -> float:
        """Share of the network's weighted layers that run in INT8."""
        return self.quantized_layers / self.weighted_layers if self.weighted_layers else 0.0


def _reader(name: str, tensors: Iterable[np.ndarray]):
    """Return ONNX Runtime's calibration reader over input tensors, counting what it gave."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.tensors: Iterator[np.ndarray] = iter(tensors)
            self.count = 0

        def get_next(self) -> Optional[dict]:
            tensor = next(self.tensors, None)
            if tensor is None:
                return None
            self.count += 1
            return {name: tensor}
    return Reader()


def quantize(fp32_path: str, out_path: str, tensors: Iterable[np.ndarray],
             min_coverage: float = MIN_COVERAGE) -> QuantReport:
    """
    Quantize fp32_path into out_path, calibrated on input tensors [1, 3, H, W] float32.

    out_path is written only when the result is good: a failure leaves nothing behind.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model = load_model(fp32_path)
    name = image_input(model)
    work = tempfile.mkdtemp(prefix='perception-quantize-',
                            dir=os.path.dirname(os.path.abspath(out_path)))
    named = os.path.join(work, 'named.onnx')
    prepared = os.path.join(work, 'prepared.onnx')
    result = os.path.join(work, 'int8.onnx')
    try:
        ensure_names(model)
        onnx.save(model, named)
        try:
            quant_pre_process(named, prepared, skip_symbolic_shape=True)
        except Exception as exc:  # noqa: B902 - the pre-processing raises many types
            raise OptimizeError(f'the quantizer cannot prepare {fp32_path}: {exc}') from None
        prepared_model = load_model(prepared)
        ensure_names(prepared_model)
        onnx.save(prepared_model, prepared)
        parts = split(prepared_model)
        calibration = _reader(name, tensors)
        try:
            quantize_static(prepared, result, calibration, quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, nodes_to_exclude=list(parts.decode))
        except OptimizeError:
            raise
        except Exception as exc:  # noqa: B902 - the quantizer raises many types
            raise OptimizeError(f'quantization of {fp32_path} failed: {exc}') from None
        if calibration.count == 0:
            raise OptimizeError('the calibration set gave no image')
        quantized, total = weighted_coverage(load_model(result), parts.network)
        report = QuantReport(total, quantized, len(parts.decode), calibration.count)
        if total == 0 or report.coverage < min_coverage:
            raise OptimizeError(
                f'quantization left the network effectively unquantized: {quantized} of '
                f'{total} weighted layers run in INT8 (at least {min_coverage:.0%} needed)')
        os.replace(result, out_path)
        return report
    finally:
        for leftover in os.listdir(work):
            os.remove(os.path.join(work, leftover))
        os.rmdir(work)
