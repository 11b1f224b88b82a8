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

"""Parameter specs against their YAML defaults, and the single stack description."""

import ast
import importlib
import importlib.metadata
import os

import pytest

from perception import docs, params, stack

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


@pytest.mark.parametrize('name', sorted(stack.NODES))
def test_every_node_declares_exactly_its_yaml_parameters(name):
    spec = stack.NODES[name]
    entry = next(e for e in importlib.metadata.distribution('perception').entry_points
                 if e.group == 'console_scripts' and e.name == spec.executable)
    module = importlib.import_module(entry.value.split(':')[0])
    for config in spec.config:
        path = os.path.join(ROOT, 'config', config)
        defaults = params.load_defaults(path)
        specs = params.expanded_specs(module.PARAMS, defaults, getattr(module, 'EXPAND', None))
        params.check_specs(specs, defaults, path)
        assert all(p.description for p in specs)


def test_every_stack_node_exists_with_its_config_files():
    for names in stack.STACKS.values():
        for name in names:
            for path in stack.config_files(stack.NODES[name], ROOT):
                assert os.path.isfile(path), path


def test_every_executable_is_a_console_script():
    scripts = {e.name for e in importlib.metadata.distribution('perception').entry_points
               if e.group == 'console_scripts'}
    assert {s.executable for s in stack.NODES.values()} <= scripts


def test_select_and_its_errors():
    assert [s.name for s in stack.select('bringup')] == list(stack.STACKS['bringup'])
    assert [s.name for s in stack.select('bringup', ['camera'])] == ['camera']
    with pytest.raises(ValueError, match='unknown stack'):
        stack.select('nope')
    with pytest.raises(ValueError, match='has no node lidar'):
        stack.select('bringup', ['lidar'])
    assert stack.parse_node_list('a, b c') == ['a', 'b', 'c']
    assert stack.parse_node_list('') == []


def test_ros_arguments_match_what_launch_ros_passes():
    spec = stack.NodeSpec('cam', 'camera_node', ('camera.yaml',), 'x',
                          remappings=(('camera/image_raw', 'front/image'),))
    args = stack.ros_arguments(spec, '/share', namespace='robot1', params_file='/u.yaml',
                               use_sim_time=True, log_level='debug')
    assert args == ['--ros-args', '-r', '__node:=cam', '-r', '__ns:=/robot1',
                    '--params-file', '/share/config/camera.yaml', '--params-file', '/u.yaml',
                    '-p', 'use_sim_time:=true', '-r', 'camera/image_raw:=front/image',
                    '--log-level', 'debug']


def test_log_levels_are_checked_before_a_node_starts():
    spec = stack.NODES['camera']
    assert stack.ros_arguments(spec, '/share', log_level='WARN')[-2:] == ['--log-level', 'warn']
    assert '--log-level' not in stack.ros_arguments(spec, '/share', log_level='')
    with pytest.raises(ValueError, match="log level 'loud' is not one of debug, info"):
        stack.ros_arguments(spec, '/share', log_level='loud')


def calls_and_strings(path):
    tree = ast.parse(open(path, encoding='utf-8').read())
    calls = {f'{n.func.value.id}.{n.func.attr}' for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and isinstance(n.func.value, ast.Name)}
    return calls, {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}


@pytest.mark.parametrize('name', ['bringup.launch.py', 'sim_gazebo.launch.py'])
def test_launch_files_build_their_nodes_from_the_stack_module(name):
    # The real launch_ros runs are in test_launch_file.py and test_gazebo_launch_file.py
    # (skipped where launch is absent); this part always runs: each file takes its graph from
    # perception.stack, through perception.launch_actions, not a copy.
    calls, strings = calls_and_strings(os.path.join(ROOT, 'launch', name))
    assert 'launch_actions.stack_nodes' in calls
    shared, shared_strings = calls_and_strings(os.path.join(ROOT, 'src', 'perception',
                                                            'launch_actions.py'))
    assert {'stack.select', 'stack.config_files'} <= shared
    executables = {s.executable for s in stack.NODES.values()}
    assert not executables & (strings | shared_strings)


def test_load_defaults_errors(tmp_path):
    with pytest.raises(params.ParameterError, match='cannot read'):
        params.load_defaults(str(tmp_path / 'missing.yaml'))
    two = tmp_path / 'two.yaml'
    two.write_text('a: {ros__parameters: {x: 1}}\nb: {ros__parameters: {x: 1}}\n')
    with pytest.raises(params.ParameterError, match='exactly one node entry'):
        params.load_defaults(str(two))
    bare = tmp_path / 'bare.yaml'
    bare.write_text('/**/n: {x: 1}\n')
    with pytest.raises(params.ParameterError, match='ros__parameters'):
        params.load_defaults(str(bare))
    nested = tmp_path / 'nested.yaml'
    nested.write_text('/**/n:\n  ros__parameters:\n    a: {b: 1, c: x}\n')
    assert params.load_defaults(str(nested)) == {'a.b': 1, 'a.c': 'x'}


def test_specs_and_defaults_must_agree():
    specs = [params.ParamSpec('a', 'd'), params.ParamSpec('b', 'd', min_value=0, max_value=1)]
    with pytest.raises(params.ParameterError, match='no default for: b'):
        params.check_specs(specs, {'a': 1}, 'f.yaml')
    with pytest.raises(params.ParameterError, match='unknown parameters: c'):
        params.check_specs(specs, {'a': 1, 'b': 0.5, 'c': 2}, 'f.yaml')
    with pytest.raises(params.ParameterError, match=r'within \[0, 1\]'):
        params.check_specs(specs, {'a': 1, 'b': 3}, 'f.yaml')
    with pytest.raises(params.ParameterError, match='one of x, y'):
        params.check_value(params.ParamSpec('s', 'd', choices=('x', 'y')), 'z')


def test_the_readme_tables_are_generated_from_the_code_and_yaml():
    readme = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()
    assert set(docs.sections(readme)) == set(docs.SECTIONS)
    assert docs.render(readme) == readme, 'README tables are out of date: run perception docs'


def test_generated_tables_show_yaml_defaults_and_descriptor_ranges():
    table = docs.parameter_table('perception.nodes.safety_node', 'safety.yaml')
    assert '| `future_tolerance_s` | `0.1` | 0 to 1 |' in table
    assert '| `person_classes` | `[person]` |  |' in table
    assert "| `scan.kind` | `'scan'` | scan, depth, pointcloud, odometry, detections |" in table
