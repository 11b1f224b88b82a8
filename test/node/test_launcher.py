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

"""The venv's launcher: the graph comes up, stops on SIGINT within 5 s, fails on a dead node."""

import io
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from perception import launcher
from perception.launcher import ProcessSpec, stack_environment, Supervisor
from perception.probe import StackProbe
from support import perception_command, wait_until

pytestmark = pytest.mark.node


def sleeper(name, seconds=60, **kwargs):
    return ProcessSpec(name, [sys.executable, '-c', f'import time; time.sleep({seconds})'],
                       **kwargs)


def descendants(pid):
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_bringup_comes_up_and_sigint_stops_it_within_5_s(ros_context, tmp_path):
    log = open(tmp_path / 'launch.log', 'w+b')
    process = subprocess.Popen(perception_command('launch', 'bringup'), stdout=log,
                               stderr=subprocess.STDOUT, env=stack_environment())
    probe = StackProbe(context=ros_context)
    try:
        assert probe.wait_for_images(10, timeout=30), (tmp_path / 'launch.log').read_text()
        children = descendants(process.pid)
        assert children, 'the launcher started no node process'
        start = time.monotonic()
        process.send_signal(signal.SIGINT)
        code = process.wait(10)
        elapsed = time.monotonic() - start
    finally:
        probe.close()
        if process.poll() is None:
            process.kill()
    assert code == 0
    assert elapsed < 5.0
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    output = (tmp_path / 'launch.log').read_text()
    assert '[camera]' in output and 'received SIGINT' in output


def test_a_crashing_required_node_makes_the_launcher_exit_non_zero(tmp_path):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('/**/camera:\n  ros__parameters:\n    source: webcam\n')
    result = subprocess.run(
        perception_command('launch', 'bringup', '--no-respawn', '--params-file', str(bad)),
        env=stack_environment(), capture_output=True, text=True, timeout=60)
    assert result.returncode == launcher.EXIT_REQUIRED_DIED
    assert 'required node camera exited with code 2' in result.stdout
    assert 'source must be one of' in result.stdout


