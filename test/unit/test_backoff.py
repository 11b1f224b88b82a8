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

"""Exponential backoff with jitter for reconnecting sources."""

import random

import pytest

from perception.core.backoff import Backoff


def test_backoff_doubles_up_to_the_ceiling_and_resets():
    backoff = Backoff(0.5, 4.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_backoff_jitter_stays_within_its_fraction():
    backoff = Backoff(1.0, 100.0, jitter=0.2, rng=random.Random(3))
    for n in range(6):
        delay = backoff.next_delay()
        assert 0.8 * 2 ** n <= delay <= 1.2 * 2 ** n


def test_backoff_never_exceeds_the_ceiling_even_with_jitter():
    backoff = Backoff(1.0, 2.0, jitter=0.5, rng=random.Random(0))
    assert max(backoff.next_delay() for _ in range(50)) <= 2.0


@pytest.mark.parametrize('args', [(0, 1), (2, 1), (1, 2, 0.5), (1, 2, 2, 1.0)])
def test_backoff_rejects_nonsense(args):
    with pytest.raises(ValueError):
        Backoff(*args)
