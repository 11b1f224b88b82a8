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

"""Rates with Wilson intervals, quantiles and histograms."""

import pytest

from perception.core.stats import describe, histogram, quantile, wilson


@pytest.mark.parametrize('count,total,low,high', [
    # Reference values of the 95% Wilson score interval.
    (0, 10, 0.0, 0.2775),
    (5, 10, 0.2366, 0.7634),
    (10, 10, 0.7225, 1.0),
    (1, 100, 0.0018, 0.0545),
    (0, 300, 0.0, 0.0126),
])
def test_wilson_intervals_match_reference_values(count, total, low, high):
    rate = wilson(count, total)
    assert rate.low == pytest.approx(low, abs=1e-4)
    assert rate.high == pytest.approx(high, abs=1e-4)
    assert rate.low <= rate.value <= rate.high


def test_no_runs_say_nothing_and_bad_counts_are_refused():
    assert (wilson(0, 0).low, wilson(0, 0).high) == (0.0, 1.0)
    assert wilson(0, 0).text() == 'no runs'
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_intervals_narrow_with_more_runs():
    widths = [wilson(n // 10, n).high - wilson(n // 10, n).low for n in (10, 100, 1000)]
    assert widths[0] > widths[1] > widths[2]


def test_rates_read_as_plain_data_and_text():
    rate = wilson(3, 200)
    assert rate.as_dict()['rate'] == 0.015
    assert rate.text().startswith('3/200 = 1.5% (95% CI 0.5% to 4.')


def test_quantiles_interpolate_and_describe_skips_missing_values():
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    assert quantile([], 0.5) is None
    summary = describe([None, 1.0, 2.0, 3.0, float('inf')])
    assert summary['count'] == 3 and summary['median'] == 2.0 and summary['max'] == 3.0
    with pytest.raises(ValueError):
        quantile([1.0], 2.0)


def test_histograms_count_every_value_once():
    edges, counts = histogram([0.0, 0.5, 1.0, 1.0, 2.0], bins=4, bounds=(0.0, 2.0))
    assert edges == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert counts == [1, 1, 2, 1]
    assert sum(histogram([], 3)[1]) == 0
