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

"""The telemetry outbox: order, acknowledgements, budget, restarts, corrupt files, one owner."""

import multiprocessing
import os
import sqlite3

import pytest

from perception.core.outbox import BULK_PRIORITY, EVENT_PRIORITY, Outbox, OutboxBusy


def payload_of(text, size=0):
    return lambda seq: f'{text}#{seq}'.encode().ljust(size, b'.')


def add(box, kind, text, size=0):
    priority = EVENT_PRIORITY if kind == 'event' else BULK_PRIORITY
    return box.add(kind, priority, f't/{kind}', payload_of(text, size))


def names(entries):
    return [e.payload.split(b'#')[0].decode() for e in entries]


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / 'outbox.db')


def test_events_go_first_then_the_oldest(path):
    box = Outbox(path, 10_000)
    for text, kind in (('s1', 'summary'), ('e1', 'event'), ('s2', 'summary'),
                       ('n1', 'snapshot'), ('e2', 'event')):
        add(box, kind, text)
    assert names(box.pending(10)) == ['e1', 'e2', 's1', 's2', 'n1']
    first = box.pending(2)
    assert names(box.pending(10, skip=[e.row for e in first])) == ['s1', 's2', 'n1']
    assert [e.seq for e in box.pending(10)] == [2, 5, 1, 3, 4]
    box.close()


def test_only_acknowledged_messages_leave_and_every_one_is_counted(path):
    box = Outbox(path, 10_000)
    rows = [add(box, kind, kind).row for kind in ('event', 'summary', 'summary')]
    assert box.acknowledge([rows[0], rows[1], 999]) == 2    # an unknown row is ignored
    assert box.acknowledge([rows[0]]) == 0                  # a second ack changes nothing
    assert names(box.pending(10)) == ['summary']
    counters = box.counters()
    assert counters['produced.summary'] == 2 and counters['sent.summary'] == 1
    assert counters['produced.event'] == 1 and counters['sent.event'] == 1
    assert box.stats()['count'] == 1 and box.stats()['by_kind'] == {'summary': 1}
    box.close()


def test_messages_sequence_and_state_survive_a_restart(path):
    box = Outbox(path, 10_000)
    add(box, 'event', 'e1')
    box.add('event', EVENT_PRIORITY, 't/event', payload_of('e2'), {'safety.state': 'STOP'})
    epoch = box.epoch
    box.close()
    again = Outbox(path, 10_000)
    assert names(again.pending(10)) == ['e1', 'e2']
    assert again.get_state('safety.state') == 'STOP'
    assert again.epoch == epoch and again.last_seq == 2
    assert add(again, 'summary', 's').seq == 3              # numbers keep rising
    again.close()


def test_a_killed_process_loses_nothing_it_committed(path):
    # The child commits and dies without closing anything (os._exit: like SIGKILL).
    def child():
        box = Outbox(path, 10_000, 'normal')
        for k in range(20):
            add(box, 'event', f'e{k}')
        os._exit(0)
    process = multiprocessing.get_context('fork').Process(target=child)
    process.start()
    process.join(60)
    box = Outbox(path, 10_000)        # and the lock went with the dead process
    assert names(box.pending(100)) == [f'e{k}' for k in range(20)]
    box.close()


def test_the_budget_drops_bulk_oldest_first_and_events_last(path):
    box = Outbox(path, 1000)
    for k in range(3):
        add(box, 'summary', f's{k}', 200)
    add(box, 'event', 'e0', 200)
    add(box, 'snapshot', 'n0', 200)
    assert box.held_bytes == 1000
    result = add(box, 'event', 'e1', 200)   # the oldest summary makes room
    assert result.row is not None and len(result.dropped) == 1
    assert names(box.pending(10)) == ['e0', 'e1', 's1', 's2', 'n0']
    add(box, 'event', 'e2', 500)             # three bulk messages go, oldest first
    assert names(box.pending(10)) == ['e0', 'e1', 'e2']
    # Only events are left: a summary does not push one out; it is dropped itself.
    assert add(box, 'summary', 's9', 150).row is None
    # An event pushes out the oldest event.
    add(box, 'event', 'e3', 200)
    assert names(box.pending(10)) == ['e1', 'e2', 'e3']
    # A message bigger than the whole budget is dropped, whatever it is.
    assert add(box, 'event', 'huge', 2000).row is None
    counters = box.counters()
    assert counters['dropped.summary'] == 4 and counters['dropped.snapshot'] == 1
    assert counters['dropped.event'] == 2
    # produced = sent + dropped + still queued, for every kind.
    for kind in ('summary', 'event', 'snapshot'):
        queued = box.stats()['by_kind'].get(kind, 0)
        assert counters[f'produced.{kind}'] == counters.get(f'dropped.{kind}', 0) + queued
    assert box.held_bytes <= 1000
    box.close()


@pytest.mark.parametrize('content', [b'this is not a database at all' * 100, b''])
def test_a_corrupt_file_is_set_aside_and_a_fresh_outbox_started(tmp_path, path, content):
    with open(path, 'wb') as stream:
        stream.write(content)
    box = Outbox(path, 10_000)
    if content:
        assert box.recovered and 'set aside as' in box.recovered
        aside = [n for n in os.listdir(tmp_path) if '.corrupt-' in n]
        assert len(aside) == 1
        assert open(tmp_path / aside[0], 'rb').read() == content  # kept for whoever looks
    else:
        assert box.recovered is None  # an empty file is a new database
    add(box, 'event', 'e')
    assert names(box.pending(10)) == ['e']
    box.close()


def test_a_damaged_database_page_is_found_and_set_aside(path):
    box = Outbox(path, 10_000_000)
    for k in range(200):
        add(box, 'summary', f's{k}', 500)
    box.close()
    with open(path, 'r+b') as stream:  # scribble over the middle of the file, pages and all
        size = os.path.getsize(path)
        stream.seek(size // 2)
        stream.write(os.urandom(8192))
    again = Outbox(path, 10_000_000)
    assert again.recovered and 'set aside' in again.recovered
    assert again.pending(10) == [] and again.last_seq == 0
    again.close()


def test_a_newer_schema_is_not_touched(path):
    db = sqlite3.connect(path)
    db.execute('PRAGMA user_version = 99')
    db.close()
    box = Outbox(path, 10_000)
    assert 'schema version 99' in box.recovered
    box.close()


def test_a_second_owner_is_refused(path):
    box = Outbox(path, 10_000)
    with pytest.raises(OutboxBusy, match='in use by another process'):
        Outbox(path, 10_000)
    box.close()
    Outbox(path, 10_000).close()  # free again once closed


def test_bad_settings_are_refused(path):
    with pytest.raises(ValueError, match='max_bytes'):
        Outbox(path, 0)
    with pytest.raises(ValueError, match='synchronous'):
        Outbox(path, 10, 'sometimes')
