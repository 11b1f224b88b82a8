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

"""Campaigns: the same seed gives the same outcome, locally and on Ray; faults are no passes."""

from concurrent.futures import ThreadPoolExecutor
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from perception.campaign import runner
from perception.campaign.runner import LocalExecutor, Options, RayExecutor, same_results
from perception.sim.outcome import same_outcome
from support import perception_command, wait_until

pytestmark = [pytest.mark.sim]

FAMILY = os.path.join(os.path.dirname(__file__), 'families', 'short_crossing.yaml')
#: Domains of the runs: a range of their own, so parallel test runs elsewhere are not heard.
OPTIONS = Options(domains=runner.default_domains())


def cli(*args):
    return subprocess.run(perception_command('campaign', *args), capture_output=True,
                          text=True, timeout=120)


def test_bad_input_is_a_clear_error_with_exit_status_2(tmp_path):
    impossible = tmp_path / 'impossible.yaml'
    impossible.write_text(open(FAMILY).read() + 'constraints:\n  - walk_speed > 2\n')
    for args, message in (
            ((str(impossible), '--runs', '2'), 'no valid draw for seed 0 in 50 tries; the last '
             "was refused: constraint 'walk_speed > 2' does not hold"),
            (('no_such_family', '--runs', '2'), 'cannot read family'),
            ((FAMILY, '--runs', '0'), '--runs must be at least 1'),
            ((FAMILY, '--domains', '300-400'), 'domains must lie within 0-232'),
            ((FAMILY, '--camera-scale', '3'), '--camera-scale must be within')):
        done = cli(*args, '--out', str(tmp_path / 'out'))
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
        assert 'Traceback' not in done.stderr


def test_a_ray_cluster_that_cannot_be_reached_is_a_clear_error_at_start(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    start = time.monotonic()
    done = cli(FAMILY, '--runs', '2', '--ray', f'127.0.0.1:{port}', '--out', str(tmp_path))
    assert done.returncode == 2
    assert f'cannot reach the Ray cluster at 127.0.0.1:{port}' in done.stderr
    assert time.monotonic() - start < 60  # refused at start, not after a run
    assert not (tmp_path / 'results.jsonl').exists()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_same_seed_run_twice_at_once_gives_the_same_outcome():
    _, specs = runner.campaign_specs(FAMILY, 1, 5)
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda s: runner.execute_run(s, runner.asdict(OPTIONS)), specs * 2)
    assert a['status'] == b['status'] == runner.OK, (a.get('retries'), b.get('retries'))
    assert a['domain'] != b['domain']  # they ran side by side, unheard by each other
    assert a['values'] == b['values']
    assert same_outcome(a['outcome'], b['outcome']) == []
    # The run did what the family says: the robot stopped for the person, clear of them.
    outcome = a['outcome']
    assert not outcome['collision'] and outcome['false_stops'] == 0
    assert outcome['stops'] and outcome['stops'][0]['nearest'] == 'worker'
    assert outcome['lockstep_misses'] == 0


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_a_tiny_campaign_gives_identical_results_locally_and_on_ray(tmp_path):
    ray = pytest.importorskip('ray')
    local = runner.run_campaign(FAMILY, 3, 20, str(tmp_path / 'local'), LocalExecutor(2),
                                OPTIONS, progress=lambda _line: None)
    assert local['completed'] == 3 and local['rates']['infrastructure_failure']['count'] == 0
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = runner.run_campaign(FAMILY, 3, 20, str(tmp_path / 'ray'), RayExecutor(),
                                     OPTIONS, progress=lambda _line: None)
    finally:
        ray.shutdown()
    assert on_ray['where'].startswith('Ray')
    a = runner.load_results(str(tmp_path / 'local'))
    b = runner.load_results(str(tmp_path / 'ray'))
    assert [r['seed'] for r in a] == [20, 21, 22]
    assert same_results(a, b) == []
    # The report is there, with the rates and their intervals.
    for out in ('local', 'ray'):
        html = (tmp_path / out / 'report.html').read_text()
        assert 'Rates with 95% Wilson intervals' in html and '<svg' in html
    assert local['rates']['collision']['ci95'][1] < 1.0


def _kill_worker_when_running(seed, kills, stop):
    """SIGKILL a run's worker (its `perception launch`) once its simulator runs, `kills` times."""
    killed = []
    while len(killed) < kills and not stop.is_set():
        for pid in (int(p) for p in os.listdir('/proc') if p.isdigit()):
            try:
                argv = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\0')
            except OSError:
                continue
            text = b' '.join(argv).decode(errors='replace')
            if f'perception-run-{seed}-' in text and 'perception.cli launch' in text and \
                    pid not in killed and _has_simulator(pid):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        time.sleep(0.2)
    return killed


def _has_simulator(session):
    return any('simulator_node' in open(f'/proc/{p}/cmdline', 'rb').read().decode(
        errors='replace') for p in runner.session_processes(session))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_worker_that_dies_is_retried_once_then_an_infrastructure_failure():
    _, specs = runner.campaign_specs(FAMILY, 1, 31)
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        killer = pool.submit(_kill_worker_when_running, 31, 2, stop)
        result = runner.execute_run(specs[0], runner.asdict(OPTIONS))
        stop.set()
        killed = killer.result()
    assert len(killed) == 2
    assert result['status'] == runner.INFRASTRUCTURE and result['outcome'] is None
    assert result['attempts'] == 2
    assert all('exited with status -9' in r for r in result['retries'])
    # Nothing of either attempt outlives it.
    assert wait_until(lambda: not any(runner.session_processes(pid) for pid in killed), 10)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_run_that_does_not_end_is_stopped_and_never_a_pass():
    _, specs = runner.campaign_specs(FAMILY, 1, 40)
    spec = dict(specs[0], duration_s=600.0,
                scenario_yaml=specs[0]['scenario_yaml'].replace('duration_s: 9.0',
                                                                'duration_s: 600.0'))
    options = Options(domains=OPTIONS.domains, start_timeout_s=25.0, min_realtime_factor=100.0)
    result = runner.execute_run(spec, runner.asdict(options))
    assert result['status'] == runner.INFRASTRUCTURE and result['attempts'] == 2
    assert all('of wall time (a hang)' in r for r in result['retries']), result['retries']
