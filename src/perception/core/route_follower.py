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

"""Following a route of waypoints: the velocity command a simple mission driver sends."""

import math
from typing import Sequence, Tuple


class RouteFollower:
    """
    Drives through waypoints at a cruise speed.

    It turns toward the current waypoint, slows for sharp turns and for the last waypoint, and
    stops there (or starts over when looping).
    """

    def __init__(self, waypoints: Sequence[Tuple[float, float]], speed: float,
                 tolerance: float = 0.3, loop: bool = False, heading_gain: float = 1.5,
                 max_yaw_rate: float = 1.0, decel: float = 0.5):
        if not waypoints:
            raise ValueError('a route needs at least one waypoint')
        self.waypoints = list(waypoints)
        self.speed = speed
        self.tolerance = tolerance
        self.loop = loop
        self.heading_gain = heading_gain
        self.max_yaw_rate = max_yaw_rate
        self.decel = decel
        self.index = 0
        self.done = False

    def command(self, x: float, y: float, yaw: float) -> Tuple[float, float]:
        """Return (linear, angular) for the robot at pose (x, y, yaw)."""
        while not self.done:
            gx, gy = self.waypoints[self.index]
            distance = math.hypot(gx - x, gy - y)
            if distance > self.tolerance:
                break
            self.index += 1
            if self.index == len(self.waypoints):
                if self.loop:
                    self.index = 0
                else:
                    self.done = True
        if self.done:
            return 0.0, 0.0
        error = math.atan2(gy - y, gx - x) - yaw
        error = math.atan2(math.sin(error), math.cos(error))
        angular = max(-self.max_yaw_rate, min(self.max_yaw_rate, self.heading_gain * error))
        linear = self.speed * max(0.0, math.cos(error)) ** 2
        if self.index == len(self.waypoints) - 1 and not self.loop:
            # Brake to stop at the last waypoint: v = sqrt(2 a d).
            linear = min(linear, math.sqrt(2 * self.decel * max(0.0, distance - 0.05)))
        return linear, angular
