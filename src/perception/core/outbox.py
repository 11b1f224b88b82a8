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

"""
Store and forward: the telemetry outbox, an SQLite file (WAL) of messages not yet acknowledged.

paho-mqtt keeps unacknowledged messages in memory only and a broker's persistence is its own, so
every telemetry message is committed here before it is sent and deleted only once the broker
has acknowledged it: messages survive broker outages, network loss and restarts of the node.

- Sending order: events first, then everything else; oldest first within each.
- Budget: the payload bytes held are bounded. A message that does not fit pushes out the oldest
  message of the lowest priority first (summaries and snapshots, then events); a message of a
  lower priority than all that is held is itself dropped. Every drop is counted by kind.
- Sequence: each message gets the next number of a counter kept in the same file, so numbers
  keep rising across restarts and a receiver can tell a gap from a reordering. The file has a
  name of its own (`epoch`); a fresh file starts counting anew under a new epoch.
- A file that cannot be read as an outbox (corrupt, not a database, a newer schema) is set aside
  under a new name and a fresh one is started; `recovered` says what happened.
- One process at a time: a lock file next to it refuses a second one (OutboxBusy).

Thread-safe: one lock serialises every use of the connection.
"""

from dataclasses import dataclass
import errno
import fcntl
import os
import sqlite3
import threading
import time
from typing import Callable, Dict, Iterable, List, Optional, Sequence
import uuid

#: Sending priorities: events go first and are dropped last.
EVENT_PRIORITY = 1
BULK_PRIORITY = 0

#: Version of the file's tables (PRAGMA user_version).
SCHEMA_VERSION = 1

SYNCHRONOUS = ('normal', 'full')

