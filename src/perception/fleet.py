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
The fleet's side: every robot's telemetry from the broker into SQLite, and a page to read it.

`perception fleet --broker HOST:PORT` subscribes to <prefix>/+/{status,summary,event,snapshot}
with QoS 1 on a persistent session and keeps what arrives in a database (FleetStore): a message
whose id it already has is a QoS 1 duplicate and is dropped (and counted); a payload that is not
a message of ours is counted and dropped. `perception fleet report` writes an HTML page from it
(write_report): each robot's status, its events with their snapshots, and plots of its
summaries over time; no scripts and nothing fetched from elsewhere, so it opens anywhere.
"""

import argparse
import base64
import binascii
from datetime import datetime
import html
import json
import os
import signal
import sqlite3
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple

from perception.core import telemetry as tm

#: The kinds the fleet takes (requests are the fleet's own, to robots).
TAKEN = ('status', 'summary', 'event', 'snapshot')

_TABLES = """
CREATE TABLE IF NOT EXISTS message (
    id TEXT PRIMARY KEY,
    robot TEXT NOT NULL,
    kind TEXT NOT NULL,
    seq INTEGER,
    epoch TEXT,
    time REAL,
    received REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS message_by_robot ON message (robot, kind, time);
CREATE TABLE IF NOT EXISTS status (
    robot TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    reason TEXT,
    time REAL,
    received REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (received REAL NOT NULL, topic TEXT, reason TEXT);
"""

#: Rejected payloads kept for the report, at most.
MAX_REJECTED = 1000


class FleetStore:
    """What the fleet received, deduplicated; thread-safe."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute('PRAGMA journal_mode = WAL')
        self._db.executescript(_TABLES)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def add(self, topic: str, payload: bytes, retained: bool = False,
            received: Optional[float] = None) -> str:
        """Store one MQTT message; return 'new', 'duplicate', 'replayed' or 'rejected'."""
        received = time.time() if received is None else received
        try:
            message = self._check(topic, payload)
        except tm.PayloadError as exc:
            with self._lock:
                self._db.execute('BEGIN IMMEDIATE')
                self._bump('rejected', 1)
                self._db.execute('INSERT INTO rejected VALUES (?, ?, ?)',
                                 (received, topic[:200], str(exc)[:200]))
                self._db.execute('DELETE FROM rejected WHERE rowid <= (SELECT MAX(rowid) FROM '
                                 'rejected) - ?', (MAX_REJECTED,))
                self._db.execute('COMMIT')
            return 'rejected'
        robot, kind = message['robot'], message['kind']
        with self._lock:
            self._db.execute('BEGIN IMMEDIATE')
            try:
                cursor = self._db.execute(
                    'INSERT OR IGNORE INTO message VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                    (message['id'], robot, kind, _int_or_none(message['seq']),
                     str(message['epoch']), _float_or_none(message['time']), received,
                     json.dumps(message['body'])))
                if cursor.rowcount == 0:
                    # A retained status delivered again on subscribing is not a QoS duplicate.
                    outcome = 'replayed' if retained else 'duplicate'
                    self._bump(f'{outcome}.{robot}', 1)
                else:
                    outcome = 'new'
                    if kind == 'status':
                        self._status(robot, message, received)
                self._db.execute('COMMIT')
            except BaseException:
                self._db.execute('ROLLBACK')
                raise
        return outcome

    @staticmethod
    def _check(topic: str, payload: bytes) -> dict:
        parts = topic.split('/')
        if len(parts) < 3 or parts[-1] not in TAKEN:
            raise tm.PayloadError(f'not a telemetry topic: {topic[:80]}')
        message = tm.decode(payload)
        if message['robot'] != parts[-2] or message['kind'] != parts[-1]:
            raise tm.PayloadError(f'robot {str(message["robot"])[:64]!r} and kind '
                                  f'{str(message["kind"])[:20]!r} do not match the topic')
        if tm.robot_id_problem(str(message['robot'])):
            raise tm.PayloadError('robot id is not a valid one')
        return message

    def _status(self, robot: str, message: dict, received: float) -> None:
        body = message['body']
        now_time = _float_or_none(message['time']) or received
        row = self._db.execute('SELECT time FROM status WHERE robot = ?', (robot,)).fetchone()
        if row is not None and row[0] is not None and row[0] > now_time:
            return  # an older status arriving late (a will after the robot came back)
        self._db.execute('INSERT OR REPLACE INTO status VALUES (?, ?, ?, ?, ?)',
                         (robot, str(body.get('state', '?'))[:20],
                          str(body.get('reason', ''))[:200], now_time, received))

    def _bump(self, name: str, by: int) -> None:
        self._db.execute('INSERT INTO counter VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET '
                         'value = value + excluded.value', (name, by))

    # --- reading -----------------------------------------------------------------------------

    def _rows(self, sql: str, args=()) -> list:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def robots(self) -> List[str]:
        """Return the robots heard from."""
        return [r[0] for r in self._rows('SELECT DISTINCT robot FROM message ORDER BY robot')]

    def status(self, robot: str) -> Optional[dict]:
        """Return a robot's newest status: state, reason, time."""
        rows = self._rows('SELECT state, reason, time, received FROM status WHERE robot = ?',
                          (robot,))
        if not rows:
            return None
        state, reason, when, received = rows[0]
        return {'state': state, 'reason': reason, 'time': when, 'received': received}

    def messages(self, robot: str, kind: str) -> List[dict]:
        """Return a robot's messages of one kind, in time order: seq, epoch, time, body."""
        rows = self._rows('SELECT id, seq, epoch, time, received, body FROM message WHERE '
                          'robot = ? AND kind = ? ORDER BY time, seq', (robot, kind))
        return [{'id': r[0], 'seq': r[1], 'epoch': r[2], 'time': r[3], 'received': r[4],
                 'body': json.loads(r[5])} for r in rows]

    def counter(self, name: str) -> int:
        """Return a counter: duplicate.<robot>, replayed.<robot>, rejected."""
        rows = self._rows('SELECT value FROM counter WHERE name = ?', (name,))
        return rows[0][0] if rows else 0

    def counts(self, robot: str) -> Dict[str, int]:
        """Return how many messages of each kind a robot's store holds."""
        return dict(self._rows('SELECT kind, COUNT(*) FROM message WHERE robot = ? GROUP BY '
                               'kind', (robot,)))

    def missing(self, robot: str) -> int:
        """Return sequence numbers missing between the first and last received, per epoch."""
        rows = self._rows('SELECT epoch, MIN(seq), MAX(seq), COUNT(DISTINCT seq) FROM message '
                          "WHERE robot = ? AND kind != 'status' GROUP BY epoch", (robot,))
        return sum(high - low + 1 - count for _epoch, low, high, count in rows
                   if low is not None)

    def rejected(self, limit: int = 20) -> List[Tuple[float, str, str]]:
        """Return the newest rejected payloads: time, topic, why."""
        return self._rows('SELECT received, topic, reason FROM rejected ORDER BY rowid DESC '
                          'LIMIT ?', (limit,))

    def figures(self, robot: str) -> dict:
        """Return the figures of what the fleet holds of a robot (the demo's index shows them)."""
        events = self.messages(robot, 'event')
        by_event: Dict[str, int] = {}
        for event in events:
            name = str(event['body'].get('event', '?'))
            by_event[name] = by_event.get(name, 0) + 1
        counts = self.counts(robot)
        return {'status': self.status(robot), 'summaries': counts.get('summary', 0),
                'events': len(events), 'by_event': by_event,
                'events_with_image': sum('image' in e['body'] for e in events),
                'snapshots': counts.get('snapshot', 0),
                'duplicates_dropped': self.counter(f'duplicate.{robot}'),
                'missing_seq': self.missing(robot)}


def _int_or_none(value) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float_or_none(value) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


# --- collecting -------------------------------------------------------------------------------

class FleetCollector:
    """Subscribes to every robot's telemetry and stores it; runs in paho's thread."""

    def __init__(self, store: FleetStore, link_config, prefix: str = 'perception'):
        from perception.mqtt_link import MqttLink
        self.store = store
        self.outcomes: Dict[str, int] = {}
        self.link = MqttLink(link_config, self._on_event, subscriptions=[
            (f'{prefix}/+/{kind}', 1) for kind in TAKEN])
        self._subscribed = threading.Event()

    def _on_event(self, event: tuple) -> None:
        if event[0] == 'message':
            outcome = self.store.add(event[1], event[2], retained=event[3])
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        elif event[0] == 'subscribed':
            self._subscribed.set()

    def start(self, timeout: float = 0.0) -> bool:
        """Connect; with a timeout, wait that long for the first connection and say if made."""
        self.link.start()
        return self._subscribed.wait(timeout) if timeout else False

    def stop(self) -> None:
        """Disconnect."""
        self.link.stop()


def link_config_from(args, client_id: str):
    """Return the connection settings of the `perception fleet` command line."""
    from perception.mqtt_link import LinkConfig
    host, _, port = args.broker.rpartition(':')
    if not host or not port.isdigit():
        raise ValueError(f'--broker must be HOST:PORT, not {args.broker!r}')
    return LinkConfig(host=host, port=int(port), client_id=client_id, username=args.username,
                      password_file=args.password_file, tls=bool(args.tls_ca or args.tls_cert),
                      ca=args.tls_ca, cert=args.tls_cert, key=args.tls_key,
                      clean_start=False, session_expiry_s=7 * 24 * 3600)


# --- the page ---------------------------------------------------------------------------------

STATE_COLOURS = {'CLEAR': '#3a9d4a', 'SLOW': '#e0b020', 'STOP': '#d0452f',
                 'STOP_LATCHED': '#7a1020', 'unknown': '#b0b0b0'}
PALETTE = ('#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
           '#7f7f7f', '#bcbd22', '#17becf')
PLOT_W, PLOT_H, MARGIN = 760, 170, 46

_CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.online { color: #2a7d3a; font-weight: bold; }
.offline { color: #b03020; font-weight: bold; }
section.robot { border-top: 2px solid #888; margin-top: 2em; }
figure { margin: 0.5em 0; }
figcaption { font-size: 90%; color: #555; }
.legend span { margin-right: 1em; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.3em; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _when(stamp: Optional[float]) -> str:
    if stamp is None:
        return '-'
    return datetime.fromtimestamp(stamp).strftime('%Y-%m-%d %H:%M:%S')


def _image(field: dict, alt: str) -> str:
    """Return an <img> of a message's image field, or a note when it cannot be shown."""
    if not isinstance(field, dict):
        return '<em>no image</em>'
    fmt = field.get('format')
    magic = {'jpeg': b'\xff\xd8\xff', 'png': b'\x89PNG'}
    try:
        data = base64.b64decode(str(field.get('data', '')), validate=True)
    except (binascii.Error, ValueError):
        data = b''
    if fmt not in magic or not data.startswith(magic[fmt]):
        return '<em>image unreadable</em>'
    size = ''
    if isinstance(field.get('width'), int) and isinstance(field.get('height'), int):
        size = f' width="{field["width"]}" height="{field["height"]}"'
    encoded = base64.b64encode(data).decode('ascii')
    return f'<img alt="{_e(alt)}"{size} src="data:image/{fmt};base64,{encoded}">'


def _axes(t0: float, t1: float, y_max: float, unit: str) -> List[str]:
    parts = [f'<line x1="{MARGIN}" y1="{PLOT_H - 20}" x2="{PLOT_W - 10}" y2="{PLOT_H - 20}" '
             'stroke="#444"/>',
             f'<line x1="{MARGIN}" y1="20" x2="{MARGIN}" y2="{PLOT_H - 20}" stroke="#444"/>']
    for k in range(5):
        value = y_max * k / 4
        y = _y(value, y_max)
        parts.append(f'<text x="{MARGIN - 4}" y="{y + 4:.1f}" font-size="10" '
                     f'text-anchor="end">{value:.3g}</text>')
    span = max(t1 - t0, 1e-9)
    for k in range(6):
        t = t0 + span * k / 5
        parts.append(f'<text x="{_x(t, t0, t1):.1f}" y="{PLOT_H - 6}" font-size="10" '
                     f'text-anchor="middle">{t - t0:.0f} s</text>')
    parts.append(f'<text x="{MARGIN + 6}" y="12" font-size="10">{_e(unit)}</text>')
    return parts


def _x(t: float, t0: float, t1: float) -> float:
    return MARGIN + (t - t0) / max(t1 - t0, 1e-9) * (PLOT_W - 10 - MARGIN)


def _y(value: float, y_max: float) -> float:
    return PLOT_H - 20 - value / max(y_max, 1e-9) * (PLOT_H - 40)


def _legend(names: Sequence[str], colours: Dict[str, str]) -> str:
    return '<div class="legend">' + ''.join(
        f'<span><i class="swatch" style="background:{colours[n]}"></i>{_e(n)}</span>'
        for n in names) + '</div>'


def line_plot(title: str, series: Dict[str, List[Tuple[float, float]]], unit: str,
              y_max: Optional[float] = None) -> str:
    """Return an SVG figure of lines over time (seconds since the first sample)."""
    points = [p for values in series.values() for p in values]
    if not points:
        return f'<figure><figcaption>{_e(title)}: no data</figcaption></figure>'
    t0 = min(p[0] for p in points)
    t1 = max(p[0] for p in points)
    top = y_max or max(max(p[1] for p in points), 1e-9) * 1.1
    colours = {name: PALETTE[k % len(PALETTE)] for k, name in enumerate(series)}
    parts = _axes(t0, t1, top, unit)
    for name, values in series.items():
        if values:
            coords = ' '.join(f'{_x(t, t0, t1):.1f},{_y(v, top):.1f}' for t, v in values)
            parts.append(f'<polyline fill="none" stroke="{colours[name]}" stroke-width="1.5" '
                         f'points="{coords}"><title>{_e(name)}</title></polyline>')
    return (f'<figure><svg xmlns="http://www.w3.org/2000/svg" width="{PLOT_W}" '
            f'height="{PLOT_H}" role="img" aria-label="{_e(title)}">{"".join(parts)}</svg>'
            f'<figcaption>{_e(title)}</figcaption>{_legend(list(series), colours)}</figure>')


def share_plot(title: str, times: List[float], shares: List[Dict[str, float]]) -> str:
    """Return an SVG figure of stacked shares over time (each summary's bar)."""
    if not times:
        return f'<figure><figcaption>{_e(title)}: no data</figcaption></figure>'
    t0, t1 = times[0], max(times[-1], times[0] + 1e-3)
    names = [n for n in STATE_COLOURS if any(n in s for s in shares)]
    names += sorted({n for s in shares for n in s} - set(names))
    colours = {n: STATE_COLOURS.get(n, PALETTE[k % len(PALETTE)]) for k, n in enumerate(names)}
    parts = _axes(t0, t1, 1.0, 'share')
    width = max(1.0, (PLOT_W - 10 - MARGIN) / max(len(times), 1))
    for t, share in zip(times, shares):
        base = 0.0
        for name in names:
            value = float(share.get(name, 0.0) or 0.0)
            if value <= 0:
                continue
            top, bottom = _y(base + value, 1.0), _y(base, 1.0)
            parts.append(f'<rect x="{_x(t, t0, t1) - width / 2:.1f}" y="{top:.1f}" '
                         f'width="{width:.1f}" height="{bottom - top:.1f}" '
                         f'fill="{colours[name]}"/>')
            base += value
    return (f'<figure><svg xmlns="http://www.w3.org/2000/svg" width="{PLOT_W}" '
            f'height="{PLOT_H}" role="img" aria-label="{_e(title)}">{"".join(parts)}</svg>'
            f'<figcaption>{_e(title)}</figcaption>{_legend(names, colours)}</figure>')


def _event_details(body: dict) -> str:
    skip = {'event', 'image', 'ros_time'}
    return ', '.join(f'{_e(k)}: {_e(v)}' for k, v in body.items() if k not in skip)


def _robot_section(store: FleetStore, robot: str) -> str:
    figures = store.figures(robot)
    status = figures['status'] or {'state': 'unknown', 'reason': '', 'time': None}
    summaries = store.messages(robot, 'summary')
    times = [m['time'] for m in summaries]
    out = [f'<section class="robot" id="robot-{_e(robot)}"><h2>Robot {_e(robot)}</h2>',
           f'<p>Status: <span class="{_e(status["state"])}">{_e(status["state"])}</span>'
           f'{" (" + _e(status["reason"]) + ")" if status["reason"] else ""} since '
           f'{_when(status["time"])}. Received: {figures["summaries"]} summaries, '
           f'{figures["events"]} events, {figures["snapshots"]} snapshots; '
           f'{figures["duplicates_dropped"]} duplicates dropped.</p>', '<h3>Summaries</h3>']
    out.append(share_plot('Safety state: share of each summary period', times,
                          [m['body'].get('safety', {}).get('shares', {}) for m in summaries]))
    classes = sorted({c for m in summaries
                      for c in m['body'].get('detections', {}).get('per_class', {})})
    out.append(line_plot('Detections per summary period, by class', {
        c: [(m['time'], m['body']['detections']['per_class'].get(c, 0)) for m in summaries]
        for c in classes}, 'detections'))
    out.append(line_plot('Local map: share of cells', {
        k: [(m['time'], m['body']['map'][k]) for m in summaries if 'map' in m['body']]
        for k in ('occupied', 'free', 'unknown')}, 'share', 1.0))
    processes = sorted({p for m in summaries for p in m['body'].get('processes', {})})
    out.append(line_plot("CPU of the stack's processes", {
        p: [(m['time'], m['body']['processes'][p]['cpu_percent']) for m in summaries
            if m['body'].get('processes', {}).get(p, {}).get('cpu_percent') is not None]
        for p in processes}, '% of one core'))
    out.append(line_plot('Telemetry outbox: messages waiting (outages show as a rise)', {
        'queued': [(m['time'], m['body'].get('telemetry', {}).get('queued', 0))
                   for m in summaries]}, 'messages'))
    events = store.messages(robot, 'event')
    out.append(f'<h3>Events ({len(events)})</h3>')
    if events:
        out.append('<table class="events"><tr><th>time</th><th>event</th><th>details</th>'
                   '<th>camera</th></tr>')
        for event in events:
            body = event['body']
            picture = _image(body['image'], f'camera at {body.get("event", "")}') \
                if 'image' in body else ''
            out.append(f'<tr class="event"><td>{_when(event["time"])}</td>'
                       f'<td>{_e(body.get("event", "?"))}</td><td>{_event_details(body)}</td>'
                       f'<td>{picture}</td></tr>')
        out.append('</table>')
    snapshots = store.messages(robot, 'snapshot')
    if snapshots:
        out.append(f'<h3>Snapshots on request ({len(snapshots)})</h3><table><tr><th>time</th>'
                   '<th>request</th><th>image</th></tr>')
        for snap in snapshots:
            body = snap['body']
            picture = _image(body['image'], f'{body.get("what")} snapshot') \
                if 'image' in body else _e(body.get('error', ''))
            out.append(f'<tr><td>{_when(snap["time"])}</td><td>{_e(body.get("what"))} '
                       f'({_e(body.get("request_id"))})</td><td>{picture}</td></tr>')
        out.append('</table>')
    out.append('</section>')
    return '\n'.join(out)


def render_report(store: FleetStore, title: str = 'Fleet view') -> str:
    """Return the fleet page as HTML."""
    robots = store.robots()
    rows = []
    for robot in robots:
        f = store.figures(robot)
        status = f['status'] or {'state': 'unknown', 'reason': '', 'time': None}
        rows.append(f'<tr class="robot-row"><td><a href="#robot-{_e(robot)}">{_e(robot)}</a>'
                    f'</td><td class="{_e(status["state"])}">{_e(status["state"])}</td>'
                    f'<td>{_e(status["reason"] or "")}</td><td>{_when(status["time"])}</td>'
                    f'<td>{f["summaries"]}</td><td>{f["events"]}</td><td>{f["snapshots"]}</td>'
                    f'<td>{f["duplicates_dropped"]}</td><td>{f["missing_seq"]}</td></tr>')
    rejected = store.rejected()
    parts = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
             f'<title>{_e(title)}</title><style>{_CSS}</style></head><body>',
             f'<h1>{_e(title)}</h1>',
             f'<p>{len(robots)} robots; from {_e(store.path)}, written {_when(time.time())}.</p>',
             '<table class="robots"><tr><th>robot</th><th>status</th><th>reason</th>'
             '<th>since</th><th>summaries</th><th>events</th><th>snapshots</th>'
             '<th>duplicates dropped</th><th>missing in sequence</th></tr>',
             *rows, '</table>']
    if rejected:
        parts.append(f'<p>{store.counter("rejected")} payloads rejected; newest:</p><ul>' +
                     ''.join(f'<li>{_when(r[0])} {_e(r[1])}: {_e(r[2])}</li>'
                             for r in rejected) + '</ul>')
    parts += [_robot_section(store, robot) for robot in robots]
    parts.append('</body></html>')
    return '\n'.join(parts) + '\n'


def write_report(store: FleetStore, path: str, title: str = 'Fleet view') -> str:
    """Write the fleet page; return its path."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as stream:
        stream.write(render_report(store, title))
    return path


# --- the command ------------------------------------------------------------------------------

def main(args: argparse.Namespace) -> int:
    """Run `perception fleet` (collect) or `perception fleet report`."""
    if args.action == 'report':
        if not os.path.isfile(args.db):
            print(f'perception fleet report: no database at {args.db}', file=sys.stderr)
            return 2
        store = FleetStore(args.db)
        path = write_report(store, args.out)
        print(f'{path}: {len(store.robots())} robots')
        return 0
    if not args.broker:
        print('perception fleet: --broker HOST:PORT is needed to collect', file=sys.stderr)
        return 2
    try:
        config = link_config_from(args, args.client_id)
    except ValueError as exc:
        print(f'perception fleet: {exc}', file=sys.stderr)
        return 2
    store = FleetStore(args.db)
    collector = FleetCollector(store, config, args.prefix)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    collector.start()
    print(f'collecting {args.prefix}/+/{{{",".join(TAKEN)}}} from {config.broker} into '
          f'{store.path}', flush=True)
    last_problem = None
    end = time.monotonic() + args.duration if args.duration else None
    while not done.wait(1.0):
        if collector.link.problem != last_problem:
            last_problem = collector.link.problem
            if last_problem:
                print(f'perception fleet: {last_problem}', file=sys.stderr, flush=True)
        if end is not None and time.monotonic() >= end:
            break
    collector.stop()
    print(f'received: {collector.outcomes}')
    store.close()
    return 0


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the MQTT login and TLS options (shared with `perception model offer`)."""
    parser.add_argument('--username', default='')
    parser.add_argument('--password-file', default='',
                        help='file holding the MQTT password (never on the command line)')
    parser.add_argument('--tls-ca', default='', help='CA file (PEM): connect over TLS')
    parser.add_argument('--tls-cert', default='', help='client certificate (PEM)')
    parser.add_argument('--tls-key', default='', help='client key (PEM)')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of `perception fleet` to its parser."""
    parser.add_argument('action', nargs='?', default='collect', choices=('collect', 'report'),
                        help='collect (default) from the broker, or write the report')
    parser.add_argument('--broker', default='', help='HOST:PORT of the MQTT broker')
    parser.add_argument('--db', default='fleet.db', help='SQLite database of what arrived')
    parser.add_argument('--out', default='fleet.html', help='report: the HTML page to write')
    parser.add_argument('--prefix', default='perception', help='topic prefix of the robots')
    parser.add_argument('--client-id', default='perception-fleet',
                        help='MQTT client id; its session keeps messages while away')
    add_connection_arguments(parser)
    parser.add_argument('--duration', type=float, default=0.0,
                        help='collect for this many seconds (default: until Ctrl-C)')
