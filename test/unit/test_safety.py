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

"""The safety gate's decision: sources, coverage, memory, people, holds and latches."""

import math

import numpy as np
import pytest

from perception.core.obstacle_memory import MemoryConfig
from perception.core.readings import DepthReading, ScanReading
from perception.core.robot import Camera, Lidar
from perception.core.safety import CLEAR, describe_sectors, gate, SafetyConfig
from perception.core.safety import SafetyConfigError, SafetyMonitor, SLOW, SourceConfig, STOP
from perception.core.safety import STOP_LATCHED
from perception.core.safety_field import FieldConfig
from perception.core.sensor_points import Mount
from support import render_depth

FIELD = FieldConfig(length=0.7, width=0.5, response_time=0.15, decel=1.5, margin=0.1,
                    slow_extra=1.0)
LIDAR = Lidar('lidar', 'laser', Mount(x=0.2, z=0.25))
CAMERA = Camera('camera', 'camera_optical_frame', Mount(x=0.3, z=1.0, pitch=math.radians(10)),
                width=160, height=120)
SOURCES = (SourceConfig('scan', 'points', 0.2, True), SourceConfig('odom', 'odometry', 0.2, True),
           SourceConfig('depth', 'points', 0.3, False),
           SourceConfig('detections', 'detections', 0.5, False))


def scan_of(points=(), span=360):
    """Return a 1-degree scan seeing the given base-frame points (x, y), from -span/2."""
    count = span if span == 360 else span + 1
    inc = math.radians(1.0)
    angle_min = -math.pi if span == 360 else -math.radians(span / 2)
    ranges = np.full(count, np.inf)
    for x, y in points:
        bearing, r = math.atan2(y, x - LIDAR.mount.x), math.hypot(y, x - LIDAR.mount.x)
        i = int(round(((bearing - angle_min) % (2 * math.pi)) / inc)) % 360
        if i < count:
            ranges[i] = min(ranges[i], r)
    return ScanReading(ranges, angle_min, angle_min + (count - 1) * inc, inc, 0.1, 15.0, LIDAR)


def wall(x, y=0.0, n=5):
    return [(x, yy) for yy in np.linspace(y - 0.05, y + 0.05, n)]


def monitor(**kwargs):
    kwargs.setdefault('sources', SOURCES)
    return SafetyMonitor(SafetyConfig(field=FIELD, min_points=3, release_hold=0.5, **kwargs))


def feed(m, t, points=(), v=0.0, command=(0.5, 0.0), pose=None, reading=None):
    m.set_odom('odom', pose or (v * t, 0.0, 0.0), v, 0.0, t)
    m.set_reading('scan', reading if reading is not None else scan_of(points), t)
    m.set_command(*command, t)
    return m.evaluate(t + 0.005)


def settle(m, t0=0.0, until=1.0, **kwargs):
    t, decision = t0, None
    while t < until:
        decision = feed(m, t, **kwargs)
        t += 0.05
    return decision, t


def test_configurations_the_gate_cannot_work_with_are_refused():
    with pytest.raises(SafetyConfigError, match='no required range sensor'):
        monitor(sources=(SourceConfig('odom', 'odometry', 0.2, True),))
    with pytest.raises(SafetyConfigError, match='needs a required odometry source'):
        monitor(sources=(SourceConfig('scan', 'points', 0.2, True),))
    with pytest.raises(SafetyConfigError, match='kind'):
        monitor(sources=SOURCES + (SourceConfig('sonar', 'echo', 0.2, True),))
    # Without memory, the gate may run without odometry.
    monitor(sources=(SourceConfig('scan', 'points', 0.2, True),), memory=None)


def test_starts_stopped_until_every_required_source_speaks():
    m = monitor()
    assert m.evaluate(0.0).state == STOP
    m.set_reading('scan', scan_of(), 0.0)
    decision = m.evaluate(0.01)
    assert decision.state == STOP and decision.reason == 'odom: no message yet'
    decision, _ = settle(m)
    assert decision.state == CLEAR


def test_an_intrusion_stops_at_once_and_release_waits_for_the_hold():
    m = monitor()
    _, t = settle(m)
    decision = feed(m, t, wall(0.6))
    assert decision.state == STOP and decision.source == 'scan' and decision.scale == 0.0
    assert decision.closest == pytest.approx(0.25, abs=0.03)
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
    assert feed(m, t, [(0.6, 0.0)]).state == CLEAR
    assert feed(m, t + 0.05, wall(0.6, n=3)).state == STOP


