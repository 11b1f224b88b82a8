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
Start the perception stack on a ROS 2 install: `ros2 launch perception bringup.launch.py`.

The node list, parameter files and remappings come from perception.stack, which the venv's own
launcher (`perception launch bringup`) reads too; the actions are built by
perception.launch_actions, as for the other launch files.

Launch arguments (name:=value):
  params_file   YAML applied after the package defaults in config/ (default: none)
  namespace     robot namespace for every node (default: none)
  use_sim_time  follow /clock (default: false)
  nodes         comma-separated subset of the nodes to start (default: all)
  log_level     debug, info, warn, error or fatal (default: none, the nodes' own: info)
  respawn       respawn nodes marked so in perception.stack (default: true)

Log lines are coloured on a terminal (emulate_tty), plain when launch's output is a pipe or a
file, unless RCUTILS_COLORIZED_OUTPUT says otherwise: as the venv's launcher does.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

from perception import launch_actions

STACK = 'bringup'


def _nodes(context, *_args, **_kwargs):
    use_sim_time = launch_actions.truthy(LaunchConfiguration('use_sim_time').perform(context))
    return launch_actions.stack_nodes(context, STACK, use_sim_time)


def generate_launch_description():
    """Declare the arguments and the nodes of the stack."""
    return LaunchDescription(
        launch_actions.environment() + launch_actions.node_arguments(STACK) + [
            DeclareLaunchArgument('use_sim_time', default_value='false',
                                  description='follow /clock'),
            OpaqueFunction(function=_nodes),
        ])
