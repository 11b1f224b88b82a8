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
The launch_ros actions of our stacks, shared by the launch files under launch/.

The node list, parameter files and remappings come from perception.stack, which the venv's own
launcher reads too. Importable only where launch_ros is (a ROS 2 install); the venv has none.
"""

import inspect
import os
import sys
from typing import Dict, List, Optional

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, RegisterEventHandler
from launch.actions import SetEnvironmentVariable, Shutdown
from launch.event_handlers import OnProcessExit
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from perception import launcher, stack


def truthy(text: str) -> bool:
    """Tell whether a launch argument's text means yes."""
    return text.strip().lower() in ('1', 'true', 'yes', 'on')


def supports_respawn_max_retries() -> bool:
    """Tell whether launch limits respawns (Iron and newer); Humble respawns without limit."""
    try:
        from launch.actions import ExecuteLocal
    except ImportError:
        return False
    return 'respawn_max_retries' in inspect.signature(ExecuteLocal.__init__).parameters


def supports_ros_arguments() -> bool:
    """Tell whether launch_ros's Node takes ros_arguments (0.15 and newer: Humble on)."""
    return 'ros_arguments' in inspect.signature(Node.__init__).parameters


def _stop_after_exits(spec):
    """Shut down once a required, respawning node has exited more often than it may respawn."""
    exits = []

    def on_exit(event, _context):
        exits.append(event.returncode)
        if len(exits) > spec.max_respawns:
            return [Shutdown(reason=f'required node {spec.name} exited {len(exits)} times')]
        return None
    return on_exit


def environment() -> list:
    """Return the actions that set the nodes' transport and log colour, unless the user did."""
    # Best-effort images of 640x480 and up are lost over Fast DDS's default transports: the
    # same transport settings as the venv's launcher (config/fastdds.xml), unless the user chose.
    wanted = launcher.stack_environment()
    env = [SetEnvironmentVariable(name, wanted[name]) for name in launcher.TRANSPORT_VARIABLES
           if name in wanted and name not in os.environ]
    # emulate_tty gives each node a terminal, so rcutils colours; not when launch's own output
    # is a pipe or a file (no escape codes in logs), unless the user chose.
    if launcher.COLOUR_VARIABLE not in os.environ and not launcher.is_terminal(sys.stdout):
        env.append(SetEnvironmentVariable(launcher.COLOUR_VARIABLE, '0'))
    return env


def node_arguments(stack_name: str) -> List[DeclareLaunchArgument]:
    """Declare the arguments a stack's launch file takes for our nodes (respawn where any may)."""
    respawns = any(stack.NODES[name].respawn for name in stack.STACKS[stack_name])
    return [
        DeclareLaunchArgument('params_file', default_value='',
                              description='YAML applied after the package defaults'),
        DeclareLaunchArgument('namespace', default_value='', description='robot namespace'),
        DeclareLaunchArgument('nodes', default_value='',
                              description='comma-separated subset of: '
                              + ', '.join(stack.STACKS[stack_name])),
        DeclareLaunchArgument('log_level', default_value='',
                              description='ROS log level: ' + ', '.join(stack.LOG_LEVELS)
                              + " (default: none, the nodes' own: info)"),
    ] + ([DeclareLaunchArgument('respawn', default_value='true',
                                description='respawn nodes marked so')] if respawns else [])


def stack_nodes(context, stack_name: str, use_sim_time: bool,
                overrides: Optional[Dict[str, Dict[str, object]]] = None) -> list:
    """
    Return the Node actions of a stack, as node_arguments() and the context configure them.

    overrides: parameters per node name, applied after the package defaults and params_file.
    """
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    share = get_package_share_directory(stack.PACKAGE)
    params_file = arg('params_file')
    if params_file and not os.path.isfile(params_file):
        raise RuntimeError(f'params_file {params_file} not found')
    respawn = truthy(context.launch_configurations.get('respawn', 'false'))
    try:
        log_level = stack.check_log_level(arg('log_level'))
        specs = stack.select(stack_name, stack.parse_node_list(arg('nodes')))
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None
    # launch_ros opens a --ros-args section of its own after these; without a log level the
    # command line has that one section only.
    level_args = ['--log-level', log_level] if log_level else []
    has_max_retries = supports_respawn_max_retries()
    has_ros_arguments = supports_ros_arguments()
    actions = []
    for spec in specs:
        parameters = stack.config_files(spec, share) + ([params_file] if params_file else [])
        parameters.append(dict((overrides or {}).get(spec.name, {}), use_sim_time=use_sim_time))
        kwargs = {
            'package': stack.PACKAGE, 'executable': spec.executable, 'name': spec.name,
            'namespace': arg('namespace'), 'parameters': parameters,
            'remappings': list(spec.remappings), 'output': 'screen', 'emulate_tty': True,
        }
        if level_args and has_ros_arguments:
            kwargs['ros_arguments'] = level_args
        elif level_args:  # launch_ros before 0.15 (Foxy, Galactic)
            kwargs['arguments'] = ['--ros-args'] + level_args
        if respawn and spec.respawn:
            kwargs.update(respawn=True, respawn_delay=spec.respawn_delay)
            if has_max_retries:
                kwargs['respawn_max_retries'] = spec.max_respawns
        elif spec.required:
            kwargs['on_exit'] = Shutdown(reason=f'required node {spec.name} exited')
        node = Node(**kwargs)
        actions.append(node)
        if respawn and spec.respawn and spec.required:
            actions.append(RegisterEventHandler(OnProcessExit(
                target_action=node, on_exit=_stop_after_exits(spec))))
    return actions
