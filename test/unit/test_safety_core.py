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

"""The safety gate's core: field geometry, sensor points and the decision."""

import math

import numpy as np
import pytest

from perception.core.safety import CLEAR, gate, SafetyConfig, SafetyMonitor, SLOW, SourceConfig
from perception.core.safety import STOP, STOP_LATCHED
from perception.core.safety_field import config_problem, FieldConfig, footprint_distance
from perception.core.safety_field import inside, protective_field
from perception.core.sensor_points import depth_points, ground_point, MalformedReading, Mount
from perception.core.sensor_points import scan_points

FIELD = FieldConfig(length=0.7, width=0.5, response_time=0.15, decel=1.5, margin=0.1,
                    slow_extra=1.0)


def pts(*xy):
    return np.array(xy, dtype=float).reshape(-1, 2)


def wall(x, y=0.0, n=5):
    return np.column_stack([np.full(n, x), np.linspace(y - 0.05, y + 0.05, n)])


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


def test_scan_points_drop_bad_beams_one_by_one():
    ranges = np.array([1.0, np.nan, np.inf, 0.01, 50.0, 2.0])
    points = scan_points(ranges, 0.0, math.pi / 4, 0.1, 30.0, Mount(x=0.2))
    last = 5 * math.pi / 4
    np.testing.assert_allclose(
        points, [[1.2, 0.0], [0.2 + 2.0 * math.cos(last), 2.0 * math.sin(last)]], atol=1e-9)


@pytest.mark.parametrize('args,message', [
    (([], 0.0, 0.01, 0.1, 10.0), 'no ranges'),
    (([1.0] * 10, 0.0, 0.0, 0.1, 10.0), 'angle_increment'),
    (([1.0] * 10, 0.0, float('nan'), 0.1, 10.0), 'angle_increment'),
    (([1.0] * 1000, 0.0, 0.1, 0.1, 10.0), 'more than a full turn'),
    (([1.0] * 10, 0.0, 0.01, 0.1, float('nan')), 'range_max'),
])
def test_malformed_scans_are_refused(args, message):
    with pytest.raises(MalformedReading, match=message):
        scan_points(np.array(args[0], dtype=float), *args[1:], Mount())


def test_depth_points_keep_the_height_band():
    mount = Mount(x=0.3, z=1.0)  # looking straight ahead
    intrinsics = (100.0, 100.0, 39.5, 29.5)
    depth = np.full((60, 80), 2.0, np.float32)
    points = depth_points(depth, intrinsics, mount, stride=1, min_height=0.05, max_height=1.5)
    assert len(points) and np.allclose(points[:, 0], 2.3)
    # Rows far below the centre see the floor at 2 m: a floor has no points below 0.05 m.
    floor = depth_points(np.full((60, 80), 2.0, np.float32), intrinsics,
                         Mount(x=0.3, z=0.0), stride=1, min_height=0.05)
    heights_ok = depth_points(depth, intrinsics, mount, stride=1, min_height=1.2)
    assert len(heights_ok) < len(points)
    assert floor.shape[1] == 2
    mm = depth_points(np.full((60, 80), 2000, np.uint16), intrinsics, mount, stride=4,
                      scale=0.001)
    assert np.allclose(mm[:, 0], 2.3)
    nothing = depth_points(np.full((60, 80), np.nan, np.float32), intrinsics, mount)
    assert nothing.shape == (0, 2)
    with pytest.raises(MalformedReading, match='uncalibrated'):
        depth_points(depth, (0.0, 0.0, 0.0, 0.0), mount)


def test_a_flat_floor_never_marks():
    # A camera 1 m up pitched 30 degrees down sees only floor: every point is dropped.
    mount = Mount(x=0.0, z=1.0, pitch=math.radians(30))
    fx = fy = 100.0
    rows, cols = np.mgrid[0:60, 0:80]
    ray_z = np.zeros((60, 80))
    depth = np.full((60, 80), np.nan)
    for r in range(60):
        for c in range(80):
            point = ground_point(c, r, (fx, fy, 39.5, 29.5), mount)
            if point is not None:
                # z-depth of the floor point along the optical axis
                d = np.array([point[0], point[1], -1.0])
                axis = np.array([math.cos(math.radians(30)), 0, -math.sin(math.radians(30))])
                ray_z[r, c] = d @ axis
                depth[r, c] = ray_z[r, c]
    assert np.isfinite(depth).sum() > 1000
    points = depth_points(depth.astype(np.float32), (fx, fy, 39.5, 29.5), mount, stride=1)
    assert len(points) == 0


def test_ground_point_of_a_box_bottom():
    mount = Mount(x=0.3, z=1.0, pitch=math.radians(10))
    x, y = ground_point(319.5, 239.5, (415.7, 415.7, 319.5, 239.5), mount)
    assert x == pytest.approx(0.3 + 1 / math.tan(math.radians(10))) and y == pytest.approx(0)
    assert ground_point(319.5, 0.0, (415.7, 415.7, 319.5, 239.5), mount) is None  # sky


SOURCES = (SourceConfig('scan', 0.2, True), SourceConfig('odom', 0.2, True),
           SourceConfig('depth', 0.3, False), SourceConfig('detections', 0.5, False))


def monitor(**kwargs):
    return SafetyMonitor(SafetyConfig(field=FIELD, sources=SOURCES, min_points=3,
                                      release_hold=0.5, **kwargs))