_TABLES = """
CREATE TABLE IF NOT EXISTS message (
    row INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    seq INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS message_order ON message (priority DESC, row);
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class OutboxError(RuntimeError):
    """The outbox cannot be used at all (its folder cannot be written, say)."""


class OutboxBusy(OutboxError):
    """Another process holds the outbox."""


@dataclass(frozen=True)
class Entry:
    """A message waiting in the outbox."""

    row: int
    priority: int
    kind: str
    topic: str
    payload: bytes
    seq: int
    created: float


@dataclass(frozen=True)
class Added:
    """What add() did: the new row (None when the message itself was dropped) and its victims."""

    row: Optional[int]
    seq: Optional[int]
    dropped: Sequence[int]


class Outbox:
    """The on-disk outbox; see the module's notes."""

    def __init__(self, path: str, max_bytes: int, synchronous: str = 'full',
                 clock: Callable[[], float] = time.time):
        if max_bytes <= 0:
            raise ValueError('max_bytes must be positive')
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f'synchronous must be one of {", ".join(SYNCHRONOUS)}')
        self.path = os.path.abspath(path)
        self.max_bytes = int(max_bytes)
        self.synchronous = synchronous
        self.clock = clock
        #: Set when a file was set aside at open or at run time: what, why and where it went.
        self.recovered: Optional[str] = None
        self._lock = threading.RLock()
        self._db: Optional[sqlite3.Connection] = None
        self._bytes = 0
        self._lock_file = None
        self.epoch = ''
        self._last_seq = 0
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise OutboxError(f'cannot create the outbox folder {directory}: {exc}') from None
        self._take_lock()
        self._open()

    # --- opening, checking, setting aside ---------------------------------------------------

    def _take_lock(self) -> None:
        lock_path = self.path + '.lock'
        try:
            self._lock_file = open(lock_path, 'a+')
        except OSError as exc:
            raise OutboxError(f'cannot open {lock_path}: {exc}') from None
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock_file.close()
            self._lock_file = None
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutboxBusy(f'the outbox {self.path} is in use by another process (two '
                                 'telemetry nodes with the same robot id and outbox?)') from None
            raise OutboxError(f'cannot lock {lock_path}: {exc}') from None

    def _open(self) -> None:
        try:
            self._connect()
        except sqlite3.DatabaseError as exc:
            self._close_db()
            self._set_aside(f'cannot be read as an outbox ({exc})')
            try:
                self._connect()
            except sqlite3.DatabaseError as again:
                raise OutboxError(f'cannot create a fresh outbox at {self.path}: '
                                  f'{again}') from None

    def _connect(self) -> None:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None,
                             check_same_thread=False)
        self._db = db
        version = db.execute('PRAGMA user_version').fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f'schema version {version}, newer than '
                                        f'{SCHEMA_VERSION} (this code)')
        check = db.execute('PRAGMA quick_check').fetchone()[0]
        if check != 'ok':
            raise sqlite3.DatabaseError(f'integrity check: {check}')
        if version == 0:
            # Free pages go back to the file system on incremental_vacuum (a new file only).
            db.execute('PRAGMA auto_vacuum = INCREMENTAL')
        mode = db.execute('PRAGMA journal_mode = WAL').fetchone()[0]
        if mode.lower() != 'wal':
            raise sqlite3.DatabaseError(f'journal mode {mode}, not wal')
        db.execute(f'PRAGMA synchronous = {self.synchronous.upper()}')
        db.execute('PRAGMA journal_size_limit = 4194304')
        db.executescript(_TABLES)
        db.execute(f'PRAGMA user_version = {SCHEMA_VERSION}')
        # The file's own name for its sequence: numbers restart with a fresh file.
        db.execute("INSERT OR IGNORE INTO state (name, value) VALUES ('epoch', ?)",
                   (uuid.uuid4().hex[:12],))
        self.epoch = db.execute("SELECT value FROM state WHERE name = 'epoch'").fetchone()[0]
        self._bytes = db.execute('SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM message'
                                 ).fetchone()[0]
        self._last_seq = self._counter(db, 'seq')

    def _close_db(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None

    def _set_aside(self, why: str) -> None:
        stamp = time.strftime('%Y%m%d-%H%M%S', time.localtime(self.clock()))
        aside = f'{self.path}.corrupt-{stamp}'
        n = 1
        while os.path.exists(aside):
            n += 1
            aside = f'{self.path}.corrupt-{stamp}-{n}'
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise OutboxError(f'{self.path} {why} and cannot be set aside: {exc}') from None
        for suffix in ('-wal', '-shm'):
            if os.path.exists(self.path + suffix):
                try:
                    os.replace(self.path + suffix, aside + suffix)
                except OSError:
                    os.remove(self.path + suffix)
        self._bytes = 0
        self.recovered = f'{self.path} {why}; set aside as {aside}, a fresh outbox started'

    def _guarded(self, work: Callable[[sqlite3.Connection], object]):
        """Run work in a transaction; a file found corrupt meanwhile is set aside, work redone."""
        with self._lock:
            for attempt in (1, 2):
                if self._db is None:
                    raise OutboxError('the outbox is closed')
                try:
                    self._db.execute('BEGIN IMMEDIATE')
                    try:
                        result = work(self._db)
                    except BaseException:
                        self._db.execute('ROLLBACK')
                        raise
                    self._db.execute('COMMIT')
                    return result
                except sqlite3.OperationalError:
                    raise  # locked, disk full, I/O: the caller decides; the file is not at fault
                except sqlite3.DatabaseError as exc:
                    if attempt == 2:
                        raise
                    self._close_db()
                    self._set_aside(f'was found corrupt while in use ({exc})')
                    self._open()
        return None

    # --- messages ----------------------------------------------------------------------------

    def add(self, kind: str, priority: int, topic: str, payload: Callable[[int], bytes],
            state: Optional[Dict[str, str]] = None) -> Added:
        """
        Commit a message; payload(seq) returns its bytes, given its sequence number.

        state, when given, is saved in the same transaction (what the sender must remember
        across a restart along with the message, such as the last safety state).
        """
        def work(db):
            seq = self._counter(db, 'seq') + 1
            self._bump(db, 'seq', 1)
            self._last_seq = seq
            data = payload(seq)
            self._bump(db, f'produced.{kind}', 1)
            if state:
                db.executemany('INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)',
                               list(state.items()))
            dropped = self._make_room(db, len(data), priority)
            if dropped is None:
                self._bump(db, f'dropped.{kind}', 1)
                return Added(None, seq, ())
            cursor = db.execute('INSERT INTO message (priority, kind, topic, payload, seq, '
                                'created) VALUES (?, ?, ?, ?, ?, ?)',
                                (priority, kind, topic, sqlite3.Binary(data), seq, self.clock()))
            self._bytes += len(data)
            return Added(cursor.lastrowid, seq, dropped)
        return self._guarded(work)

    def _make_room(self, db, size: int, priority: int) -> Optional[List[int]]:
        """Drop what must go for size more bytes; None when the new message itself must go."""
        if size > self.max_bytes:
            return None
        dropped = []
        while self._bytes + size > self.max_bytes:
            victim = db.execute('SELECT row, kind, LENGTH(payload) FROM message WHERE priority '
                                '<= ? ORDER BY priority, row LIMIT 1', (priority,)).fetchone()
            if victim is None:
                return None
            row, kind, length = victim
            db.execute('DELETE FROM message WHERE row = ?', (row,))
            self._bump(db, f'dropped.{kind}', 1)
            self._bytes -= length
            dropped.append(row)
        return dropped

    @property
    def last_seq(self) -> int:
        """Return the sequence number given last (a status, which is not stored, carries it)."""
        return self._last_seq

    def pending(self, limit: int, skip: Iterable[int] = ()) -> List[Entry]:
        """Return up to limit messages to send next (events first, oldest first), not skipped."""
        skip = set(skip)
        with self._lock:
            rows = self._read('SELECT row, priority, kind, topic, payload, seq, created FROM '
                              'message ORDER BY priority DESC, row LIMIT ?',
                              (limit + len(skip),))
        return [Entry(r[0], r[1], r[2], r[3], bytes(r[4]), r[5], r[6])
                for r in rows if r[0] not in skip][:limit]

    def acknowledge(self, rows: Iterable[int]) -> int:
        """Delete acknowledged messages (rows already gone are ignored); return how many went."""
        rows = list(rows)
        if not rows:
            return 0

        def work(db):
            gone = 0
            for row in rows:
                found = db.execute('SELECT kind, LENGTH(payload) FROM message WHERE row = ?',
                                   (row,)).fetchone()
                if found is None:
                    continue
                db.execute('DELETE FROM message WHERE row = ?', (row,))
                self._bump(db, f'sent.{found[0]}', 1)
                self._bytes -= found[1]
                gone += 1
            return gone
        return self._guarded(work)

    def vacuum(self) -> None:
        """Give free pages back to the file system and keep the write-ahead log short."""
        with self._lock:
            if self._db is None:
                return
            free = self._db.execute('PRAGMA freelist_count').fetchone()[0]
            if free > 256:
                self._db.execute('PRAGMA incremental_vacuum')
            self._db.execute('PRAGMA wal_checkpoint(TRUNCATE)')

    # --- state and figures --------------------------------------------------------------------

    def get_state(self, name: str) -> Optional[str]:
        """Return a value saved with add(state=...), or None."""
        with self._lock:
            rows = self._read('SELECT value FROM state WHERE name = ?', (name,))
        return rows[0][0] if rows else None

    def set_state(self, values: Dict[str, str]) -> None:
        """Save values that must survive a restart, without a message."""
        def work(db):
            db.executemany('INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)',
                           list(values.items()))
        self._guarded(work)

    def counters(self) -> Dict[str, int]:
        """Return every counter: seq, produced.<kind>, sent.<kind>, dropped.<kind>."""
        with self._lock:
            return dict(self._read('SELECT name, value FROM counter'))

    def stats(self) -> Dict[str, object]:
        """Return what is queued: count and bytes by kind, and the oldest message's time."""
        with self._lock:
            rows = self._read('SELECT kind, COUNT(*), SUM(LENGTH(payload)), MIN(created) FROM '
                              'message GROUP BY kind')
        oldest = min((r[3] for r in rows), default=None)
        return {'count': sum(r[1] for r in rows), 'bytes': self._bytes,
                'by_kind': {r[0]: r[1] for r in rows}, 'oldest': oldest}

    @property
    def held_bytes(self) -> int:
        """Return the payload bytes held."""
        return self._bytes

    def _read(self, sql: str, args=()) -> list:
        if self._db is None:
            raise OutboxError('the outbox is closed')
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as exc:
            self._close_db()
            self._set_aside(f'was found corrupt while in use ({exc})')
            self._open()
            return self._db.execute(sql, args).fetchall()

    @staticmethod
    def _counter(db, name: str) -> int:
        row = db.execute('SELECT value FROM counter WHERE name = ?', (name,)).fetchone()
        return row[0] if row else 0

    @staticmethod
    def _bump(db, name: str, by: int) -> None:
        db.execute('INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT(name) DO '
                   'UPDATE SET value = value + excluded.value', (name, by))

    def close(self) -> None:
        """Close the file and release the lock."""
        with self._lock:
            self._close_db()
            if self._lock_file is not None:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
                self._lock_file.close()
                self._lock_file = None
