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
The main job: run the stack in the simulated warehouse and write a report of what happened.

For each scenario, the `sim` stack (simulator and route driver, on simulated time) runs as
separate processes through the launcher; the simulator records the ground truth, and the report
(report.md, report.json, plan.png) is built from it, under <report dir>/<scenario name>/, where
the name is the one inside the scenario file, wherever the file is.

A run that fails at start (a node died before the robot moved) is run once more, and the
report and the index say so: one crash while starting does not cost a whole scenario.

Fleet telemetry: the demo starts a mosquitto of its own on a free loopback port for the whole
run and collects what the telemetry node of each scenario sends (robot id: the scenario's name)
into <report dir>/fleet.db; the index shows what the fleet received and fleet.html is the fleet
view (perception.fleet). Without mosquitto the scenarios run with telemetry off, and the index
says so.
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time
from typing import List, Optional, Tuple

import yaml

from perception import fleet, launcher
from perception.broker import Broker, BrokerError
from perception.config import config_path, package_share
from perception.mqtt_link import LinkConfig
from perception.sim.recorder import read_ground_truth
from perception.sim.report import write_report
from perception.sim.scenario import list_scenarios, load_scenario, Scenario, scenario_path
from perception.sim.scenario import ScenarioError

#: Scenario names that make a plain directory name under the report directory.
REPORT_NAME = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]*')
#: What a run writes besides its ground truth and parameters.
REPORT_FILES = ('report.md', 'report.json', 'plan.png', 'ground_truth_attempt1.jsonl',
                'telemetry_outbox.db', 'telemetry_outbox.db-wal', 'telemetry_outbox.db-shm')
#: Faster than this (m/s), the robot has moved: the stack got going.
MOVED_MPS = 0.01


def load_scenarios(choice: str) -> List[Scenario]:
    """Load 'all' the shipped scenarios, one by name, or one from a path; ScenarioError if bad."""
    directory = config_path('scenarios')
    names = list_scenarios(directory) if choice == 'all' else [choice]
    scenarios = [load_scenario(os.path.abspath(scenario_path(n, directory))) for n in names]
    for scenario in scenarios:
        if not REPORT_NAME.fullmatch(scenario.name):
            raise ScenarioError(f'{scenario.source}: name {scenario.name!r} cannot name a report '
                                'directory; use letters, digits, _, - and . (not first)')
    return scenarios


def failed_at_start(status: int, records: Optional[List[dict]]) -> bool:
    """
    Tell whether a run ended before the simulation got going, so running it again loses nothing.

    That is: the launcher ended it because a node died or could not start, and the ground
    truth is missing, or shows the robot never moved, never got a command and touched nothing.
    """
    if status == launcher.EXIT_OK:
        return False
    records = records or []
    if any(r.get('type') in ('summary', 'collision') for r in records):
        return False
    return not any(r.get('type') == 'step' and (
        abs(r['robot']['v']) > MOVED_MPS or any(r['command'])) for r in records)


def _read_truth(path: str) -> List[dict]:
    """Ground truth as far as it was written; empty when none is usable."""
    if not os.path.exists(path):
        return []
    try:
        records = read_ground_truth(path, cut_short_ok=True)
    except ValueError:
        return []
    return records if any(r.get('type') == 'scenario' for r in records) else []


def _attempt(specs, scenario: Scenario, truth: str) -> Tuple[int, str, List[dict]]:
    """Run the stack once; return the launcher's status, why it stopped, and the ground truth."""
    if os.path.exists(truth):
        os.remove(truth)
    supervisor = launcher.Supervisor(specs)
    # The simulator ends the stack when the scenario is over; the limit only guards a hang.
    status = supervisor.run(duration=scenario.duration_s * 3 + 60)
    return status, supervisor.stop_reason, _read_truth(truth)