def feed(m, t, points=pts(), v=0.0, command=(0.5, 0.0)):
    m.set_points('scan', points, t)
    m.set_odom(v, 0.0, t)
    m.set_command(*command, t)
    return m.evaluate(t + 0.005)


def settle(m, t0=0.0, until=1.0, **kwargs):
    t = t0
    while t < until:
        decision = feed(m, t, **kwargs)
        t += 0.05
    return decision, t


def test_starts_stopped_until_every_required_source_speaks():
    m = monitor()
    assert m.evaluate(0.0).state == STOP
    m.set_points('scan', pts(), 0.0)
    decision = m.evaluate(0.01)
    assert decision.state == STOP and decision.reason == 'odom: no message yet'
    decision, _ = settle(m)
    assert decision.state == CLEAR


def test_an_intrusion_stops_at_once_and_release_waits_for_the_hold():
    m = monitor()
    _, t = settle(m)
    decision = feed(m, t, wall(0.6))
    assert decision.state == STOP and decision.source == 'scan' and decision.scale == 0.0
    assert decision.closest == pytest.approx(0.25)
    assert gate((0.5, 0.2), decision) == (0.0, 0.0)
    released = None
    for k in range(1, 30):
        if feed(m, t + 0.05 * k).state == CLEAR:
            released = 0.05 * k
            break
    assert released == pytest.approx(0.55, abs=0.06)  # 0.5 s hold after the field cleared


def test_a_slow_zone_intrusion_scales_commands():
    m = monitor(slow_scale=0.4)
    _, t = settle(m)
    decision = feed(m, t, wall(1.5), command=(0.5, 0.0))
    assert decision.state == SLOW and gate((0.5, 0.3), decision) == pytest.approx((0.2, 0.12))


def test_too_few_points_do_not_count():
    m = monitor()
    _, t = settle(m)
    assert feed(m, t, wall(0.6, n=2)).state == CLEAR
    assert feed(m, t + 0.05, wall(0.6, n=3)).state == STOP


def test_silent_stale_future_and_malformed_sources_stop():
    m = monitor()
    _, t = settle(m)
    m.set_odom(0.0, 0.0, t)
    decision = m.evaluate(t + 0.3)  # scan went silent 0.3 s ago (timeout 0.2 s)
    assert decision.state == STOP and decision.reason.startswith('scan: data 0.3')
    m = monitor()
    _, t = settle(m)
    m.set_points('scan', pts(), t + 0.5)
    m.set_odom(0.0, 0.0, t)
    assert 'stamped 0.50 s in the future' in m.evaluate(t).reason
    m = monitor()
    _, t = settle(m)
    m.set_fault('scan', 'malformed: scan has no ranges', t)
    m.set_odom(0.0, 0.0, t)
    decision = m.evaluate(t)
    assert decision.state == STOP and decision.reason == 'scan: malformed: scan has no ranges'


def test_an_optional_source_going_silent_does_not_stop():
    m = monitor()
    _, t = settle(m)
    m.set_points('depth', wall(0.6), t - 5.0)  # old depth points are ignored, not obeyed
    assert feed(m, t).state == CLEAR


def test_the_commanded_speed_widens_the_field_before_the_robot_moves():
    m = monitor()
    _, t = settle(m, command=(0.0, 0.0))
    assert feed(m, t, wall(1.0), v=0.0, command=(0.0, 0.0)).state == SLOW
    assert feed(m, t + 0.05, wall(1.0), v=0.0, command=(1.5, 0.0)).state == STOP


def test_flicker_makes_at_most_one_transition_per_hold_window():
    m = monitor()
    _, t = settle(m)
    before = m.transitions
    for k in range(40):  # an obstacle that blinks at 10 Hz for 2 s
        feed(m, t + 0.05 * k, wall(0.6) if (k // 1) % 2 == 0 else pts())
    assert m.transitions - before == 1 and m.state == STOP


def test_a_person_latches_the_stop_until_reset():
    m = monitor(person_latch=True)
    _, t = settle(m)
    m.set_people(pts((0.7, 0.0)), t)
    decision = feed(m, t)
    assert decision.state == STOP_LATCHED and decision.source == 'person'
    accepted, message = m.reset(t + 0.01)
    assert not accepted and 'cannot reset' in message  # still in the field
    decision, t = settle(m, t, t + 3.0)  # the person has gone: still latched
    assert decision.state == STOP_LATCHED
    accepted, _ = m.reset(t)
    assert accepted
    decision, _ = settle(m, t, t + 0.7)
    assert decision.state == CLEAR


def test_without_latching_a_person_stop_holds_for_its_time():
    m = monitor(person_latch=False, person_hold=2.0)
    _, t = settle(m)
    m.set_people(pts((0.7, 0.0)), t)
    assert feed(m, t).state == STOP
    # The person counts for person_memory (1 s); the hold runs 2 s from then, then the release
    # hold of 0.5 s.
    decision, t2 = settle(m, t + 0.05, t + 3.2)
    assert decision.state == STOP
    decision, _ = settle(m, t2, t + 3.7)
    assert decision.state == CLEAR


def test_commands_expire():
    m = monitor(command_timeout=0.5)
    m.set_command(0.5, 0.1, 0.0)
    assert m.fresh_command(0.4) == (0.5, 0.1) and m.fresh_command(0.6) == (0.0, 0.0)
