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

"""Telemetry without ROS: envelopes, requests, rates, tallies, node health and images."""

import base64
import json
import math

import cv2
import numpy as np
import pytest

from perception.core import telemetry as tm


def test_an_envelope_round_trips_and_carries_what_a_receiver_needs():
    message = tm.envelope('event', 'r1', 7, 'abc', 12.3456, {'x': math.nan, 'y': [1.0]})
    data = tm.encode(message)
    back = tm.decode(data)
    assert set(back) == set(tm.ENVELOPE_KEYS)
    assert back['schema'] == tm.SCHEMA and back['seq'] == 7 and back['epoch'] == 'abc'
    assert back['body'] == {'x': None, 'y': [1.0]}           # NaN is not JSON: null
    assert len(back['id']) == 32
    assert tm.envelope('event', 'r1', 8, 'abc', 0, {})['id'] != back['id']


@pytest.mark.parametrize('payload, problem', [
    (b'\xff\xfe', 'not JSON'), (b'[1]', 'not a JSON object'), (b'{"schema": 1}', 'missing'),
    (json.dumps(dict.fromkeys(tm.ENVELOPE_KEYS, 1)).encode(), 'id must be'),
])
def test_foreign_payloads_are_refused_with_a_reason(payload, problem):
    with pytest.raises(tm.PayloadError, match=problem):
        tm.decode(payload)
    message = tm.envelope('event', 'r1', 1, 'e', 0, {})
    message['schema'] = 2
    with pytest.raises(tm.PayloadError, match='schema 2'):
        tm.decode(tm.encode(message))


def test_robot_ids_are_one_topic_level():
    assert tm.robot_id_problem('robot_7.a-b') is None
    for bad in ('', 'a/b', 'a+b', '#', '.hidden', 'x' * 65, 'ä'):
        assert tm.robot_id_problem(bad), bad
    assert tm.robot_id_from('/warehouse/robot1') == 'warehouse.robot1'
    assert tm.robot_id_from('host name+1') == 'host_name_1'
    assert tm.robot_id_from('/') == 'robot'
    assert tm.topic('perception', 'r1', 'event') == 'perception/r1/event'


def test_requests_are_parsed_or_refused_with_a_reason():
    good = json.dumps({'schema': 1, 'id': 'q-1', 'what': 'map'}).encode()
    assert tm.parse_request(good) == tm.Request('q-1', 'map')
    bad = [(b'nope', 'not JSON'), (b'"map"', 'not a JSON object'),
           (json.dumps({'schema': 2, 'id': 'a', 'what': 'map'}).encode(), 'schema'),
           (json.dumps({'schema': 1, 'id': 'a b', 'what': 'map'}).encode(), 'id must'),
           (json.dumps({'schema': 1, 'id': 'a', 'what': 'rm -rf'}).encode(), 'what must'),
           (b' ' * (tm.MAX_REQUEST_BYTES + 1), 'more than')]
    for payload, reason in bad:
        with pytest.raises(tm.RequestError, match=reason):
            tm.parse_request(payload)


def test_the_token_bucket_paces_bytes_and_never_blocks_a_big_message_forever():
    bucket = tm.TokenBucket(rate=1000.0, burst=1000.0, now=0.0)
    assert bucket.take(600, 0.0) and not bucket.take(600, 0.0)
    assert bucket.wait(600, 0.0) == pytest.approx(0.2)
    assert bucket.take(600, 0.2)
    # Bigger than the burst: goes once the bucket is full, leaving a debt.
    assert not bucket.take(5000, 0.5)
    assert bucket.take(5000, 1.2)
    assert bucket.wait(100, 1.2) == pytest.approx(4.1)
    sent, t = 0, 10.0                    # over a long run: the rate, whatever the sizes
    while t < 20.0:
        if bucket.take(300, t):
            sent += 300
        t += 0.01
    assert sent == pytest.approx(10_000, abs=1000)


def test_detections_are_tallied_per_class_with_a_confidence_histogram():
    tally = tm.DetectionTally()
    tally.add(tm.best_hypotheses([[('person', 0.95), ('box', 0.2)], [('box', 0.45)], []]))
    tally.add([('person', 1.0), ('person', math.nan)])
    body = tally.take()
    assert body['messages'] == 2
    assert body['per_class'] == {'person': 3, 'box': 1}
    assert body['score_histogram']['person'] == [1] + [0] * 8 + [2]   # NaN counts as 0
    assert body['score_histogram']['box'][4] == 1
    assert tally.take() == {'messages': 0, 'per_class': {}, 'score_histogram': {}}


