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

"""The route follower that stands in for a planner in the simulated stack."""

import math

import pytest

from perception.core.route_follower import RouteFollower


def test_route_follower_turns_then_stops_at_the_goal():
    follower = RouteFollower([(5.0, 0.0), (5.0, 5.0)], speed=1.0, tolerance=0.2)
    v, w = follower.command(0.0, 0.0, 0.0)
    assert v == pytest.approx(1.0) and w == 0.0
    v, w = follower.command(4.9, 0.0, 0.0)  # reached the first: turns left to the second
    assert follower.index == 1 and w > 0 and v < 0.1
    v, _ = follower.command(5.0, 4.9, math.pi / 2)
    assert follower.done and v == 0.0
    near = RouteFollower([(10.0, 0.0)], speed=1.0, decel=0.5)
    assert near.command(9.5, 0.0, 0.0)[0] < 1.0  # brakes for the last waypoint


def test_a_looping_route_starts_over():
    follower = RouteFollower([(1.0, 0.0), (0.0, 0.0)], speed=0.5, tolerance=0.2, loop=True)
    follower.command(0.95, 0.0, 0.0)
    follower.command(0.05, 0.0, math.pi)
    assert follower.index == 0 and not follower.done


def test_turns_are_limited_and_slow_the_robot():
    follower = RouteFollower([(0.0, 5.0)], speed=1.0, max_yaw_rate=0.8)
    v, w = follower.command(0.0, 0.0, 0.0)  # the waypoint is 90 degrees to the left
    assert w == pytest.approx(0.8) and v == pytest.approx(0.0, abs=1e-9)


def test_a_route_needs_a_waypoint():
    with pytest.raises(ValueError, match='at least one waypoint'):
        RouteFollower([], speed=1.0)