class FleetRun:
    """The demo's broker and fleet collector, for the whole run; None parts when unavailable."""

    def __init__(self, report_dir: str):
        self.problem = ''
        self.broker: Optional[Broker] = None
        self.collector: Optional[fleet.FleetCollector] = None
        self.db = os.path.join(report_dir, 'fleet.db')
        self.page = os.path.join(report_dir, 'fleet.html')
        self._folder = tempfile.mkdtemp(prefix='perception-demo-broker-')
        for stale in (self.db, self.db + '-wal', self.db + '-shm', self.page):
            if os.path.exists(stale):
                os.remove(stale)
        try:
            self.broker = Broker(self._folder, persistence=False).start()
        except BrokerError as exc:
            self.problem = str(exc)
            return
        self.store = fleet.FleetStore(self.db)
        self.collector = fleet.FleetCollector(self.store, LinkConfig(
            '127.0.0.1', self.broker.port, 'perception-demo-fleet', clean_start=False,
            session_expiry_s=3600))
        if not self.collector.start(timeout=30):
            self.problem = f'the fleet view could not subscribe: {self.collector.link.problem}'

    @property
    def running(self) -> bool:
        """Tell whether telemetry has a broker to go to."""
        return self.broker is not None

    def params(self, name: str, directory: str) -> dict:
        """Return the telemetry node's parameters for a scenario."""
        if not self.running:
            return {'enabled': False}
        return {'enabled': True, 'robot_id': name, 'broker_host': '127.0.0.1',
                'broker_port': self.broker.port, 'outbox_sync': 'normal',
                'outbox_path': os.path.join(directory, 'telemetry_outbox.db')}

    def wait_offline(self, name: str, since: float, timeout: float = 15.0) -> None:
        """Wait until the fleet heard the robot of a scenario go offline (its last words)."""
        end = time.monotonic() + timeout
        while self.running and time.monotonic() < end:
            status = self.store.status(name)
            if status and status['state'] == 'offline' and status['received'] >= since:
                return
            time.sleep(0.2)

    def close(self) -> None:
        """Write the fleet view, stop collecting and stop the broker."""
        if self.collector is not None:
            self.collector.stop()
            fleet.write_report(self.store, self.page, 'Fleet view of the demo')
            self.store.close()
        if self.broker is not None:
            self.broker.stop()
        shutil.rmtree(self._folder, ignore_errors=True)


def load_extra_params(path: str) -> dict:
    """Read a params file of node parameters to add to the demo's; ValueError if unusable."""
    try:
        with open(path, encoding='utf-8') as stream:
            data = yaml.safe_load(stream)
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f'cannot read params file {path}: {exc}') from None
    if not isinstance(data, dict) or not all(
            isinstance(v, dict) and isinstance(v.get('ros__parameters'), dict)
            for v in data.values()):
        raise ValueError(f'{path}: expected node keys with ros__parameters mappings')
    return data


def merge_params(extra: Optional[dict], own: dict) -> dict:
    """Return params file content: extra's parameters, with the demo's own taking precedence."""
    merged = {key: {'ros__parameters': dict(value['ros__parameters'])}
              for key, value in (extra or {}).items()}
    for key, value in own.items():
        merged.setdefault(key, {'ros__parameters': {}})['ros__parameters'].update(
            value['ros__parameters'])
    return merged


def run_scenario(scenario: Scenario, report_dir: str, realtime: bool,
                 fleet_run: Optional[FleetRun] = None,
                 extra_params: Optional[dict] = None) -> dict:
    """
    Run one scenario through the launcher; return its report figures.

    A run that fails at start (failed_at_start) is run once more; the report and the figures
    say so (attempts, retry). With fleet_run, its telemetry goes to the demo's broker.
    """
    name = scenario.name
    directory = os.path.abspath(os.path.join(report_dir, name))
    os.makedirs(directory, exist_ok=True)
    for stale in REPORT_FILES:  # a report of an earlier run must not pass for this one's
        if os.path.exists(os.path.join(directory, stale)):
            os.remove(os.path.join(directory, stale))
    truth = os.path.join(directory, 'ground_truth.jsonl')
    params = os.path.join(directory, 'params.yaml')
    with open(params, 'w', encoding='utf-8') as stream:
        # The nodes load the file the demo loaded, by its absolute path.
        yaml.safe_dump(merge_params(extra_params, {
            '/**/simulator': {'ros__parameters': {
                'scenario': scenario.source, 'ground_truth_file': truth, 'realtime': realtime}},
            '/**/route_driver': {'ros__parameters': {'scenario': scenario.source}},
            '/**/telemetry': {'ros__parameters': fleet_run.params(name, directory)
                              if fleet_run else {'enabled': False}},
        }), stream)
    specs = launcher.stack_processes('sim', package_share(), params_file=params,
                                     use_sim_time=True)
    print(f'== {name}: {scenario.description} ({scenario.duration_s:g} s simulated)',
          flush=True)
    retry = ''
    started = time.time()
    status, reason, records = _attempt(specs, scenario, truth)
    if failed_at_start(status, records):
        retry = (f'attempt 1 failed at start ({reason}; launcher exit status {status}) before '
                 'the robot moved; the scenario was run again')
        print(f'== {name}: {retry}', flush=True)
        if os.path.exists(truth):  # kept for whoever looks into the failure
            os.replace(truth, os.path.join(directory, 'ground_truth_attempt1.jsonl'))
        status, reason, records = _attempt(specs, scenario, truth)
    if fleet_run is not None:
        fleet_run.wait_offline(name, started)
    extra = {'launcher_exit_status': status, 'attempts': 2 if retry else 1}
    if retry:
        extra['retry'] = retry
    if status != launcher.EXIT_OK:
        extra['launcher_stop_reason'] = reason
    if not records:
        result = {'scenario': name, **extra, 'error': 'the simulator wrote no ground truth'}
        lines = [f'# Simulated run: {name}', ''] + [f'- {k}: {v}' for k, v in result.items()
                                                    if k != 'scenario']
        with open(os.path.join(directory, 'report.json'), 'w', encoding='utf-8') as stream:
            json.dump(result, stream, indent=2)
        with open(os.path.join(directory, 'report.md'), 'w', encoding='utf-8') as stream:
            stream.write('\n'.join(lines) + '\n')
        return result
    figures = write_report(records, directory, extra)
    print(open(os.path.join(directory, 'report.md'), encoding='utf-8').read(), flush=True)
    return figures


