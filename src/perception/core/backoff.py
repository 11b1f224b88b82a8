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

"""Exponential backoff with jitter, for reconnecting to devices and streams."""

import random
from typing import Optional


class Backoff:
    """
    Delays that double after each failure up to a ceiling, and start over after a success.

    Jitter spreads the delays by +/- jitter (a fraction) so that several cameras that lost the
    same network do not retry in lockstep.
    """

    def __init__(self, initial: float, maximum: float, multiplier: float = 2.0,
                 jitter: float = 0.1, rng: Optional[random.Random] = None):
        if initial <= 0 or maximum < initial or multiplier < 1 or not 0 <= jitter < 1:
            raise ValueError('backoff needs 0 < initial <= maximum, multiplier >= 1 and '
                             '0 <= jitter < 1')
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
        self._rng = rng or random.Random()
        self.failures = 0

    def next_delay(self) -> float:
        """Count a failure and return how long to wait before the next attempt."""
        base = min(self.maximum, self.initial * self.multiplier ** self.failures)
        self.failures += 1
        spread = base * self.jitter
        return min(self.maximum, max(0.0, base + self._rng.uniform(-spread, spread)))

    def reset(self) -> None:
        """Count a success: the next failure waits the initial delay again."""
        self.failures = 0
