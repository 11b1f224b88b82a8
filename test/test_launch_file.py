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
bringup.launch.py under the real launch_ros.

The pip venv has no launch_ros, so this runs where one is importable: this interpreter, or the
one named by PERCEPTION_LAUNCH_PYTHON (a ROS 2 install's python3, or a venv with launch_ros).
The venv's launcher, built from the same perception.stack, is tested in node/test_launcher.py.
"""

import os
import signal
import subprocess

import psutil
import pytest

from perception.launcher import stack_environment
from perception.probe import StackProbe
from support import launch_python, NO_LAUNCH_ROS

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
RUNNER = """
import sys
from launch import LaunchDescription, LaunchService
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
path, args = sys.argv[1], [a.split(':=', 1) for a in sys.argv[2:]]
service = LaunchService(noninteractive=True)
service.include_launch_description(LaunchDescription([IncludeLaunchDescription(
    PythonLaunchDescriptionSource(path), launch_arguments=args)]))
sys.exit(service.run())
"""


PYTHON = launch_python()
pytestmark = [pytest.mark.node, pytest.mark.skipif(PYTHON is None, reason=NO_LAUNCH_ROS)]


def test_bringup_launch_file_runs_the_stack_under_a_namespace(ros_context, tmp_path):
    env = stack_environment()
    launch_prefix = os.path.dirname(os.path.dirname(PYTHON))
    env['AMENT_PREFIX_PATH'] = os.pathsep.join([env['AMENT_PREFIX_PATH'], launch_prefix])
    env['PYTHONPATH'] = os.pathsep.join([os.path.join(ROOT, 'src'), env.get('PYTHONPATH', '')])
    env.pop('RCUTILS_COLORIZED_OUTPUT', None)  # the launch file decides
    log = open(tmp_path / 'launch.log', 'w+b')
    process = subprocess.Popen(
        [PYTHON, '-c', RUNNER, os.path.join(ROOT, 'launch', 'bringup.launch.py'),
         'namespace:=robot1'],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    probe = StackProbe(namespace='robot1', context=ros_context)
    try:
        assert probe.wait_for_images(10, timeout=40), (tmp_path / 'launch.log').read_text()
        nodes = psutil.Process(process.pid).children(recursive=True)
        command_lines = [n.cmdline() for n in nodes if 'camera_node' in ' '.join(n.cmdline())]
        assert command_lines, 'no camera node under launch'
        # Without a log level, only launch_ros's own --ros-args section.
        assert [c.count('--ros-args') for c in command_lines] == [1], command_lines
        camera = [n for n in nodes if 'camera_node' in ' '.join(n.cmdline())][0]
        # launch writes to a file here, not a terminal: no colour escapes in the log.
        assert camera.environ().get('RCUTILS_COLORIZED_OUTPUT') == '0'
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
    finally:
        probe.close()
        if process.poll() is None:
            process.kill()
    output = (tmp_path / 'launch.log').read_text()
    assert 'robot1.camera' in output and 'finished cleanly' in output
