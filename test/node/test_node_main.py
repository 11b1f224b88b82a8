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

"""What every node's main() does: clean stops on signals, clear start errors, crash stacks."""

import signal
import subprocess

import psutil
import pytest

from perception.launcher import stack_environment
from support import NodeStarter, perception_command, wait_until

pytestmark = pytest.mark.node


@pytest.fixture
def route_driver(tmp_path):
    starter = NodeStarter('route_driver_node', tmp_path)
    yield starter
    starter.kill_all()


def test_sigint_and_sigterm_end_the_node_cleanly(route_driver):
    # The context outlives the node, so no RCLError from a wait set or a publisher on the way
    # out (rclpy's own handler shut the context down under the executor: 1 in 40 stops).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGINT, signal.SIGTERM):
        node = route_driver('-p', 'use_sim_time:=true')
        assert wait_until(lambda: 'driving the route' in node.output(), 30), node.output()
        node.process.send_signal(signum)
        code = node.process.wait(15)
        output = node.output()
        assert code == 0, f'{signal.Signals(signum).name}: exit status {code}\n{output}'
        assert 'Traceback' not in output and 'RCLError' not in output, output


def test_malformed_ros_arguments_are_a_fatal_message_not_a_traceback(route_driver):
    node = route_driver('--log-level', 'loud')
    assert node.process.wait(30) == 2, node.output()
    assert '[FATAL] cannot start ROS' in node.output()
    assert 'Traceback' not in node.output()


def test_a_crash_in_a_node_prints_its_python_stack(route_driver):
    node = route_driver()
    assert wait_until(lambda: 'driving the route' in node.output(), 30), node.output()
    node.process.send_signal(signal.SIGSEGV)  # what a fault in native code raises
    assert node.process.wait(15) == -signal.SIGSEGV
    output = node.output()
    assert 'Fatal Python error: Segmentation fault' in output, output
    assert 'run_node' in output, output  # the main thread's Python stack


def test_a_crash_in_the_perception_command_prints_its_python_stack(tmp_path):
    log = open(tmp_path / 'launch.log', 'w+b')
    process = subprocess.Popen(perception_command('launch', 'bringup', '--nodes', 'camera'),
                               env=stack_environment(), stdout=log, stderr=subprocess.STDOUT)
    nodes = []
    try:
        assert wait_until(lambda: 'started camera' in (tmp_path / 'launch.log').read_text(), 30)
        nodes = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGSEGV)  # the launcher, not its node
        assert process.wait(15) == -signal.SIGSEGV
    finally:
        if process.poll() is None:
            process.kill()
        for node in nodes:  # orphaned by the crash: nobody else stops them
            if node.is_running():
                node.kill()
        log.close()
    assert 'Fatal Python error: Segmentation fault' in (tmp_path / 'launch.log').read_text()


def test_without_mujoco_the_simulator_says_how_to_install_it(tmp_path):
    shadow = tmp_path / 'shadow' / 'mujoco'
    shadow.mkdir(parents=True)
    (shadow / '__init__.py').write_text("raise ImportError('no mujoco in this test')\n")
    starter = NodeStarter('simulator_node', tmp_path)
    try:
        node = starter(env={'PYTHONPATH': str(shadow.parent)})
        assert node.process.wait(60) == 2, node.output()
        output = node.output()
    finally:
        starter.kill_all()
    assert '[FATAL] mujoco (MuJoCo' in output, output
    assert 'python3-mujoco-pip' in output and 'pip install mujoco' in output, output
    assert 'Traceback' not in output, output