def test_silent_stale_future_and_malformed_sources_stop():
    m = monitor()
    _, t = settle(m)
    m.set_odom('odom', (0.0, 0.0, 0.0), 0.0, 0.0, t)
    decision = m.evaluate(t + 0.3)  # scan went silent 0.3 s ago (timeout 0.2 s)
    assert decision.state == STOP and decision.reason.startswith('scan: data 0.3')
    m = monitor()
    _, t = settle(m)
    m.set_reading('scan', scan_of(), t + 0.5)
    m.set_odom('odom', (0.0, 0.0, 0.0), 0.0, 0.0, t)
    assert 'stamped 0.50 s in the future' in m.evaluate(t).reason
    m = monitor()
    _, t = settle(m)
    m.set_fault('scan', 'malformed: scan has no ranges', t)
    m.set_odom('odom', (0.0, 0.0, 0.0), 0.0, 0.0, t)
    decision = m.evaluate(t)
    assert decision.state == STOP and decision.reason == 'scan: malformed: scan has no ranges'


def test_an_optional_source_going_silent_does_not_stop():
    m = monitor(memory=None, sources=(SourceConfig('scan', 'points', 0.2, True),
                                      SourceConfig('depth', 'points', 0.3, False)))
    m.set_reading('depth', scan_of(wall(0.6)), -5.0)  # old points are ignored, not obeyed
    for k in range(20):
        m.set_reading('scan', scan_of(), 0.05 * k)
        m.set_command(0.5, 0.0, 0.05 * k)
        decision = m.evaluate(0.05 * k)
    assert decision.state == CLEAR


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
        feed(m, t + 0.05 * k, wall(0.6) if k % 2 == 0 else ())
    assert m.transitions - before == 1 and m.state == STOP


# --- coverage ------------------------------------------------------------------------------

def test_a_lidar_narrower_than_the_field_stops_and_names_the_sector():
    m = monitor()
    decision, t = settle(m, reading=scan_of(span=180))
    assert decision.state == STOP and decision.source == 'coverage'
    assert 'behind' in decision.reason and 'ahead' not in decision.reason


def test_only_fresh_valid_data_from_required_sensors_covers_the_field():
    sources = (SourceConfig('scan', 'points', 0.2, True),
               SourceConfig('odom', 'odometry', 0.2, True),
               SourceConfig('rear', 'points', 0.2, False))
    m = monitor(sources=sources)
    m.set_reading('rear', scan_of(), 0.0)  # would cover it all, but is not required
    decision, _ = settle(m, reading=scan_of(span=180))
    assert decision.state == STOP and 'behind' in decision.reason
    sources = sources[:2] + (SourceConfig('rear', 'points', 0.2, True),)
    m = monitor(sources=sources)
    t = 0.0
    while t < 1.0:
        m.set_reading('rear', scan_of(), t)
        decision = feed(m, t, reading=scan_of(span=180))
        t += 0.05
    assert decision.state == CLEAR


def test_sectors_are_named_by_bearing_and_direction():
    ahead = np.array([[1.0, -0.1], [1.0, 0.1]])
    behind = np.array([[-1.0, 0.05], [-1.0, -0.05]])
    text = describe_sectors(np.vstack([ahead, behind]))
    assert '(ahead)' in text and '(behind)' in text and text.count('bearings') == 2
    assert describe_sectors(behind).startswith('bearings 177 to -177 deg (behind)')


# --- memory --------------------------------------------------------------------------------

def test_a_low_object_out_of_view_is_remembered_and_never_released_into():
    box = (2.0, 2.3, -0.2, 0.2, 0.0, 0.15)   # odom: below the lidar plane, in the lane
    intrinsics = CAMERA.intrinsics()
    for memory in (MemoryConfig(), None):
        sources = SOURCES[:2] + (SourceConfig('depth', 'points', 0.3, True),)
        m = monitor(sources=sources, memory=memory)
        t, x, decisions = 0.0, 0.0, []
        while t < 6.0:
            local = (box[0] - x, box[1] - x) + box[2:]
            depth = render_depth(CAMERA.mount, intrinsics, 160, 120, [local])
            m.set_odom('odom', (x, 0.0, 0.0), 0.0, 0.0, t)
            m.set_reading('depth', DepthReading(depth, intrinsics, CAMERA.mount, stride=2), t)
            m.set_reading('scan', scan_of(), t)  # the lidar's plane passes over the box
            m.set_command(0.5, 0.0, t)
            decision = m.evaluate(t)
            decisions.append((x, decision.state))
            if decision.state != STOP:
                x = min(x + 0.025, 1.6)  # creeps on while not stopped
            t += 0.05
        seen = [s for x, s in decisions if 0.5 < x < 0.9]
        if memory is not None:
            # It slows, then stops short of the box and stays stopped: the box went out of view.
            assert SLOW in seen
            assert decisions[-1][1] == STOP and 'remembered' in m.decision.reason
            assert x < box[0] - 0.35 - 0.1
        else:
            # Deciding on the newest readings only, the gate drives into it: the gap it closes.
            assert x == pytest.approx(1.6)