def report(state, reason='r', transitions=None, closest='1.5'):
    values = {'state': state, 'reason': reason, 'source': 'scan', 'closest_m': closest}
    if transitions is not None:
        values['transitions'] = str(transitions)
    return values


def test_safety_changes_make_events_and_time_shares_add_up():
    tally = tm.SafetyTally(0.0)
    assert tally.update(report('STOP', 'no data', 0), 0.0) is None   # first heard: no change
    assert tally.update(report('STOP', 'no data', 0), 1.0) is None
    change = tally.update(report('CLEAR', 'clear', 1, '3.0'), 2.0)
    assert change.event_name() == 'safety_state' and change.before == 'STOP'
    stop = tally.update(report('STOP_LATCHED', 'person in stop field', 2, '0.4'), 5.0)
    assert stop.event_name() == 'person_latched'
    assert stop.body()['reason'] == 'person in stop field'
    reset = tally.update(report('CLEAR', 'reset', 3), 6.0)
    assert reset.event_name() == 'person_reset'
    assert tm.SafetyChange('CLEAR', 'STOP', '', '', None, None).event_name() == 'safety_stop'
    body = tally.take(8.0)
    assert body['shares'] == {'CLEAR': 0.625, 'STOP': 0.25, 'STOP_LATCHED': 0.125}
    assert sum(body['shares'].values()) == pytest.approx(1.0)
    assert body['transitions'] == 3 and body['closest_m'] == pytest.approx(0.4)
    assert body['state'] == 'CLEAR'
    after = tally.take(10.0)                                     # a new period
    assert after['shares'] == {'CLEAR': 1.0} and after['transitions'] == 0


def test_a_change_while_telemetry_was_down_shows_after_its_restart():
    tally = tm.SafetyTally(0.0, {'state': 'CLEAR', 'transitions': '4'})
    change = tally.update(report('STOP', 'blocked', 7), 1.0)
    assert change.across_restart and change.before == 'CLEAR'
    assert change.body()['missed_transitions'] == 2
    same = tm.SafetyTally(0.0, {'state': 'STOP', 'transitions': '4'})
    assert same.update(report('STOP', 'blocked', 4), 1.0) is None
    # The gate restarted too (its counter went back): how many went by is not known.
    reborn = tm.SafetyTally(0.0, {'state': 'CLEAR', 'transitions': '9'})
    assert reborn.update(report('STOP', 'start', 0), 1.0).body()['missed_transitions'] is None


def test_unknown_time_before_the_first_report_is_its_own_share():
    tally = tm.SafetyTally(0.0)
    tally.update(report('CLEAR'), 3.0)
    assert tally.take(4.0)['shares'] == {'CLEAR': 0.25, 'unknown': 0.75}


def test_map_shares_use_map_servers_thresholds():
    cells = np.array([-1, -1, 0, 10, 25, 50, 65, 100], np.int8)
    assert tm.map_shares(cells) == {'occupied': 0.25, 'free': 0.375, 'unknown': 0.375}
    assert tm.map_shares(np.zeros(0, np.int8))['unknown'] == 1.0


def diagnostics(*statuses):
    return [(name, level, message, values) for name, level, message, values in statuses]


def test_node_health_reports_losses_returns_errors_and_sensor_faults():
    watch = tm.HealthWatch(timeout=5.0)
    events = watch.update(diagnostics(('safety: gate', 0, 'ok', {'scan_fault': 'none'}),
                                      ('mapper: map', 2, 'depth: malformed', {})), 0.0)
    assert events == [{'event': 'node_error', 'node': 'mapper', 'message': 'depth: malformed'}]
    events = watch.update(diagnostics(
        ('safety: gate', 1, 'scan bad', {'scan_fault': 'NaN ranges'}),
        ('mapper: map', 0, 'fine', {})), 1.0)
    assert {'event': 'sensor_fault', 'node': 'safety', 'sensor': 'scan',
            'problem': 'NaN ranges'} in events
    assert {'event': 'node_recovered', 'node': 'mapper', 'level': 'OK'} in events
    assert watch.update(diagnostics(('safety: gate', 1, 'x', {'scan_fault': 'NaN ranges'})),
                        2.0) == []                                   # no change, no event
    assert watch.update(diagnostics(('safety: gate', 0, 'x', {'scan_fault': 'none'})),
                        3.0) == [{'event': 'sensor_ok', 'node': 'safety', 'sensor': 'scan'}]
    assert watch.check(5.5) == []                                    # silent 4.5 s: not yet
    lost = watch.check(7.0)
    assert [e['node'] for e in lost] == ['mapper'] and lost[0]['event'] == 'node_lost'
    assert watch.check(8.0) == []                                    # reported once
    assert watch.summary(8.0)['mapper']['level'] == 'LOST'
    back = watch.update(diagnostics(('mapper: map', 0, 'fine', {})), 9.0)
    assert back == [{'event': 'node_back', 'node': 'mapper', 'silent_s': 8.0}]
    assert watch.summary(9.0)['mapper'] == {'level': 'OK', 'message': 'fine', 'age_s': 0.0}