def test_bad_arguments_are_refused_before_anything_starts(tmp_path):
    for args, message in ((['--nodes', 'lidar'], 'has no node lidar'),
                          (['--params-file', str(tmp_path / 'none.yaml')], 'not found'),
                          (['--log-level', 'loud'], "log level 'loud' is not one of")):
        result = subprocess.run(perception_command('launch', 'bringup', *args),
                                env=stack_environment(), capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 2 and message in result.stderr


def test_supervisor_stops_the_others_when_a_required_process_dies():
    crash = ProcessSpec('crash', [sys.executable, '-c',
                                  'import time, sys; time.sleep(0.5); sys.exit(3)'])
    other = sleeper('other')
    out = io.StringIO()
    supervisor = Supervisor([other, crash], output=out)
    start = time.monotonic()
    code = supervisor.run(duration=30, install_signal_handlers=False)
    assert code == launcher.EXIT_REQUIRED_DIED
    assert time.monotonic() - start < 10
    assert 'required node crash exited with code 3' in out.getvalue()
    assert all(c.process.poll() is not None for c in supervisor.children)


def test_supervisor_respawns_then_gives_up(tmp_path):
    starts = tmp_path / 'starts'
    flaky = ProcessSpec('flaky', [sys.executable, '-c',
                                  f'open({str(starts)!r}, "a").write("x"); raise SystemExit(1)'],
                        respawn=True, respawn_delay=0.1, max_respawns=2)
    out = io.StringIO()
    code = Supervisor([flaky, sleeper('other')], output=out).run(
        duration=30, install_signal_handlers=False)
    assert code == launcher.EXIT_REQUIRED_DIED
    assert starts.read_text() == 'xxx'  # the first start and two respawns
    assert 'respawning in 0.1 s (2 of 2)' in out.getvalue()


def test_a_node_that_is_not_required_may_die_alone(tmp_path):
    optional = ProcessSpec('optional', [sys.executable, '-c', 'raise SystemExit(4)'],
                           required=False)
    out = io.StringIO()
    supervisor = Supervisor([optional, sleeper('main')], output=out)
    assert supervisor.run(duration=1.5, install_signal_handlers=False) == launcher.EXIT_OK
    assert 'optional exited with code 4; it is not required' in out.getvalue()


def test_a_node_that_ignores_signals_is_killed_within_5_s():
    stubborn = ProcessSpec('stubborn', [sys.executable, '-c', (
        'import signal, time\n'
        'signal.signal(signal.SIGINT, signal.SIG_IGN)\n'
        'signal.signal(signal.SIGTERM, signal.SIG_IGN)\n'
        'time.sleep(60)\n')])
    out = io.StringIO()
    supervisor = Supervisor([stubborn], output=out)
    start = time.monotonic()
    # Stop while it is still running: a stop request from outside, like a signal would make.
    import threading
    threading.Timer(1.0, supervisor.request_stop, args=('test',)).start()
    assert supervisor.run(install_signal_handlers=False) == launcher.EXIT_OK
    assert time.monotonic() - start < 1.0 + 5.0
    assert supervisor.children[0].process.returncode == -signal.SIGKILL
    assert 'still running after SIGTERM' in out.getvalue()


def test_output_is_prefixed_with_the_node_name():
    talker = ProcessSpec('talker', [sys.executable, '-c', 'print("hello"); print("world")'],
                         required=False)
    out = io.StringIO()
    Supervisor([talker], output=out).run(duration=1.0, install_signal_handlers=False)
    assert '[talker] hello\n[talker] world\n' in out.getvalue()


def test_environment_carries_large_images_unless_the_user_chose():
    env = stack_environment({})
    assert env['FASTDDS_BUILTIN_TRANSPORTS'] == 'LARGE_DATA'
    assert env['FASTDDS_DEFAULT_PROFILES_FILE'].endswith('config/fastdds.xml')
    assert os.path.isfile(env['FASTDDS_DEFAULT_PROFILES_FILE'])
    assert 'FASTRTPS_DEFAULT_PROFILES_FILE' not in env  # Fast DDS 3 warns about the old name
    assert env['AMENT_PREFIX_PATH'] == sys.prefix
    humble = stack_environment({'ROS_DISTRO': 'humble'})
    assert humble['FASTRTPS_DEFAULT_PROFILES_FILE'] == env['FASTDDS_DEFAULT_PROFILES_FILE']
    assert 'FASTDDS_DEFAULT_PROFILES_FILE' not in humble
    mine = stack_environment({'FASTDDS_BUILTIN_TRANSPORTS': 'SHM',
                              'FASTRTPS_DEFAULT_PROFILES_FILE': '/my/profile.xml'})
    assert mine['FASTDDS_BUILTIN_TRANSPORTS'] == 'SHM'
    assert mine['FASTRTPS_DEFAULT_PROFILES_FILE'] == '/my/profile.xml'
    assert 'FASTDDS_DEFAULT_PROFILES_FILE' not in mine


def logged_by_a_node(output, env):
    """Run a process that logs a warning through rcutils under a Supervisor; return its output."""
    warner = ProcessSpec('warner', [sys.executable, '-c', (
        'import rclpy\n'
        'rclpy.init()\n'
        'rclpy.create_node("warner").get_logger().warn("careful")\n')])
    Supervisor([warner], env=env, output=output).run(duration=30, install_signal_handlers=False)


def test_nodes_colour_their_logs_when_the_launcher_writes_to_a_terminal():
    base = {k: v for k, v in os.environ.items() if k != launcher.COLOUR_VARIABLE}
    assert stack_environment(base, terminal=True)[launcher.COLOUR_VARIABLE] == '1'
    assert stack_environment(base, terminal=False)[launcher.COLOUR_VARIABLE] == '0'
    chosen = dict(base, **{launcher.COLOUR_VARIABLE: '0'})
    assert stack_environment(chosen, terminal=True)[launcher.COLOUR_VARIABLE] == '0'

    controller, terminal_fd = os.openpty()
    terminal = os.fdopen(terminal_fd, 'w')
    try:
        logged_by_a_node(terminal, base)
        os.set_blocking(controller, False)
        on_terminal = os.read(controller, 1 << 16).decode('utf-8', 'replace')
    finally:
        terminal.close()
        os.close(controller)
    assert 'careful' in on_terminal and '\x1b[' in on_terminal, repr(on_terminal)

    piped = io.StringIO()
    logged_by_a_node(piped, base)
    assert 'careful' in piped.getvalue() and '\x1b[' not in piped.getvalue()
    forced = io.StringIO()
    logged_by_a_node(forced, dict(base, **{launcher.COLOUR_VARIABLE: '1'}))
    assert '\x1b[' in forced.getvalue()


def test_a_missing_executable_is_a_clear_error(monkeypatch):
    monkeypatch.setenv('AMENT_PREFIX_PATH', os.devnull)
    with pytest.raises(FileNotFoundError, match="executable 'no_such_node'"):
        launcher.find_executable('perception', 'no_such_node')


def test_sigterm_to_the_launcher_is_forwarded(tmp_path):
    process = subprocess.Popen(perception_command('launch', 'bringup'),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=stack_environment())
    try:
        assert wait_until(lambda: descendants(process.pid), 20)
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        output = process.stdout.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
    assert 'received SIGTERM' in output
