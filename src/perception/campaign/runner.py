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
Scenario campaigns: many runs of a scenario family, locally or on a Ray cluster.

Every run is the whole `sim` stack, each node a process of its own, started by `perception
launch` (the run's worker process) in a DDS domain of its own and a session of its own. The
simulator runs as fast as the CPU allows, in lockstep with the stack (see simulator_node), with
the campaign's camera (`camera_scale` of the robot description's resolution) and without
ground-truth boxes. Runs are drawn before any starts, so an impossible family is refused at
once; each run's outcome comes from its ground truth (perception.sim.outcome).

execute_run() is the whole of one run, wherever it executes: a thread of this process with
LocalExecutor, a Ray task with RayExecutor. It returns plain data: the draw, the outcome, what
it cost, and for a failure its ground truth, report and plan picture, so nothing of a run has
to be on the caller's disk. A worker that dies, a stack that does not come up and a run past
its wall-time limit are run once more, then recorded as an infrastructure failure, never as a
pass.
"""

import base64
from concurrent.futures import as_completed, ThreadPoolExecutor
import contextlib
from dataclasses import asdict, dataclass
import fcntl
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import yaml

from perception import launcher, stack
from perception.config import config_path, load_defaults
from perception.sim import outcome as outcomes
from perception.sim.family import draw_scenario, family_path, FamilyError, load_family
from perception.sim.family import write_scenario

#: DDS domains the runs may use, unless PERCEPTION_CAMPAIGN_DOMAINS or --domains say others.
DEFAULT_DOMAINS = (150, 200)
DOMAINS_VARIABLE = 'PERCEPTION_CAMPAIGN_DOMAINS'
#: Lock files, one per domain, shared by every campaign on a machine.
LOCK_DIR = os.path.join(tempfile.gettempdir(), 'perception-campaign-domains')
#: Status of a run.
OK, INFRASTRUCTURE = 'ok', 'infrastructure_failure'
#: Log lines of a failed attempt kept in its result.
LOG_TAIL = 60
#: Wall seconds a worker may take to stop its stack after its limit.
SHUTDOWN_GRACE_S = 30.0


class CampaignError(ValueError):
    """A campaign that cannot start: a bad family, option or cluster address."""


@dataclass(frozen=True)
class Options:
    """How each run executes."""

    camera_scale: float = 0.5
    domains: Tuple[int, int] = DEFAULT_DOMAINS
    start_timeout_s: float = 120.0
    #: Wall-time limit of an attempt: start_timeout_s + duration / min_realtime_factor.
    min_realtime_factor: float = 0.05
    keep_ground_truth: bool = False  # of passing runs too
    attempts: int = 2
    #: Lockstep: simulated time at most this far ahead of the gate's decisions and of a frame
    #: without its detections; the gate says where it is this often.
    lockstep_lag_s: float = 0.02
    state_period_s: float = 0.02
    #: /clock (and the simulator's step): as often as odom, the fastest sensor. Every node
    #: takes every /clock message in Python; at 100 Hz that was a third of their wake-ups.
    clock_rate_hz: float = 50.0
    #: The nodes' executor (PERCEPTION_EXECUTOR): lean takes a message for well under half
    #: the CPU time rclpy's SingleThreadedExecutor takes (perception.lean_executor).
    executor: str = 'lean'


def parse_domains(text: str) -> Tuple[int, int]:
    """Parse 'LOW-HIGH' (DDS domain IDs, inclusive); ValueError says why not."""
    try:
        low, high = (int(v) for v in text.split('-'))
    except ValueError:
        raise ValueError(f'domains must be LOW-HIGH, such as 150-200, got {text!r}') from None
    if not 0 <= low <= high <= 232:
        raise ValueError(f'domains must lie within 0-232 (Fast DDS ports), low first, got '
                         f'{text!r}')
    return low, high


def default_domains() -> Tuple[int, int]:
    """Return the domain range of PERCEPTION_CAMPAIGN_DOMAINS, else DEFAULT_DOMAINS."""
    text = os.environ.get(DOMAINS_VARIABLE, '')
    return parse_domains(text) if text else DEFAULT_DOMAINS


@contextlib.contextmanager
def domain_lease(domains: Tuple[int, int], wait_s: float = 600.0) -> Iterator[int]:
    """
    Hold a DDS domain no other run on this machine holds; yield its ID.

    A lock file per domain (flock): it is released when its holder ends, however it ends.
    """
    os.makedirs(LOCK_DIR, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        for domain in range(domains[0], domains[1] + 1):
            stream = open(os.path.join(LOCK_DIR, f'{domain}.lock'), 'w')
            try:
                fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                stream.close()
                continue
            try:
                yield domain
            finally:
                fcntl.flock(stream, fcntl.LOCK_UN)
                stream.close()
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f'no free DDS domain in {domains[0]}-{domains[1]} after '
                               f'{wait_s:g} s')
        time.sleep(0.5)


def session_processes(session: int) -> List[int]:
    """Return the processes of a session (a run's worker and its nodes)."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == session:
                    found.append(int(entry))
            except OSError:  # gone already
                pass
    return found


def end_session(session: int) -> None:
    """SIGKILL what is left of a run's session: nothing of it outlives its domain lease."""
    for _ in range(50):
        pids = session_processes(session)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def scaled_robot(scale: float) -> dict:
    """Return the robot description with its camera at `scale` of the resolution (even)."""
    with open(config_path('robot.yaml'), encoding='utf-8') as stream:
        robot = yaml.safe_load(stream)
    for sensor in robot['sensors'].values():
        if sensor.get('type') == 'rgbd':
            for key in ('width', 'height'):
                sensor[key] = max(16, 2 * int(round(sensor[key] * scale / 2)))
    return robot


#: The sim stack without fleet telemetry: a campaign has no broker, and an idle telemetry
#: process still cost 0.13 CPU seconds per simulated second.
CAMPAIGN_NODES = tuple(n for n in stack.STACKS['sim'] if n != 'telemetry')


def used_classes() -> List[str]:
    """Return the detection classes the safety gate and the mapper act on (their defaults)."""
    safety, mapper = load_defaults('safety.yaml'), load_defaults('mapper.yaml')
    return sorted(set(safety['person_classes']) | set(mapper['person_classes']) |
                  set(mapper['forklift_classes']))


def stack_params(scenario: str, truth: str, robot: str, seed: int, options: Options) -> dict:
    """Return the parameters of a run's stack (a params file's content)."""
    scale = options.camera_scale
    depth_stride = load_defaults('safety.yaml')['depth.stride']
    mapper_stride = load_defaults('mapper.yaml')['depth_stride']
    return {
        '/**/simulator': {'ros__parameters': {
            'scenario': scenario, 'ground_truth_file': truth, 'realtime': False,
            'lockstep': True, 'render_subscribed_only': True, 'ground_truth_boxes': False,
            'robot_description': robot, 'seed': seed % 2 ** 31,
            'lockstep_start_timeout_s': options.start_timeout_s,
            'lockstep_lag_s': options.lockstep_lag_s, 'clock_rate_hz': options.clock_rate_hz}},
        '/**/route_driver': {'ros__parameters': {'scenario': scenario}},
        # Depth points as dense on the floor as at the full resolution.
        '/**/safety': {'ros__parameters': {
            'robot_description': robot, 'state_period_s': options.state_period_s,
            'depth': {'stride': max(1, int(round(depth_stride * scale)))}}},
        '/**/mapper': {'ros__parameters': {
            'robot_description': robot,
            'depth_stride': max(1, int(round(mapper_stride * scale)))}},
        # One inference thread: parallel runs share the cores. Only the classes the gate and
        # the mapper act on: nobody reads the rest, and dozens of shelf cartons per frame cost
        # each listener its Python messages.
        # No drift monitor: a campaign's frames are drawn to differ.
        '/**/detector': {'ros__parameters': {'threads': 1, 'classes': used_classes(),
                                             'drift_monitor': False}},
    }


def _encode(path: str) -> str:
    with open(path, 'rb') as stream:
        return base64.b64encode(gzip.compress(stream.read(), mtime=0)).decode('ascii')


def decode_artifact(text: str) -> bytes:
    """Return the bytes of an artifact of a run's result."""
    return gzip.decompress(base64.b64decode(text))


def _cpu_seconds(pid: int) -> Tuple[str, float]:
    """Return a process's program name (a node's executable) and its CPU seconds so far."""
    with open(f'/proc/{pid}/cmdline', 'rb') as stream:
        argv = [a.decode(errors='replace') for a in stream.read().split(b'\0') if a]
    with open(f'/proc/{pid}/stat', encoding='utf-8') as stream:
        fields = stream.read().rsplit(')', 1)[1].split()
    name = os.path.basename(argv[1] if len(argv) > 1 and 'python' in argv[0] else
                            (argv[0] if argv else '?'))
    # utime and stime, fields 14 and 15 of stat (the 12th and 13th after the name).
    return name, (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class _CpuMeter:
    """Samples the CPU seconds of a session's processes by program, while it runs."""

    def __init__(self, session: int):
        self.session = session
        self.seconds: Dict[int, Tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for pid in session_processes(self.session):
                with contextlib.suppress(OSError, IndexError, ValueError):
                    name, seconds = _cpu_seconds(pid)
                    # An exiting process has no command line left: keep the name it had.
                    self.seconds[pid] = (self.seconds.get(pid, (name,))[0], seconds)

    def stop(self) -> Dict[str, float]:
        """Stop sampling; return CPU seconds by program (the last sample of each process)."""
        self._stop.set()
        self._thread.join()
        out: Dict[str, float] = {}
        for name, seconds in self.seconds.values():
            out[name] = round(out.get(name, 0.0) + seconds, 2)
        return out


def _attempt(spec: dict, work: str, options: Options) -> dict:
    """Run the stack once in `work`; return what happened (no outcome yet)."""
    scenario = os.path.join(work, 'scenario.yaml')
    truth = os.path.join(work, 'ground_truth.jsonl')
    robot = os.path.join(work, 'robot.yaml')
    params = os.path.join(work, 'params.yaml')
    log_path = os.path.join(work, 'stack.log')
    for stale in (truth, log_path):
        if os.path.exists(stale):
            os.remove(stale)
    with open(robot, 'w', encoding='utf-8') as stream:
        yaml.safe_dump(scaled_robot(options.camera_scale), stream, sort_keys=False)
    with open(params, 'w', encoding='utf-8') as stream:
        yaml.safe_dump(stack_params(scenario, truth, robot, spec['seed'], options), stream)
    limit = options.start_timeout_s + spec['duration_s'] / options.min_realtime_factor
    with domain_lease(options.domains) as domain:
        env = launcher.stack_environment()
        env.update({'ROS_DOMAIN_ID': str(domain), 'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'})
        env.setdefault('MUJOCO_GL', 'egl')
        env.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
        env[launcher.EXECUTOR_VARIABLE] = options.executor
        command = [sys.executable, '-m', 'perception.cli', 'launch', 'sim', '--use-sim-time',
                   '--params-file', params, '--duration', f'{limit:.0f}', '--no-respawn',
                   '--nodes', ','.join(CAMPAIGN_NODES)]
        start = time.monotonic()
        with open(log_path, 'wb') as log:
            worker = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
            meter = _CpuMeter(worker.pid)
            try:
                # The worker stops the stack itself at the limit; the grace covers its shutdown.
                status = worker.wait(limit + SHUTDOWN_GRACE_S)
            except subprocess.TimeoutExpired:
                status = None
            finally:
                end_session(worker.pid)
                worker.wait()
                cpu = meter.stop()
        wall = time.monotonic() - start
    if status is None or wall >= limit:
        problem = f'not done after {limit:.0f} s of wall time (a hang)'
    elif status != launcher.EXIT_OK:
        problem = f'the stack exited with status {status}'
    else:
        problem = ''
    with open(log_path, encoding='utf-8', errors='replace') as stream:
        tail = stream.readlines()[-LOG_TAIL:]
    return {'status': status, 'problem': problem, 'wall_s': round(wall, 2), 'domain': domain,
            'cpu_s': cpu, 'log_tail': ''.join(tail), 'truth': truth}


def _read_records(path: str) -> List[dict]:
    from perception.sim.recorder import read_ground_truth
    if not os.path.exists(path):
        return []
    try:
        return read_ground_truth(path, cut_short_ok=True)
    except ValueError:
        return []


def execute_run(spec: dict, options_data: Optional[dict] = None) -> dict:
    """
    Run one drawn scenario (spec from campaign_specs) to its result, retrying a broken run.

    Plain data in and out, so it runs the same in a thread, a process or a Ray task.
    """
    from perception.sim.report import write_report
    from perception.sim.scenario import load_scenario
    options = Options(**dict(options_data or {}, domains=tuple(
        (options_data or {}).get('domains', DEFAULT_DOMAINS))))
    result = {key: spec[key] for key in ('family', 'seed', 'values', 'redraws')}
    result.update({'host': socket.gethostname(), 'retries': []})
    work = tempfile.mkdtemp(prefix=f'perception-run-{spec["seed"]}-')
    try:
        scenario_file = os.path.join(work, 'scenario.yaml')
        with open(scenario_file, 'w', encoding='utf-8') as stream:
            stream.write(spec['scenario_yaml'])
        scenario = load_scenario(scenario_file)
        for attempt in range(1, options.attempts + 1):
            ran = _attempt(spec, work, options)
            records = _read_records(ran['truth'])
            complete = any(r.get('type') == 'summary' for r in records)
            result.update({'attempts': attempt, 'wall_s': ran['wall_s'], 'domain': ran['domain'],
                           'cpu_s': ran['cpu_s']})
            if not ran['problem'] and complete:
                break
            why = ran['problem'] or 'the simulator wrote no summary'
            result['retries'].append(f'attempt {attempt}: {why}')
            result['log_tail'] = ran['log_tail']
        else:
            result.update({'status': INFRASTRUCTURE, 'outcome': None,
                           'failure': result['retries'][-1]})
            if os.path.exists(ran['truth']):
                result['artifacts'] = {'ground_truth.jsonl.gz': _encode(ran['truth'])}
            return result
        result.pop('log_tail', None)
        found = outcomes.outcome(records, scenario)
        result.update({'status': OK, 'outcome': found, 'failed': outcomes.failed(found),
                       'sim_s': found['sim_time_s'],
                       'realtime_factor': round(found['sim_time_s'] / ran['wall_s'], 3)
                       if ran['wall_s'] else None,
                       'sim_realtime_factor': found['realtime_factor']})
        if result['failed'] or options.keep_ground_truth:
            report = os.path.join(work, 'report')
            write_report(records, report, {'family': spec['family'], 'seed': spec['seed']})
            result['artifacts'] = {'ground_truth.jsonl.gz': _encode(ran['truth'])}
            for name in ('report.md', 'report.json', 'plan.png'):
                result['artifacts'][name] = _encode(os.path.join(report, name))
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- executors ---------------------------------------------------------------------------------

Done = Callable[[dict], None]


def infrastructure_result(spec: dict, why: str) -> dict:
    """Return the result of a run that could not be executed at all."""
    return {'family': spec['family'], 'seed': spec['seed'], 'values': spec['values'],
            'redraws': spec['redraws'], 'status': INFRASTRUCTURE, 'outcome': None,
            'failure': why, 'retries': [why], 'attempts': 0}


class LocalExecutor:
    """Runs on this machine, `workers` runs at a time (each a worker process and its nodes)."""

    def __init__(self, workers: int = 2):
        if workers < 1:
            raise CampaignError(f'--workers must be at least 1, got {workers}')
        self.workers = workers
        self.where = f'local, {workers} worker{"s" if workers > 1 else ""}'

    def run(self, specs: List[dict], options: Options, done: Done) -> List[dict]:
        results = []
        with ThreadPoolExecutor(self.workers) as pool:
            futures = {pool.submit(execute_run, spec, _options_data(options)): spec
                       for spec in specs}
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:  # noqa: B902 - a run that broke is recorded, not lost
                    result = infrastructure_result(futures[future], f'{type(exc).__name__}: '
                                                   f'{exc}')
                results.append(result)
                done(result)
        return results


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Raise CampaignError when nothing answers at a Ray address (host:port)."""
    host, _, port = address.rpartition(':')
    if address.startswith('ray://'):
        host, _, port = address[len('ray://'):].rpartition(':')
    if not host or not port.isdigit():
        raise CampaignError(f'--ray needs HOST:PORT (or auto, or local), got {address!r}')
    try:
        socket.create_connection((host, int(port)), timeout).close()
    except OSError as exc:
        raise CampaignError(f'cannot reach the Ray cluster at {address}: '
                            f'{exc.strerror or exc}') from None


class RayExecutor:
    """
    Runs each run as a Ray task (num_cpus each) and gathers the results here.

    address None uses the Ray instance this process already started (ray.init()); 'local'
    starts one; 'auto' joins the cluster `ray start` runs on this machine; HOST:PORT joins that
    cluster's head. A Ray worker that dies mid-run is retried once, then recorded as an
    infrastructure failure.
    """

    def __init__(self, address: Optional[str] = None, cpus_per_run: float = 1.0):
        import ray
        self.ray = ray
        self.cpus = cpus_per_run
        if address is not None and address not in ('auto', 'local'):
            check_reachable(address)
        if address is not None and not ray.is_initialized():
            try:
                ray.init(address=None if address == 'local' else address,
                         log_to_driver=False, include_dashboard=False)
            except Exception as exc:  # noqa: B902 - Ray's connection errors vary by version
                raise CampaignError(f'cannot join the Ray cluster at {address}: {exc}') from None
        if not ray.is_initialized():
            raise CampaignError('Ray is not started: give --ray ADDRESS')
        cpus = ray.cluster_resources().get('CPU', 0)
        self.where = f'Ray ({address or "this process"}, {cpus:g} CPUs)'

    def run(self, specs: List[dict], options: Options, done: Done) -> List[dict]:
        ray = self.ray
        task = ray.remote(num_cpus=self.cpus, max_retries=0)(execute_run)
        data = _options_data(options)
        pending = {task.remote(spec, data): (spec, 1) for spec in specs}
        results = []
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            spec, tries = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except ray.exceptions.RayError as exc:
                why = f'the Ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0]}'
                if tries < 2:
                    pending[task.remote(spec, data)] = (spec, tries + 1)
                    continue
                result = infrastructure_result(spec, why)
            results.append(result)
            done(result)
        return results


def _options_data(options: Options) -> dict:
    return asdict(options)


# --- the campaign ------------------------------------------------------------------------------

def campaign_specs(family_name: str, runs: int, seed: int) -> Tuple[object, List[dict]]:
    """Draw every run of a campaign; CampaignError for a family that cannot be drawn."""
    if runs < 1:
        raise CampaignError(f'--runs must be at least 1, got {runs}')
    if not 0 <= seed < 2 ** 53:
        raise CampaignError(f'--seed must be a non-negative integer, got {seed}')
    try:
        family = load_family(family_path(family_name, config_path('families')))
        draws = [draw_scenario(family, s) for s in range(seed, seed + runs)]
    except FamilyError as exc:
        raise CampaignError(str(exc)) from None
    specs = []
    for draw in draws:
        with tempfile.NamedTemporaryFile('r', suffix='.yaml') as tmp:
            write_scenario(draw, tmp.name)
            text = tmp.read()
        specs.append({'family': family.name, 'seed': draw.seed, 'values': draw.values,
                      'redraws': draw.redraws, 'refusals': list(draw.refusals),
                      'scenario_yaml': text, 'duration_s': draw.scenario.duration_s})
    return family, specs


def replay_command(out: str, seed: int) -> str:
    """Return the command that replays a run of a campaign in the demo."""
    run = os.path.join(out, 'runs', str(seed))
    return (f'perception demo --scenario {os.path.join(run, "scenario.yaml")} --fast '
            f'--params {os.path.join(run, "replay_params.yaml")} --report-dir '
            f'{os.path.join(out, "replays")}')


def _write_run_files(out: str, spec: dict, options: Options) -> None:
    run = os.path.join(out, 'runs', str(spec['seed']))
    os.makedirs(run, exist_ok=True)
    with open(os.path.join(run, 'scenario.yaml'), 'w', encoding='utf-8') as stream:
        stream.write(spec['scenario_yaml'])
    robot = os.path.join(run, 'robot.yaml')
    with open(robot, 'w', encoding='utf-8') as stream:
        yaml.safe_dump(scaled_robot(options.camera_scale), stream, sort_keys=False)
    params = stack_params('', '', robot, spec['seed'], options)
    # The demo names the scenario and the ground truth itself.
    for key in ('scenario', 'ground_truth_file'):
        params['/**/simulator']['ros__parameters'].pop(key)
    params.pop('/**/route_driver')
    with open(os.path.join(run, 'replay_params.yaml'), 'w', encoding='utf-8') as stream:
        yaml.safe_dump(params, stream)


def _store(out: str, result: dict) -> None:
    """Write a result's artifacts under its run's directory and append it to results.jsonl."""
    run = os.path.join(out, 'runs', str(result['seed']))
    os.makedirs(run, exist_ok=True)
    for name, data in (result.pop('artifacts', None) or {}).items():
        # The ground truth stays compressed; the report and its picture are for reading.
        content = base64.b64decode(data) if name.endswith('.gz') else decode_artifact(data)
        with open(os.path.join(run, name), 'wb') as stream:
            stream.write(content)
    with open(os.path.join(out, 'results.jsonl'), 'a', encoding='utf-8') as stream:
        stream.write(json.dumps(result, sort_keys=True) + '\n')


def run_campaign(family_name: str, runs: int, seed: int, out: str, executor,
                 options: Options = Options(), progress: Callable[[str], None] = print) -> dict:
    """Draw, run and report a campaign; return its summary (also in out/summary.json)."""
    from perception.campaign import report as campaign_report
    family, specs = campaign_specs(family_name, runs, seed)
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    if os.path.exists(os.path.join(out, 'results.jsonl')):
        os.remove(os.path.join(out, 'results.jsonl'))
    for spec in specs:
        _write_run_files(out, spec, options)
    redraws = sum(s['redraws'] for s in specs)
    progress(f'campaign {family.name}: {runs} runs from seed {seed} on {executor.where}; '
             f'{redraws} impossible draws refused and drawn again')
    count = [0]
    start = time.monotonic()

    def done(result: dict) -> None:
        count[0] += 1
        outcome = result.get('outcome')
        if result['status'] != OK:
            text = f'INFRASTRUCTURE FAILURE: {result["failure"]}'
        else:
            text = (('COLLISION ' if outcome['collision'] else '') +
                    ('FALSE STOP ' if outcome['false_stops'] else '') +
                    ', '.join(f'{k} {v:.2f} m' for k, v in outcome['min_clearance_m'].items())
                    + f'; {result["realtime_factor"]}x real time')
        progress(f'[{count[0]}/{runs}] seed {result["seed"]}: {text}')
        _store(out, result)

    results = executor.run(specs, options, done)
    wall = time.monotonic() - start
    results.sort(key=lambda r: r['seed'])
    summary = campaign_report.summarize(family, results, out, wall, executor.where, options,
                                        seed)
    campaign_report.write(summary, results, out)
    return summary


def load_results(out: str) -> List[dict]:
    """Read a campaign's results.jsonl, in seed order."""
    with open(os.path.join(out, 'results.jsonl'), encoding='utf-8') as stream:
        results = [json.loads(line) for line in stream if line.strip()]
    return sorted(results, key=lambda r: r['seed'])


def comparable(result: dict) -> dict:
    """Return what two executions of the same seed must agree on (see same_results)."""
    return {key: result[key] for key in ('family', 'seed', 'values', 'redraws', 'status')}


def same_results(a: List[dict], b: List[dict]) -> List[str]:
    """
    Return how two campaigns' results differ; empty when they are the same.

    The same means: the same seeds, drawn alike (variables and refused draws, exactly), the
    same status, and outcomes that perception.sim.outcome.same_outcome calls the same.
    """
    out = []
    by_seed = {r['seed']: r for r in b}
    if sorted(by_seed) != sorted(r['seed'] for r in a):
        return [f'seeds differ: {sorted(r["seed"] for r in a)} != {sorted(by_seed)}']
    for ra in a:
        rb = by_seed[ra['seed']]
        if comparable(ra) != comparable(rb):
            out.append(f'seed {ra["seed"]}: {comparable(ra)} != {comparable(rb)}')
        elif ra['status'] == OK:
            out += [f'seed {ra["seed"]}: {d}'
                    for d in outcomes.same_outcome(ra['outcome'], rb['outcome'])]
    return out
