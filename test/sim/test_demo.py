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

"""The demo's own behaviour: scenario files from anywhere, clear errors, a retry after a crash."""

import argparse
import json
import os
import re
import signal
import subprocess
import threading

import pytest
import yaml

from perception import demo
from perception.launcher import EXIT_OK, EXIT_REQUIRED_DIED, stack_environment
from perception.sim.recorder import read_ground_truth
from support import perception_command

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def short_scenario(tmp_path, name='short_aisle', duration=3.0):
    """Write aisle_clear, renamed and shortened, to a file outside config/scenarios."""
    with open(os.path.join(ROOT, 'config', 'scenarios', 'aisle_clear.yaml'),
              encoding='utf-8') as stream:
        data = yaml.safe_load(stream)
    data.update(name=name, duration_s=duration)
    path = tmp_path / 'elsewhere' / 'my_scenario.yaml'
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def demo_args(scenario, report_dir):
    return argparse.Namespace(scenario=str(scenario), fast=True, report_dir=str(report_dir))


@pytest.mark.sim
@pytest.mark.slow
def test_a_scenario_file_from_any_path_reports_under_its_name(tmp_path):
    scenario = short_scenario(tmp_path)
    reports = tmp_path / 'reports'
    result = subprocess.run(
        perception_command('demo', '--scenario', str(scenario), '--fast',
                           '--report-dir', str(reports)),
        env=stack_environment(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(os.listdir(reports)) == ['fleet.db', 'fleet.html', 'index.md', 'short_aisle']
    report = json.loads((reports / 'short_aisle' / 'report.json').read_text())
    # The nodes ran this file, not the shipped aisle_clear: its name and its 3 s.
    assert report['scenario'] == 'short_aisle'
    assert report['sim_time_s'] == pytest.approx(3.0, abs=0.15)
    assert report['distance_travelled_m'] > 0.5 and report['collisions'] == []
    index = (reports / 'index.md').read_text()
    assert '[report](short_aisle/report.md)' in index
    # The run's telemetry reached the demo's broker: the fleet saw the robot and its end.
    fleet_row = index.split('## Fleet view')[1].split('| short_aisle |')[1].split('\n')[0]
    status, summaries = [cell.strip() for cell in fleet_row.split('|')[:2]]
    assert status == 'offline (stopped)' and int(summaries) >= 1
    assert 'Robot short_aisle' in (reports / 'fleet.html').read_text()


def test_a_missing_or_broken_scenario_file_is_a_clear_error(tmp_path, capsys):
    assert demo.main(demo_args(tmp_path / 'none.yaml', tmp_path / 'reports')) == 2
    assert 'cannot read scenario' in capsys.readouterr().err
    broken = tmp_path / 'broken.yaml'
    broken.write_text('name: x\nduration_s: 3\n')
    assert demo.main(demo_args(broken, tmp_path / 'reports')) == 2
    assert 'missing field layout' in capsys.readouterr().err
    assert not (tmp_path / 'reports').exists()  # nothing ran, nothing written


@pytest.mark.parametrize('name', ['../escape', 'a/b', '.hidden', ''])
def test_a_name_that_is_no_directory_name_is_refused(tmp_path, capsys, name):
    scenario = short_scenario(tmp_path, name=name)
    assert demo.main(demo_args(scenario, tmp_path / 'reports')) == 2
    assert 'cannot name a report directory' in capsys.readouterr().err
    assert not (tmp_path / 'reports').exists()


def step(v=0.0, command=(0.0, 0.0), t=0.1):
    return {'type': 'step', 't': t, 'robot': {'x': 0.0, 'y': 0.0, 'yaw': 0.0, 'v': v, 'w': 0.0},
            'command': list(command), 'objects': {}, 'collisions': 0}


SCENARIO_RECORD = {'type': 'scenario', 'name': 's'}


@pytest.mark.parametrize('status,records,at_start', [
    (EXIT_OK, [], False),  # a run that ended well is never retried
    (EXIT_REQUIRED_DIED, [], True),  # no ground truth: the simulator never got going
    (EXIT_REQUIRED_DIED, [SCENARIO_RECORD, step(), step(t=0.2)], True),  # standing still
    (EXIT_REQUIRED_DIED, [SCENARIO_RECORD, step(), step(v=0.3)], False),  # it drove
    (EXIT_REQUIRED_DIED, [SCENARIO_RECORD, step(command=(0.5, 0.0))], False),  # commanded
    (EXIT_REQUIRED_DIED, [SCENARIO_RECORD, step(), {'type': 'collision', 't': 0.1}], False),
    (EXIT_REQUIRED_DIED, [SCENARIO_RECORD, step(), {'type': 'summary'}], False),  # it ended
])
def test_only_a_run_that_never_got_going_counts_as_failed_at_start(status, records, at_start):
    assert demo.failed_at_start(status, records) is at_start


def test_ground_truth_cut_short_by_a_crash_reads_up_to_the_cut(tmp_path):
    path = tmp_path / 'gt.jsonl'
    path.write_text(json.dumps(SCENARIO_RECORD) + '\n' + json.dumps(step()) + '\n{"type": "st')
    with pytest.raises(ValueError):
        read_ground_truth(str(path))
    assert [r['type'] for r in read_ground_truth(str(path), cut_short_ok=True)] == [
        'scenario', 'step']
    path.write_text('{"type": "st\n' + json.dumps(step()) + '\n')
    with pytest.raises(ValueError):  # only the last line may be cut short
        read_ground_truth(str(path), cut_short_ok=True)


def run_demo_crashing_the_simulator(scenario, reports, crashes):
    """Run the demo; the first `crashes` simulators it starts die of SIGSEGV at once."""
    process = subprocess.Popen(
        perception_command('demo', '--scenario', str(scenario), '--fast',
                           '--report-dir', str(reports)),
        env=stack_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(280, process.kill)
    watchdog.start()
    output, killed = [], []
    try:
        for line in process.stdout:
            output.append(line)
            started = re.search(r'\[launch\] started simulator \(pid (\d+)\)', line)
            if started and len(killed) < crashes:
                # Still importing its libraries: the node dies during start-up, as it did in
                # the crash this retry is for.
                os.kill(int(started.group(1)), signal.SIGSEGV)
                killed.append(int(started.group(1)))
        code = process.wait()
    finally:
        watchdog.cancel()
        process.kill()
    assert len(killed) == crashes
    return code, ''.join(output)


@pytest.mark.sim
@pytest.mark.slow
def test_a_run_that_crashes_at_start_is_run_once_more_and_says_so(tmp_path):
    reports = tmp_path / 'reports'
    code, output = run_demo_crashing_the_simulator(short_scenario(tmp_path), reports, 1)
    assert code == 0, output
    report = json.loads((reports / 'short_aisle' / 'report.json').read_text())
    assert report['attempts'] == 2 and report['launcher_exit_status'] == EXIT_OK
    assert 'required node simulator exited with code -11' in report['retry']
    # The second attempt ran the whole scenario.
    assert report['sim_time_s'] == pytest.approx(3.0, abs=0.15)
    assert report['distance_travelled_m'] > 0.5
    assert f'- retry: {report["retry"]}' in (reports / 'short_aisle' / 'report.md').read_text()
    row = next(line for line in (reports / 'index.md').read_text().splitlines()
               if line.startswith('| short_aisle |'))
    assert f'| 2 (retried: {report["retry"]}) |' in row
    assert 'retried: short_aisle' in output


@pytest.mark.sim
@pytest.mark.slow
def test_a_run_that_crashes_at_start_twice_is_a_failure_not_a_third_try(tmp_path):
    reports = tmp_path / 'reports'
    code, output = run_demo_crashing_the_simulator(short_scenario(tmp_path), reports, 2)
    assert code == 1, output
    assert output.count('[launch] started simulator') == 2  # retried once, not more
    report = json.loads((reports / 'short_aisle' / 'report.json').read_text())
    assert report['attempts'] == 2 and report['launcher_exit_status'] == EXIT_REQUIRED_DIED
    assert report['error'] == 'the simulator wrote no ground truth'
    assert 'exited with code -11' in report['retry']
    assert 'exited with code -11' in report['launcher_stop_reason']
    assert '- attempts: 2' in (reports / 'short_aisle' / 'report.md').read_text()
    assert not (reports / 'short_aisle' / 'plan.png').exists()
    assert '| 2 (retried: ' in (reports / 'index.md').read_text()
    assert 'failed: short_aisle' in output
