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
Run a scenario in Gazebo with the stack: `ros2 launch perception sim_gazebo.launch.py`.

It writes the scenario's world and the robot model (perception.gazebo, from the same scenario
file and robot description as the MuJoCo simulator), runs Gazebo on the world (`gz sim`, or
`ign gazebo` for Fortress), spawns the robot at the scenario's start (ros_gz_sim's create),
bridges its topics (ros_gz_bridge, config/gz_bridge.yaml) and starts our nodes of the `gazebo`
stack on Gazebo's clock (use_sim_time), the route driver on the world's scenario.

Launch arguments (name:=value):
  scenario      a scenario under config/scenarios/, or a path (default: the simulator's)
  gazebo        harmonic or fortress (default: fortress when ROS_DISTRO is humble, else harmonic)
  headless      true: Gazebo's server alone, rendering headless (-s --headless-rendering)
                (default: false, with its window)
  world_dir     where the world and robot files are written (default: a new temporary directory)
  params_file   YAML applied after the package defaults in config/ (default: none)
  namespace     robot namespace for our nodes and the bridge's ROS side (default: none)
  nodes         comma-separated subset of our nodes to start (default: all)
  log_level     debug, info, warn, error or fatal (default: none, the nodes' own: info)

No node of this stack respawns (perception.stack), so there is no respawn argument: Gazebo, the
bridge and every node of ours stop the whole launch when they exit, and so does a failed spawn.
"""

import tempfile

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, LogInfo, OpaqueFunction
from launch.actions import RegisterEventHandler, Shutdown
from launch.event_handlers import OnProcessExit
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from perception import gazebo, launch_actions, stack
from perception.params import load_defaults
from perception.sim.sdf import FLAVOURS


def _stop_if_failed(what):
    def on_exit(event, _context):
        if event.returncode != 0:
            return [Shutdown(reason=f'{what} failed with status {event.returncode}')]
        return None
    return on_exit


def _processes(context, *_args, **_kwargs):
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    out_dir = arg('world_dir') or tempfile.mkdtemp(prefix='perception_gazebo_')
    try:
        run = gazebo.prepare(arg('scenario'), arg('gazebo'), out_dir)
    except (ValueError, OSError) as exc:  # a bad scenario, robot or flavour; no place to write
        raise RuntimeError(f'sim_gazebo: {exc}') from None
    share = get_package_share_directory(stack.PACKAGE)
    actions = [LogInfo(msg=f'sim_gazebo: {run.world_file} and {run.robot_file} for '
                       f'{run.gazebo.release}')]
    actions += [LogInfo(msg=f'sim_gazebo: {note}') for note in run.notes]
    actions.append(ExecuteProcess(
        cmd=run.gz_command(launch_actions.truthy(arg('headless'))), name='gazebo',
        output='screen', on_exit=Shutdown(reason='Gazebo exited')))
    spawn = Node(package=gazebo.SPAWNER[0], executable=gazebo.SPAWNER[1], name='spawn_robot',
                 arguments=run.spawn_arguments(), output='screen')
    actions += [spawn, RegisterEventHandler(OnProcessExit(
        target_action=spawn, on_exit=_stop_if_failed('spawning the robot')))]
    actions.append(Node(package=gazebo.BRIDGE[0], executable=gazebo.BRIDGE[1], name='gz_bridge',
                        namespace=arg('namespace'), parameters=[run.bridge_parameters(share)],
                        output='screen', on_exit=Shutdown(reason='the bridge exited')))
    return actions + launch_actions.stack_nodes(
        context, gazebo.STACK, use_sim_time=True,
        overrides={'route_driver': gazebo.route_driver_parameters(run)})


def generate_launch_description():
    """Declare the arguments, then write the files and start Gazebo, the bridge and our nodes."""
    return LaunchDescription(
        launch_actions.environment() + [
            DeclareLaunchArgument('scenario', default_value=str(
                load_defaults('simulator.yaml')['scenario']),
                description='a scenario under config/scenarios/, or a path'),
            DeclareLaunchArgument('gazebo', default_value=gazebo.default_gazebo(),
                                  choices=sorted(FLAVOURS),
                                  description='which Gazebo: ' + '; '.join(
                                      f'{k}: {v.release}' for k, v in FLAVOURS.items())),
            DeclareLaunchArgument('headless', default_value='false',
                                  description="true: Gazebo's server alone, rendering headless"),
            DeclareLaunchArgument('world_dir', default_value='',
                                  description='where the world and robot files are written '
                                  '(default: a new temporary directory)'),
        ] + launch_actions.node_arguments(gazebo.STACK) + [
            OpaqueFunction(function=_processes),
        ])
