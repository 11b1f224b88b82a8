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

"""Velocity commands that must never reach a robot."""

import math

import pytest

from perception.core.twist import twist_problem


@pytest.mark.parametrize('linear,angular,problem', [
    ((0.5, 0, 0), (0, 0, 0.2), None),
    ((math.nan, 0, 0), (0, 0, 0), 'NaN'),
    ((0, 0, 0), (math.inf, 0, 0), 'NaN or infinity'),
    ((9.0, 0, 0), (0, 0, 0), 'linear.x 9 m/s is beyond'),
    ((0, 0, 0), (0, 0, -7.0), 'angular.z -7 rad/s is beyond'),
])
def test_twist_problems(linear, angular, problem):
    found = twist_problem(linear, angular, 5.0, 5.0)
    assert (found is None) if problem is None else problem in found