def _attempts_cell(result: dict) -> str:
    if result['attempts'] == 1:
        return '1'
    return f'{result["attempts"]} (retried: {result["retry"]})'


def fleet_index(fleet_run: FleetRun, names: List[str]) -> List[str]:
    """Return the index's section on what the fleet received from each scenario's robot."""
    lines = ['', '## Fleet view', '']
    if not fleet_run.running:
        return lines + [f'No fleet view: {fleet_run.problem}; telemetry was off.']
    store = fleet.FleetStore(fleet_run.db)
    lines += ["What the demo's fleet collector received over MQTT from the telemetry node of "
              'each run (robot id: the scenario); the page is [fleet.html](fleet.html).'
              + (f' Note: {fleet_run.problem}.' if fleet_run.problem else ''), '',
              '| robot | status at the end | summaries | events | stops with a camera frame '
              '| duplicates dropped | missing in sequence |', '|' + ' --- |' * 7]
    for name in names:
        f = store.figures(name)
        status = f['status'] or {'state': 'never heard', 'reason': ''}
        events = ', '.join(f'{k} {v}' for k, v in sorted(f['by_event'].items())) or 'none'
        lines.append(f'| {name} | {status["state"]}'
                     + (f' ({status["reason"]})' if status['reason'] else '')
                     + f' | {f["summaries"]} | {f["events"]}: {events} | '
                     f'{f["events_with_image"]} | {f["duplicates_dropped"]} | '
                     f'{f["missing_seq"]} |')
    store.close()
    return lines


def main(args) -> int:
    """Run the chosen scenarios; write args.report_dir; return non-zero if a run failed."""
    try:
        scenarios = load_scenarios(args.scenario)
        extra = load_extra_params(args.params) if getattr(args, 'params', '') else None
    except (ScenarioError, ValueError) as exc:
        print(f'perception demo: {exc}', file=sys.stderr)
        return 2
    os.makedirs(args.report_dir, exist_ok=True)
    fleet_run = FleetRun(args.report_dir)
    if fleet_run.problem:
        print(f'perception demo: fleet view: {fleet_run.problem}', file=sys.stderr)
    try:
        results = [run_scenario(s, args.report_dir, not args.fast, fleet_run, extra)
                   for s in scenarios]
    finally:
        fleet_run.close()
    index = ['# perception demo', '', '| scenario | stops | at the end | collisions | closest '
             'approach | real-time factor | attempts | report |', '|' + ' --- |' * 8]
    for r in results:
        link = f'[report]({r["scenario"]}/report.md)'
        if 'error' in r:
            index.append(f'| {r["scenario"]} | | | | | | {_attempts_cell(r)} | {r["error"]}: '
                         f'{link} |')
            continue
        clearance = ', '.join(f'{k} {v:.2f} m' for k, v in r['min_clearance_m'].items()) or '-'
        final = r['stopped_at_end']
        end = 'moving' if final is None else (
            f'stopped {final["held_s"]:.1f} s' + (f', {final["clearance_m"]:.2f} m from '
                                                  f'{final["nearest"]}' if final['nearest']
                                                  else ''))
        index.append(f'| {r["scenario"]} | {len(r["stops"])} | {end} | {len(r["collisions"])} '
                     f'| {clearance} | {r["realtime_factor"]} | {_attempts_cell(r)} | {link} |')
    index += fleet_index(fleet_run, [r['scenario'] for r in results])
    path = os.path.join(args.report_dir, 'index.md')
    with open(path, 'w', encoding='utf-8') as stream:
        stream.write('\n'.join(index) + '\n')
    print('\n'.join(index))
    print(f'\nreports written under {os.path.abspath(args.report_dir)} (index.md)')
    for r in results:
        if 'retry' in r:
            print(f'retried: {r["scenario"]}: {r["retry"]}', file=sys.stderr)
    failed = [r['scenario'] for r in results
              if 'error' in r or r['launcher_exit_status'] != launcher.EXIT_OK]
    if failed:
        print(f'failed: {", ".join(failed)}', file=sys.stderr)
    return 1 if failed else 0
