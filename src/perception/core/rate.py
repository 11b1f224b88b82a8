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

"""Measured event rates over a sliding time window."""

from collections import deque


class RateMeter:
    """Rate of events (Hz) over the last window seconds, from their monotonic times."""

    def __init__(self, window: float = 2.0):
        if window <= 0:
            raise ValueError('window must be positive')
        self.window = window
        self._times = deque()

    def tick(self, now: float) -> None:
        """Record one event at time now (seconds)."""
        self._times.append(now)
        self._trim(now)

    def rate(self, now: float) -> float:
        """Events per second in the window ending at now; 0 with fewer than two events."""
        self._trim(now)
        if len(self._times) < 2:
            return 0.0
        # Measured up to now rather than to the last event, so a stalled source reads as slowing
        # down at once instead of holding its last rate until the window empties.
        span = now - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()
