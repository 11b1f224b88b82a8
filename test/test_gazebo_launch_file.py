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
sim_gazebo.launch.py under the real launch_ros, argument by argument.

Gazebo and ros_gz cannot be installed here, so the launch file is loaded and its actions are
expanded by launch and launch_ros themselves (arguments declared, the opaque function run, each
node's substitutions performed, its command line rendered), without starting a process. As
test/test_launch_file.py, it runs where launch_ros is importable: this interpreter, or the one
PERCEPTION_LAUNCH_PYTHON names.
"""

import json
import os
import subprocess
import xml.etree.ElementTree as ElementTree

import pytest
import yaml

from perception.launcher import stack_environment
from perception.sim.scenario import load_scenario
from support import launch_python, NO_LAUNCH_ROS

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
LAUNCH_FILE = os.path.join(ROOT, 'launch', 'sim_gazebo.launch.py')
PYTHON = launch_python()
pytestmark = [pytest.mark.node, pytest.mark.skipif(PYTHON is None, reason=NO_LAUNCH_ROS)]

#: Loads the launch file, expands its actions as launch would before starting them, and prints
#: each process's package, executable, name, namespace, command line and parameters as JSON.
RUNNER = r"""
import json
import sys

import yaml
from launch import LaunchContext
from launch.actions import ExecuteProcess
from launch.launch_description_sources import get_launch_description_from_python_launch_file
from launch.utilities import perform_substitutions
from launch_ros.actions import Node
from launch_ros.substitutions import ExecutableInPackage

path, args = sys.argv[1], dict(a.split(':=', 1) for a in sys.argv[2:])
description = get_launch_description_from_python_launch_file(path)
context = LaunchContext()
context.launch_configurations.update(args)


def describe(process):
    entry = {'node': isinstance(process, Node)}
    if entry['node']:
        process._perform_substitutions(context)  # what Node.execute does first
        namespace = process.expanded_node_namespace
        entry.update(name=process.node_name.rsplit('/', 1)[-1],
                     namespace=None if namespace == Node.UNSPECIFIED_NODE_NAMESPACE else namespace)
        context.extend_locals({'ros_specific_arguments': {
            'name': f'__node:={entry["name"]}', 'ns': f'__ns:={entry["namespace"]}'}})
    cmd = []
    for part in process.cmd:
        if len(part) == 1 and isinstance(part[0], ExecutableInPackage):
            entry['package'] = perform_substitutions(context, part[0].package)
            entry['executable'] = perform_substitutions(context, part[0].executable)
        else:
            cmd.append(perform_substitutions(context, part))
    entry['cmd'] = cmd
    files, values = [], {}
    for flag, value in zip(cmd, cmd[1:]):
        if flag == '--params-file':
            with open(value) as stream:
                doc = yaml.safe_load(stream)
            # A dict of the launch file's, written out by launch_ros for this node.
            key = next((k for k in ('/**', process.node_name) if k in doc), None)
            if entry['node'] and key and len(doc) == 1:
                values.update(doc[key]['ros__parameters'])
            else:
                files.append(value)
    entry.update(param_files=files, params=values)
    return entry


out = {'arguments': sorted(a.name for a in description.get_launch_arguments()),
       'processes': [], 'error': None}
try:
    pending = list(description.entities)
    while pending:
        entity = pending.pop(0)
        if isinstance(entity, ExecuteProcess):
            out['processes'].append(describe(entity))
        else:
            pending[:0] = list(entity.visit(context) or [])
except Exception as exc:
    out['error'] = f'{type(exc).__name__}: {exc}'
print('RESULT ' + json.dumps(out))
"""


def expand(*args, env=None):
    environment = stack_environment(env)
    launch_prefix = os.path.dirname(os.path.dirname(PYTHON))
    environment['AMENT_PREFIX_PATH'] = os.pathsep.join([environment['AMENT_PREFIX_PATH'],
                                                        launch_prefix])
    environment['PYTHONPATH'] = os.pathsep.join([os.path.join(ROOT, 'src'),
                                                 environment.get('PYTHONPATH', '')])
    result = subprocess.run([PYTHON, '-c', RUNNER, LAUNCH_FILE, *args], env=environment,
                            capture_output=True, text=True, timeout=120)
    lines = [line for line in result.stdout.splitlines() if line.startswith('RESULT ')]
    assert lines, result.stdout + result.stderr
    return json.loads(lines[-1][len('RESULT '):])


def by_executable(result):
    return {p.get('executable', p['cmd'][0]): p for p in result['processes']}


def test_the_defaults_run_gazebo_with_its_window_spawn_bridge_and_our_nodes(tmp_path):
    result = expand(f'world_dir:={tmp_path}', env={'ROS_DISTRO': 'jazzy'})
    assert result['error'] is None, result
    assert result['arguments'] == ['gazebo', 'headless', 'log_level', 'namespace', 'nodes',
                                   'params_file', 'scenario', 'world_dir']
    processes = by_executable(result)
    assert set(processes) == {'gz', 'create', 'parameter_bridge', 'detector_node',
                              'safety_node', 'mapper_node', 'route_driver_node'}
    world = tmp_path / 'person_crossing.sdf'  # the simulator's scenario by default
    assert processes['gz']['cmd'] == ['gz', 'sim', '-r', str(world)]
    assert 'gz-sim-sensors-system' in world.read_text()  # Harmonic's, as ROS_DISTRO says
    spawn = processes['create']
    assert spawn['package'] == 'ros_gz_sim' and spawn['namespace'] is None
    robot = tmp_path / 'warehouse_amr.model.sdf'
    assert spawn['cmd'][:8] == ['-world', 'person_crossing', '-file', str(robot),
                                '-name', 'warehouse_amr', '-x=0', '-y=0']
    ElementTree.parse(robot)  # written, and XML
    bridge = processes['parameter_bridge']
    assert bridge['package'] == 'ros_gz_bridge' and bridge['namespace'] == '/'
    assert bridge['params']['config_file'].endswith(os.path.join('config', 'gz_bridge.yaml'))
    assert os.path.isfile(bridge['params']['config_file'])
    for name in ('detector_node', 'safety_node', 'mapper_node', 'route_driver_node'):
        node = processes[name]
        assert node['package'] == 'perception' and node['params']['use_sim_time'] is True
        assert '--log-level' not in node['cmd']
    # The route driver drives the world's own scenario, whatever its YAML default says.
    scenario = load_scenario(processes['route_driver_node']['params']['scenario'])
    assert scenario.name == 'person_crossing'


def test_fortress_headless_on_humble(tmp_path):
    result = expand(f'world_dir:={tmp_path}', 'headless:=true', env={'ROS_DISTRO': 'humble'})
    assert result['error'] is None, result
    gz = by_executable(result)['ign']
    world = tmp_path / 'person_crossing.sdf'
    assert gz['cmd'] == ['ign', 'gazebo', '-r', '-s', '--headless-rendering', str(world)]
    assert 'ignition-gazebo-sensors-system' in world.read_text()
    assert 'ignition_frame_id' in (tmp_path / 'warehouse_amr.model.sdf').read_text()
    # The argument wins over the distribution's default.
    result = expand(f'world_dir:={tmp_path}', 'gazebo:=harmonic', env={'ROS_DISTRO': 'humble'})
    assert by_executable(result)['gz']['cmd'][:2] == ['gz', 'sim']


def test_scenario_namespace_nodes_log_level_and_params_file(tmp_path):
    params = tmp_path / 'mine.yaml'
    params.write_text(yaml.safe_dump({'/**/safety': {'ros__parameters': {}}}))
    result = expand(f'world_dir:={tmp_path}', 'scenario:=empty_pallet_in_lane',
                    'namespace:=robot1', 'nodes:=safety,route_driver', 'log_level:=debug',
                    f'params_file:={params}')
    assert result['error'] is None, result
    processes = by_executable(result)
    assert set(processes) == {'gz', 'create', 'parameter_bridge', 'safety_node',
                              'route_driver_node'}
    spawn = processes['create']['cmd']
    assert spawn[:2] == ['-world', 'empty_pallet_in_lane']
    assert spawn[6:spawn.index('--ros-args')] == ['-x=2', '-y=-6', '-z=0', '-Y=1.5708']
    # Gazebo's topics are global; the ROS side of the bridge and our nodes are namespaced.
    assert processes['parameter_bridge']['namespace'] == '/robot1'
    for name in ('safety_node', 'route_driver_node'):
        node = processes[name]
        assert node['namespace'] == '/robot1'
        assert node['param_files'][-1] == str(params)  # after the package defaults
        assert node['cmd'][node['cmd'].index('--log-level') + 1] == 'debug'
    assert load_scenario(processes['route_driver_node']['params']['scenario']).name == \
        'empty_pallet_in_lane'


@pytest.mark.parametrize('args,message', [
    (('scenario:=no_such_scenario',), 'sim_gazebo: cannot read scenario'),
    (('gazebo:=garden',), 'garden'),
    (('nodes:=simulator',), "stack 'gazebo' has no node simulator"),
    (('log_level:=loud',), "log level 'loud' is not one of"),
    (('params_file:=/nonexistent.yaml',), 'params_file /nonexistent.yaml not found'),
])
def test_bad_arguments_stop_the_launch_with_a_clear_error(tmp_path, args, message):
    result = expand(f'world_dir:={tmp_path}', *args)
    assert result['error'] and message in result['error'], result
