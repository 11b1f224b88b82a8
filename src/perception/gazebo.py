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
A scenario in Gazebo: the world and robot files, and how to start, spawn and bridge them.

launch/sim_gazebo.launch.py (launch_ros) starts the processes listed here with our nodes (the
`gazebo` stack of perception.stack); `perception gazebo-world` and `perception gazebo-robot`
write the files alone. Nothing here needs Gazebo or launch_ros.
"""

from dataclasses import dataclass
import os
from typing import Dict, List, Mapping, Optional, Tuple

from perception.core.calibration import CalibrationError, resolve_url
from perception.core.robot import load_robot, RobotDescription, RobotError
from perception.params import config_path, load_defaults, package_share_of
from perception.sim.scenario import load_scenario, Scenario, scenario_path
from perception.sim.sdf import Flavour, flavour, robot_sdf, world_name, world_sdf

#: The stack of perception.stack that runs with Gazebo: ours, without the MuJoCo simulator.
STACK = 'gazebo'
#: ros_gz_bridge's configuration, under config/.
BRIDGE_CONFIG = 'gz_bridge.yaml'
#: (package, executable) of the bridge and of the spawner.
BRIDGE = ('ros_gz_bridge', 'parameter_bridge')
SPAWNER = ('ros_gz_sim', 'create')


def default_gazebo(environ: Mapping[str, str] = os.environ) -> str:
    """Return the Gazebo that goes with the ROS 2 in use: Fortress with Humble, else Harmonic."""
    return 'fortress' if environ.get('ROS_DISTRO', '') == 'humble' else 'harmonic'


def simulator_params(params_file: str = '') -> Dict[str, object]:
    """Return the simulator's parameters (config/simulator.yaml), or a file's in their place."""
    return load_defaults(params_file or config_path('simulator.yaml'))


def robot_description(url: str) -> RobotDescription:
    """Read a robot description named as the parameter robot_description names it."""
    try:
        return load_robot(resolve_url(url, '', package_share_of))
    except CalibrationError as exc:
        raise RobotError(f'robot description {url}: {exc}') from None


def scenario_of(name_or_path: str, robot: RobotDescription) -> Scenario:
    """Load a scenario by name (config/scenarios/) or path; ScenarioError says what is wrong."""
    footprint = (robot.footprint.length, robot.footprint.width)
    return load_scenario(scenario_path(name_or_path, config_path('scenarios')), footprint)


def world_text(scenario: Scenario, gazebo: str, params: Dict[str, object]
               ) -> Tuple[str, List[str]]:
    """Return a scenario's SDF world and the notes on what Gazebo does otherwise."""
    return world_sdf(scenario, gazebo, max_speed=params['robot_max_speed'],
                     accel=params['robot_max_accel'])


@dataclass(frozen=True)
class GazeboRun:
    """The files of one run and the command lines that use them."""

    scenario: Scenario
    robot: RobotDescription
    gazebo: Flavour
    world_file: str
    robot_file: str
    notes: Tuple[str, ...]

    @property
    def world_name(self) -> str:
        """Return the world's name in Gazebo (its services and topics carry it)."""
        return world_name(self.scenario)

    def gz_command(self, headless: bool) -> List[str]:
        """Return the command that runs the world: started at once, server only if headless."""
        return list(self.gazebo.command) + ['-r'] + (
            ['-s', '--headless-rendering'] if headless else []) + [self.world_file]

    def spawn_arguments(self) -> List[str]:
        """Return ros_gz_sim create's arguments: the robot model at the scenario's start."""
        x, y, yaw = self.scenario.robot_start
        return ['-world', self.world_name, '-file', self.robot_file, '-name', self.robot.name,
                f'-x={x:.6g}', f'-y={y:.6g}', '-z=0', f'-Y={yaw:.6g}']

    def bridge_parameters(self, share: str) -> Dict[str, object]:
        """Return the bridge's parameters: its topics (config/gz_bridge.yaml) on sim time."""
        return {'config_file': os.path.join(share, 'config', BRIDGE_CONFIG), 'use_sim_time': True}


def prepare(scenario: str, gazebo: str, out_dir: str, params_file: str = '') -> GazeboRun:
    """
    Write a scenario's world and the robot model into out_dir, for a flavour of Gazebo.

    The robot is the simulator's (its robot_description, sensors and rates in
    config/simulator.yaml, or in params_file, a file laid out as that one). ScenarioError,
    RobotError, ParameterError or ValueError say what cannot be used.
    """
    kind = flavour(gazebo)
    params = simulator_params(params_file)
    robot = robot_description(params['robot_description'])
    loaded = scenario_of(scenario, robot)
    world, notes = world_text(loaded, kind.name, params)
    os.makedirs(out_dir, exist_ok=True)
    world_file = os.path.join(out_dir, f'{world_name(loaded)}.sdf')
    # A world's name has no dot (world_name), so the two never share a file.
    robot_file = os.path.join(out_dir, f'{robot.name}.model.sdf')
    for path, text in ((world_file, world), (robot_file, robot_sdf(robot, params, kind.name))):
        with open(path, 'w', encoding='utf-8') as stream:
            stream.write(text)
    return GazeboRun(loaded, robot, kind, world_file, robot_file, tuple(notes))


def route_driver_parameters(run: GazeboRun) -> Dict[str, object]:
    """Return what the route driver must drive: the world's own scenario file."""
    return {'scenario': os.path.abspath(run.scenario.source)}


def write(text: str, output: Optional[str]) -> None:
    """Write a generated file, or print it when output is '-' or empty."""
    if not output or output == '-':
        print(text, end='')
        return
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, 'w', encoding='utf-8') as stream:
        stream.write(text)
