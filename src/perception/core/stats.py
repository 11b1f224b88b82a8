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

"""Rates with confidence intervals and summaries of samples, for campaigns of runs."""

from dataclasses import dataclass
import math
from typing import List, Optional, Sequence, Tuple

#: The two-sided 95% quantile of the standard normal distribution.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Rate:
    """How many of how many, with the Wilson score interval of the proportion."""

    count: int
    total: int
    low: float
    high: float

    @property
    def value(self) -> Optional[float]:
        """Return the observed proportion (None without any trial)."""
        return self.count / self.total if self.total else None

    def as_dict(self) -> dict:
        """Return the rate as plain values (JSON)."""
        value = self.value
        return {'count': self.count, 'total': self.total,
                'rate': None if value is None else round(value, 6),
                'ci95': [round(self.low, 6), round(self.high, 6)]}

    def text(self) -> str:
        """Return the rate for people: '3/200 = 1.5% (95% CI 0.5% to 4.3%)'."""
        if not self.total:
            return 'no runs'
        return (f'{self.count}/{self.total} = {100 * self.value:.1f}% (95% CI '
                f'{100 * self.low:.1f}% to {100 * self.high:.1f}%)')


def wilson(count: int, total: int, z: float = Z95) -> Rate:
    """
    Return count/total with its Wilson score interval (95% by default).

    Unlike the normal approximation it stays within [0, 1] and is not empty at 0 or total
    successes: 0 failures in 300 runs still allows a rate up to about 1.3%. Without any trial
    the interval is [0, 1].
    """
    if total < 0 or not 0 <= count <= total:
        raise ValueError(f'need 0 <= count <= total, got {count} of {total}')
    if total == 0:
        return Rate(0, 0, 0.0, 1.0)
    p = count / total
    z2 = z * z
    denominator = 1.0 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / denominator
    # At 0 or all successes one end is exactly 0 or 1; rounding must not leave it a hair off.
    low = 0.0 if count == 0 else max(0.0, centre - half)
    high = 1.0 if count == total else min(1.0, centre + half)
    return Rate(count, total, low, high)


def quantile(values: Sequence[float], q: float) -> Optional[float]:
    """Return the q-quantile of values (q in 0..1), interpolating between order statistics."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f'quantile must be within [0, 1], got {q}')
    ordered = sorted(values)
    if not ordered:
        return None
    position = q * (len(ordered) - 1)
    below = int(math.floor(position))
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def describe(values: Sequence[float]) -> dict:
    """Return count, min, p5, median, p95 and max of a sample (None where empty)."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    keys = (('min', 0.0), ('p5', 0.05), ('median', 0.5), ('p95', 0.95), ('max', 1.0))
    out = {'count': len(values)}
    for key, q in keys:
        value = quantile(values, q)
        out[key] = None if value is None else round(value, 4)
    return out


def histogram(values: Sequence[float], bins: int = 20,
              bounds: Optional[Tuple[float, float]] = None) -> Tuple[List[float], List[int]]:
    """Return bin edges (bins + 1) and counts of a sample; the last bin includes its end."""
    if bins < 1:
        raise ValueError('need at least one bin')
    values = [v for v in values if v is not None and math.isfinite(v)]
    if bounds is None:
        bounds = (min(values), max(values)) if values else (0.0, 1.0)
    low, high = bounds
    if high <= low:
        high = low + 1.0
    width = (high - low) / bins
    edges = [low + i * width for i in range(bins + 1)]
    counts = [0] * bins
    for v in values:
        if low <= v <= high:
            counts[min(bins - 1, int((v - low) / width))] += 1
    return edges, counts