def test_what_was_reported_before_a_restart_is_not_reported_again():
    watch = tm.HealthWatch(timeout=5.0)
    watch.update(diagnostics(('safety: gate', 1, 'x', {'scan_fault': 'NaN ranges'}),
                             ('mapper: map', 2, 'broken', {}), ('detector: d', 0, 'ok', {})), 0.0)
    watch.check(10.0)                                    # all three lost, reported
    watch.update(diagnostics(('detector: d', 0, 'ok', {})), 11.0)
    saved = json.loads(json.dumps(watch.snapshot()))     # as the outbox keeps it
    again = tm.HealthWatch(timeout=5.0, remembered=saved, now=0.0)
    events = again.update(diagnostics(('safety: gate', 1, 'x', {'scan_fault': 'NaN ranges'}),
                                      ('mapper: map', 0, 'fixed', {})), 1.0)
    # The fault goes on: not reported again; both lost nodes are back, the mapper recovered.
    assert events == [{'event': 'node_back', 'node': 'safety', 'silent_s': None},
                      {'event': 'node_back', 'node': 'mapper', 'silent_s': None},
                      {'event': 'node_recovered', 'node': 'mapper', 'level': 'OK'}]
    assert [e['node'] for e in again.check(5.5)] == ['detector']     # silent since the restart
    assert tm.HealthWatch(5.0, {'x': {'level': 'bad'}}).nodes == {}  # a foreign snapshot


def test_the_pace_clock_follows_the_slower_clock_unless_ros_time_stands_still():
    clock = tm.PaceClock(stall=5.0, wall=100.0, ros=0.0)
    assert clock.tick(101.0, 1.0) == pytest.approx(1.0)        # real time: both alike
    assert clock.tick(111.0, 4.0) == pytest.approx(4.0)        # a simulation at 0.3: ROS time
    assert clock.tick(112.0, 6.0) == pytest.approx(5.0)        # faster than real: wall time
    for wall in (114.0, 116.0, 118.0):                         # /clock stopped: after 5 s of
        now = clock.tick(wall, 6.0)                            # standing still, wall time
    assert now == pytest.approx(7.0)
    assert clock.tick(119.0, 6.0) == pytest.approx(8.0)
    assert clock.tick(120.0, 6.5) == pytest.approx(8.5)        # it moves again: the lesser


def test_a_stop_frame_becomes_a_small_jpeg_and_a_map_a_png():
    image = np.zeros((480, 640, 3), np.uint8)
    image[:, :320] = (0, 0, 255)                 # rgb8: left half blue
    data = tm.jpeg(image, 'rgb8', 320, 240, 70)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (240, 320, 3)
    assert decoded[120, 80, 0] > 200 and decoded[120, 80, 2] < 50   # blue, in BGR
    assert cv2.imdecode(np.frombuffer(tm.jpeg(image[:100, :100], 'bgr8', 320, 240, 70),
                                      np.uint8), cv2.IMREAD_COLOR).shape == (100, 100, 3)
    with pytest.raises(ValueError, match='32FC1'):
        tm.jpeg(np.zeros((4, 4), np.float32), '32FC1', 320, 240, 70)
    cells = np.full((3, 4), -1, np.int8)
    cells[0, 0] = 100                            # the origin's cell: bottom left when drawn
    cells[2, 3] = 0
    png = cv2.imdecode(np.frombuffer(tm.map_png(cells.ravel(), 4, 3), np.uint8),
                       cv2.IMREAD_GRAYSCALE)
    assert png.shape == (3, 4)
    assert png[2, 0] == 0 and png[0, 3] == 255 and png[1, 1] == 128
    field = tm.image_field(b'\x89PNG', 'png', 4, 3, stamp=1.0)
    assert base64.b64decode(field['data']) == b'\x89PNG' and field['stamp'] == 1.0
