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
The venv's launcher: every node of a stack in a process of its own, supervised.

It does what `ros2 launch perception bringup.launch.py` does on a ROS 2 install, from the same
node list (perception.stack): forwards SIGINT and SIGTERM, stops everything within 5 s, respawns
nodes marked so, and exits non-zero when a required node dies for good.
"""

from dataclasses import dataclass, field
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence, TextIO

from perception import stack

#: The environment variable that picks the nodes' executor (perception.node_main): single
#: (rclpy's SingleThreadedExecutor, the default) or lean (perception.lean_executor).
EXECUTOR_VARIABLE = 'PERCEPTION_EXECUTOR'

EXIT_OK = 0
EXIT_REQUIRED_DIED = 1
EXIT_START_FAILED = 3


@dataclass
class ProcessSpec:
    """A command to supervise and what to do when it exits."""

    name: str
    command: List[str]
    required: bool = True
    respawn: bool = False
    respawn_delay: float = 2.0
    max_respawns: int = 5
    env: Dict[str, str] = field(default_factory=dict)


@dataclass
class _Child:
    spec: ProcessSpec
    process: Optional[subprocess.Popen] = None
    respawns: int = 0
    restart_at: Optional[float] = None
    reader: Optional[threading.Thread] = None


PROFILE_VARIABLES = ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE')
#: Distributions whose Fast DDS 2.x reads only the old variable; 3.x warns about it.
FASTDDS_2_DISTROS = ('humble', 'iron', 'jazzy')

#: Variables the stack sets for its nodes when the user has not (see stack_environment).
TRANSPORT_VARIABLES = ('FASTDDS_BUILTIN_TRANSPORTS',) + PROFILE_VARIABLES

#: rcutils colours log lines when this is 1, never when 0, and on a terminal of its own if unset.
COLOUR_VARIABLE = 'RCUTILS_COLORIZED_OUTPUT'


def is_terminal(stream) -> bool:
    """Tell whether a stream is a terminal (False for a pipe, a file, or no stream)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # not a file object, or closed
        return False


def stack_environment(base: Optional[Dict[str, str]] = None,
                      terminal: bool = False) -> Dict[str, str]:
    """
    Return the environment nodes run in: the caller's plus what the pip venv needs.

    terminal says whether the nodes' output ends on a terminal: their own output is a pipe, so
    rcutils cannot tell, and colours only if told to (launch's emulate_tty does the same).
    """
    env = dict(os.environ if base is None else base)
    if not env.get('AMENT_PREFIX_PATH'):
        env['AMENT_PREFIX_PATH'] = sys.prefix
    # Best-effort images of 640x480 and up are lost over Fast DDS's default transports: large
    # data transports, and a shared-memory segment that holds whole frames (config/fastdds.xml).
    env.setdefault('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA')
    if not any(env.get(name) for name in PROFILE_VARIABLES):
        old = env.get('ROS_DISTRO', '') in FASTDDS_2_DISTROS
        env[PROFILE_VARIABLES[1] if old else PROFILE_VARIABLES[0]] = fastdds_profile()
    env.setdefault('PYTHONUNBUFFERED', '1')
    env.setdefault(COLOUR_VARIABLE, '1' if terminal else '0')
    return env


def fastdds_profile() -> str:
    """Return the path of the stack's Fast DDS profile (config/fastdds.xml)."""
    from perception.config import config_path
    return config_path('fastdds.xml')


def find_executable(package: str, executable: str) -> str:
    """Find a node executable as launch_ros does (lib/<package>), then beside this Python."""
    prefixes = [p for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]
    for prefix in prefixes + [sys.prefix]:
        candidate = os.path.join(prefix, 'lib', package, executable)
        if os.access(candidate, os.X_OK):
            return candidate
    beside = os.path.join(os.path.dirname(sys.executable), executable)
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which(executable)
    if found:
        return found
    raise FileNotFoundError(f'executable {executable!r} of package {package!r} not found; '
                            'is the package installed (make setup, or colcon build)?')


def stack_processes(stack_name: str, share: str, only: Sequence[str] = (), namespace: str = '',
                    params_file: str = '', use_sim_time: bool = False, log_level: str = '',
                    respawn: bool = True) -> List[ProcessSpec]:
    """Build the processes of a stack from perception.stack."""
    if params_file and not os.path.isfile(params_file):
        raise FileNotFoundError(f'params file {params_file} not found')
    specs = []
    for node in stack.select(stack_name, only):
        command = [find_executable(stack.PACKAGE, node.executable)] + stack.ros_arguments(
            node, share, namespace, os.path.abspath(params_file) if params_file else '',
            use_sim_time, log_level)
        specs.append(ProcessSpec(node.name, command, required=node.required,
                                 respawn=respawn and node.respawn,
                                 respawn_delay=node.respawn_delay,
                                 max_respawns=node.max_respawns))
    return specs


