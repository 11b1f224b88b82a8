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

"""The protective field: its geometry, the points tested against it, refused configurations."""

import numpy as np
import pytest

from perception.core.safety_field import config_problem, FieldConfig, footprint_distance
from perception.core.safety_field import inside, protective_field, transform, zone_samples

FIELD = FieldConfig(length=0.7, width=0.5, response_time=0.15, decel=1.5, margin=0.1,
                    slow_extra=1.0)


def pts(*xy):
    return np.array(xy, dtype=float).reshape(-1, 2)


def test_stopping_distance_and_refused_configurations():
    assert FIELD.stopping_distance(1.0) == pytest.approx(0.15 + 1 / 3)
    assert FIELD.stopping_distance(-1.0) == FIELD.stopping_distance(1.0)
    assert config_problem(FIELD, 1.5, 2.0) == ''
    problem = config_problem(FIELD, 1.5, 1.0)
    assert 'needs 1.07 m to stop' in problem and 'max_field_length_m' in problem


def test_field_ahead_grows_with_speed_and_follows_direction():
    front = FIELD.length / 2 + FIELD.margin
    for speed in (0.0, 0.5, 1.0, 1.5):
        reach = FIELD.stopping_distance(speed) + front
        field = protective_field(FIELD, speed, 0.0)
        assert inside(field.stop, pts((reach - 0.01, 0.0)))[0]
        assert not inside(field.stop, pts((reach + 0.02, 0.0)))[0]
        assert inside(field.slow, pts((reach + 0.9, 0.0)))[0]
    backward = protective_field(FIELD, -1.0, 0.0)
    assert inside(backward.stop, pts((-0.8, 0.0)))[0]
    assert not inside(backward.stop, pts((0.8, 0.0)))[0]


def test_field_follows_a_turn():
    field = protective_field(FIELD, 1.0, 1.0)  # turning left on a 1 m radius
    assert field.stop[-1, 1] > 0.05 and field.stop[-1, 2] > 0.3
    spin = protective_field(FIELD, 0.0, 1.5)  # on the spot: the corners sweep
    corner = pts((0.3, 0.45))  # beside the footprint, where its front corner swings
    assert inside(spin.stop, corner)[0] and not inside(protective_field(FIELD, 0, 0).stop,
                                                       corner)[0]


def test_people_widen_the_field_and_never_shrink_it():
    rng = np.random.default_rng(0)
    points = rng.uniform(-3, 3, (4000, 2))
    for speed, rate in ((0.0, 0.0), (1.0, 0.0), (0.8, 0.5), (-0.5, 0.0)):
        normal = protective_field(FIELD, speed, rate)
        wide = protective_field(FIELD, speed, rate, extra_margin=0.5)
        assert not (inside(normal.stop, points) & ~inside(wide.stop, points)).any()
        assert (inside(wide.stop, points) & ~inside(normal.stop, points)).any()


def test_footprint_distance():
    assert footprint_distance(FIELD, pts((0.0, 0.0), (1.35, 0.0), (0.35, 1.25))).tolist() == \
        pytest.approx([0.0, 1.0, 1.0])


def test_zone_samples_fill_the_zone_and_reach_its_corners():
    field = protective_field(FIELD, 1.0, 0.0)
    samples = zone_samples(field.stop, 0.1)
    assert inside(field.stop, samples).all()
    front = FIELD.length / 2 + FIELD.margin + FIELD.stopping_distance(1.0)
    half = FIELD.width / 2 + FIELD.margin
    assert samples[:, 0].max() == pytest.approx(front, abs=1e-5)
    assert samples[:, 1].max() == pytest.approx(half, abs=1e-5)
    # No point of the zone lies further than the spacing from a sample.
    probe = np.random.default_rng(2).uniform([-1, -1], [2, 1], (3000, 2))
    probe = probe[inside(field.stop, probe)]
    gaps = np.hypot(*(probe[:, None] - samples[None]).transpose(2, 0, 1)).min(1)
    assert gaps.max() <= 0.1
    assert zone_samples(np.zeros((0, 5)), 0.1).shape == (0, 2)


def test_transform_into_the_parent_frame():
    np.testing.assert_allclose(transform(pts((1.0, 0.0)), (2.0, 1.0, np.pi / 2)), [[2.0, 2.0]],
                               atol=1e-12)


def test_the_box_around_a_zone_changes_no_answer():
    # inside() tests only the points within the zone's box: the same answer as every point
    # against every rectangle, turning fields and points on the edges included.
    rng = np.random.default_rng(3)
    zones = [protective_field(FIELD, v, w).stop for v, w in
             ((0.0, 0.0), (1.2, 0.0), (0.8, 0.9), (-0.5, -0.4), (0.0, 1.0))]
    for zone in zones:
        points = np.vstack([rng.uniform(-4, 4, (4000, 2)), zone_samples(zone, 0.05)])
        c, s = np.cos(zone[:, 2, None]), np.sin(zone[:, 2, None])
        dx = points[None, :, 0] - zone[:, 0, None]
        dy = points[None, :, 1] - zone[:, 1, None]
        brute = ((np.abs(c * dx + s * dy) <= zone[:, 3, None]) &
                 (np.abs(-s * dx + c * dy) <= zone[:, 4, None])).any(0)
        assert np.array_equal(inside(zone, points), brute)
        assert brute.sum() > 100
    assert inside(zones[0], np.zeros((0, 2))).shape == (0,)
    assert not inside(np.zeros((0, 5)), pts((0, 0))).any()
