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

"""The rate meter behind the diagnostics' measured rates."""

import pytest

from perception.core.rate import RateMeter


def test_rate_of_a_steady_source():
    meter = RateMeter(window=2.0)
    for i in range(100):
        meter.tick(i / 30)
    assert meter.rate(99 / 30) == pytest.approx(30.0, rel=0.01)


def test_rate_falls_when_the_source_stalls():
    meter = RateMeter(window=2.0)
    for i in range(60):
        meter.tick(i / 30)
    steady = meter.rate(59 / 30)
    assert meter.rate(59 / 30 + 1.0) < steady / 1.9
    assert meter.rate(59 / 30 + 3.0) == 0.0