class Supervisor:
    """Starts processes, prefixes their output, respawns or stops them, and forwards signals."""

    def __init__(self, specs: List[ProcessSpec], env: Optional[Dict[str, str]] = None,
                 output: TextIO = sys.stdout, sigint_timeout: float = 3.0,
                 sigterm_timeout: float = 1.5, poll_period: float = 0.05):
        self.children = [_Child(spec) for spec in specs]
        # Colour when this launcher writes to a terminal, unless the user chose.
        self.env = stack_environment(env, terminal=is_terminal(output))
        self.output = output
        self.sigint_timeout = sigint_timeout
        self.sigterm_timeout = sigterm_timeout
        self.poll_period = poll_period
        self._stop = threading.Event()
        self._stop_reason = ''
        self._output_lock = threading.Lock()

    @property
    def stop_reason(self) -> str:
        """Say why run() stopped: a signal, the duration, or a node that finished or died."""
        return self._stop_reason

    def log(self, text: str) -> None:
        """Write a line of the launcher's own."""
        self._write(f'[launch] {text}\n')

    def _write(self, text: str) -> None:
        with self._output_lock:
            self.output.write(text)
            self.output.flush()

    def request_stop(self, reason: str = 'stop requested') -> None:
        """Ask run() to stop every process and return (safe from a signal handler)."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    def _start(self, child: _Child) -> None:
        env = dict(self.env, **child.spec.env)
        # A process group of its own, so a terminal's Ctrl-C reaches the node once, through us.
        # Not a session of its own: Linux gives each session its own scheduler autogroup, and
        # nodes split across autogroups lost most best-effort images in our measurements.
        group = {'process_group': 0} if sys.version_info >= (3, 11) else {
            'preexec_fn': os.setpgrp}
        child.process = subprocess.Popen(
            child.spec.command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, **group)
        child.restart_at = None
        child.reader = threading.Thread(target=self._pump, args=(child.spec.name, child.process),
                                        daemon=True)
        child.reader.start()
        self.log(f'started {child.spec.name} (pid {child.process.pid})')

    def _pump(self, name: str, process: subprocess.Popen) -> None:
        for raw in iter(process.stdout.readline, b''):
            self._write(f'[{name}] {raw.decode("utf-8", "replace").rstrip()}\n')
        process.stdout.close()

    def run(self, duration: Optional[float] = None, install_signal_handlers: bool = True) -> int:
        """Run until a signal, the duration, or a required process dying; return exit status."""
        if install_signal_handlers:
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda s, _f: self.request_stop(
                    f'received {signal.Signals(s).name}'))
        status = EXIT_OK
        try:
            for child in self.children:
                self._start(child)
        except OSError as exc:
            self._stop_reason = f'cannot start {child.spec.name}: {exc}'
            self.log(self._stop_reason)
            self._shutdown()
            return EXIT_START_FAILED
        deadline = None if duration is None else time.monotonic() + duration
        while not self._stop.wait(self.poll_period):
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                self.request_stop(f'ran for {duration:g} s')
                break
            for child in self.children:
                status = self._check(child, now)
                if status != EXIT_OK:
                    break
            if status != EXIT_OK:
                break
        self.log(f'shutting down: {self._stop_reason}')
        self._shutdown()
        return status

    def _check(self, child: _Child, now: float) -> int:
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.respawns += 1
                self._start(child)
            return EXIT_OK
        code = child.process.poll()
        if code is None:
            return EXIT_OK
        child.reader.join(1.0)
        spec = child.spec
        if spec.respawn and code != 0 and child.respawns < spec.max_respawns:
            self.log(f'{spec.name} exited with code {code}; respawning in {spec.respawn_delay:g} '
                     f's ({child.respawns + 1} of {spec.max_respawns})')
            child.restart_at = now + spec.respawn_delay
            return EXIT_OK
        if spec.required and code == 0:
            # A required node that finished its work (a simulation at its end) ends the stack.
            self.request_stop(f'required node {spec.name} finished')
            return EXIT_OK
        if spec.required:
            self.request_stop(f'required node {spec.name} exited with code {code}')
            return EXIT_REQUIRED_DIED
        self.log(f'{spec.name} exited with code {code}; it is not required, the rest go on')
        child.process = None
        child.restart_at = float('inf')
        return EXIT_OK

    def _running(self) -> List[_Child]:
        return [c for c in self.children if c.process is not None and c.process.poll() is None]

    def _signal_all(self, signum: int) -> None:
        for child in self._running():
            try:
                os.killpg(child.process.pid, signum)
            except ProcessLookupError:
                pass

    def _wait_all(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while self._running() and time.monotonic() < end:
            time.sleep(0.02)
        return not self._running()

    def _shutdown(self) -> None:
        """SIGINT, then SIGTERM, then SIGKILL: all gone within sigint + sigterm timeouts."""
        for signum, timeout in ((signal.SIGINT, self.sigint_timeout),
                                (signal.SIGTERM, self.sigterm_timeout)):
            self._signal_all(signum)
            if self._wait_all(timeout):
                break
            self.log(f'{", ".join(c.spec.name for c in self._running())} still running after '
                     f'{signal.Signals(signum).name}')
        else:
            self._signal_all(signal.SIGKILL)
            self._wait_all(1.0)
        for child in self.children:
            if child.process is not None:
                child.process.wait()
                if child.reader is not None:
                    child.reader.join(1.0)