def test_a_remembered_object_is_forgotten_once_seen_clear():
    m = monitor()
    _, t = settle(m)
    feed(m, t, wall(1.2))
    assert len(m.memory) > 0
    decision, _ = settle(m, t + 0.05, t + 1.0)
    assert len(m.memory) == 0 and decision.state == CLEAR and m.forgotten > 0


def test_obstacles_stay_put_in_odom_while_the_robot_turns():
    m = monitor()
    _, t = settle(m, command=(0.0, 0.0))
    feed(m, t, wall(1.5), command=(0.0, 0.0))
    # Turned by 90 degrees, the same obstacle is now on the robot's right.
    xy, _ = m.memory.in_base((0.0, 0.0, math.pi / 2))
    assert xy[:, 1].mean() == pytest.approx(-1.5, abs=0.05)


# --- people --------------------------------------------------------------------------------

def people(m, t, *points):
    m.set_detections('detections', np.array(points, float).reshape(-1, 2), bool(points), t)


def test_people_widen_the_field_and_count_as_obstacles():
    m = monitor()
    _, t = settle(m)
    people(m, t, (3.0, 0.0))
    assert feed(m, t).state == CLEAR  # far away: only the field widens
    assert feed(m, t + 0.05, [(0.2, 0.72), (0.25, 0.72), (0.3, 0.72)]).state == STOP  # widened
    m = monitor()
    _, t = settle(m)
    assert feed(m, t, [(0.2, 0.72), (0.25, 0.72), (0.3, 0.72)]).state != STOP


def test_a_person_stop_resumes_once_the_field_was_clear_of_people_for_the_hold():
    m = monitor(person_hold=2.0)
    _, t = settle(m)
    people(m, t, (0.7, 0.0))
    decision = feed(m, t)
    assert decision.state == STOP and decision.person
    # The person counts for person_memory (1 s); the hold runs 2 s from then, then the release
    # hold of 0.5 s.
    decision, t2 = settle(m, t + 0.05, t + 2.5)
    assert decision.state == STOP and 'clear of people' in decision.reason
    decision, t2 = settle(m, t2, t + 3.2)
    assert decision.state == STOP
    decision, _ = settle(m, t2, t + 3.7)
    assert decision.state == CLEAR


def test_where_a_site_asks_for_it_a_person_latches_the_stop_until_reset():
    m = monitor(person_latch=True)
    _, t = settle(m)
    people(m, t, (0.7, 0.0))
    decision = feed(m, t)
    assert decision.state == STOP_LATCHED and decision.source == 'detections'
    accepted, message = m.reset(t + 0.01)
    assert not accepted and 'cannot reset' in message  # still in the field
    decision, t = settle(m, t, t + 3.0)  # the person has gone: still latched
    assert decision.state == STOP_LATCHED
    accepted, _ = m.reset(t)
    assert accepted
    decision, _ = settle(m, t, t + 0.7)
    assert decision.state == CLEAR


def test_commands_expire():
    m = monitor(command_timeout=0.5)
    m.set_command(0.5, 0.1, 0.0)
    assert m.fresh_command(0.4) == (0.5, 0.1) and m.fresh_command(0.6) == (0.0, 0.0)


def test_poses_are_interpolated_between_odometry_messages():
    m = monitor()
    m.set_odom('odom', (0.0, 0.0, 0.0), 1.0, 0.0, 0.0)
    m.set_odom('odom', (1.0, 0.0, 0.2), 1.0, 0.0, 1.0)
    assert m.pose_at(0.5) == pytest.approx((0.5, 0.0, 0.1))
    assert m.pose_at(-1.0) == (0.0, 0.0, 0.0) and m.pose_at(3.0) == (1.0, 0.0, 0.2)
