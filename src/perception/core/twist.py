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

"""Velocity commands: checks that keep NaN and absurd values away from a robot."""

import math
from typing import Optional, Sequence


def twist_problem(linear: Sequence[float], angular: Sequence[float], max_linear: float,
                  max_angular: float) -> Optional[str]:
    """
    Say what is wrong with a velocity command, or None when it may be used.

    linear and angular are (x, y, z); a planar base uses linear x and angular z, but a NaN
    anywhere means the sender is broken, so the whole command is refused.
    """
    values = list(linear) + list(angular)
    if not all(math.isfinite(v) for v in values):
        return 'command holds NaN or infinity'
    if abs(linear[0]) > max_linear:
        return f'linear.x {linear[0]:g} m/s is beyond the {max_linear:g} m/s accepted'
    if abs(angular[2]) > max_angular:
        return f'angular.z {angular[2]:g} rad/s is beyond the {max_angular:g} rad/s accepted'
    return None
