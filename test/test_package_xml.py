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
package.xml against rosdep and the code: `rosdep install --from-paths src` must resolve it all.

Every dependency must be a rosdep key (test/rosdep_keys.txt lists the names looked up in
ros/rosdistro), and what the nodes import must be declared, with nothing declared unused.
"""

import ast
import os
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from perception.core.optional import PACKAGES as OPTIONAL_PACKAGES
from perception.gazebo import BRIDGE, SPAWNER

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
DEPEND_TAGS = ('depend', 'build_depend', 'buildtool_depend', 'build_export_depend',
               'exec_depend', 'test_depend', 'doc_depend')

#: Python modules the run-time code imports, and their rosdep keys.
MODULE_KEYS = {'numpy': 'python3-numpy', 'cv2': 'python3-opencv', 'yaml': 'python3-yaml',
               'paho': 'python3-paho-mqtt', 'psutil': 'python3-psutil',
               'cryptography': 'python3-cryptography'}
MODULE_KEYS.update({name: p.rosdep_key for name, p in OPTIONAL_PACKAGES.items()})
#: Imported, yet not a dependency: tqdm is a progress bar with a fallback when it is absent.
NOT_DEPENDENCIES = {'tqdm', 'perception'}
#: Training and export (`make models`, PyTorch), and the model tools (optimize, evaluate:
#: onnx, rosbags), and scenario campaigns (ray), run on a workstation, never on a robot.
DEVELOPMENT_ONLY = (os.path.join('src', 'perception', 'training'),
                    os.path.join('src', 'perception', 'modeltools'),
                    os.path.join('src', 'perception', 'campaign'))


def rosdep_keys():
    keys, section = {}, None
    with open(os.path.join(ROOT, 'test', 'rosdep_keys.txt'), encoding='utf-8') as stream:
        for line in stream:
            line = line.split('#', 1)[0].strip()
            if line.startswith('['):
                section = line.strip('[]')
            elif line:
                keys[line] = section
    return keys


def dependencies():
    root = ElementTree.parse(os.path.join(ROOT, 'package.xml')).getroot()
    return [(element.tag, element.text.strip()) for tag in DEPEND_TAGS
            for element in root.iter(tag)]


def imported_modules(folders):
    """Return {top-level module: first file importing it} for the Python files under folders."""
    found = {}
    for folder in folders:
        for current, dirs, files in os.walk(os.path.join(ROOT, folder)):
            dirs[:] = [d for d in dirs if d != '__pycache__']
            if os.path.relpath(current, ROOT).startswith(DEVELOPMENT_ONLY):
                continue
            for name in files:
                if not name.endswith('.py'):
                    continue
                path = os.path.join(current, name)
                with open(path, encoding='utf-8') as stream:
                    tree = ast.parse(stream.read(), path)
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        modules = [alias.name for alias in node.names]
                    elif isinstance(node, ast.ImportFrom) and node.level == 0:
                        modules = [node.module]
                    else:
                        continue
                    for module in modules:
                        found.setdefault(module.split('.')[0], os.path.relpath(path, ROOT))
    return found


def test_every_dependency_is_a_rosdep_key():
    keys = rosdep_keys()
    unknown = [f'<{tag}>{name}' for tag, name in dependencies() if name not in keys]
    assert not unknown, ('not a rosdep key (look it up in ros/rosdistro and add it to '
                         f'test/rosdep_keys.txt with where it comes from): {unknown}')


def test_the_package_is_ament_python_without_a_buildtool_key():
    root = ElementTree.parse(os.path.join(ROOT, 'package.xml')).getroot()
    assert root.find('export/build_type').text == 'ament_python'
    assert 'ament_python' not in [name for _tag, name in dependencies()]


def test_what_the_code_imports_is_declared_and_nothing_declared_goes_unused():
    declared = {name: tag for tag, name in dependencies()}
    ros_keys = {k for k, section in rosdep_keys().items() if section == 'ros'}
    imported = imported_modules(['src', 'launch'])
    third_party = {m: f for m, f in imported.items()
                   if m not in sys.stdlib_module_names and m not in NOT_DEPENDENCIES}
    needed = {}
    for module, path in third_party.items():
        key = module if module in ros_keys else MODULE_KEYS.get(module)
        assert key, f'{path} imports {module}: which rosdep key provides it?'
        needed[key] = path
    # Modules imported by name (perception.core.optional.require) count too, and so do the
    # packages whose nodes launch/sim_gazebo.launch.py starts.
    for module, package in OPTIONAL_PACKAGES.items():
        needed.setdefault(package.rosdep_key, 'perception/core/optional.py')
    for package, _executable in (BRIDGE, SPAWNER):
        needed.setdefault(package, 'perception/gazebo.py')
    missing = sorted(k for k in needed if k not in declared)
    assert not missing, f'imported but not in package.xml: {missing}'
    # Run-time keys must be exec (or plain) dependencies, except the simulator's MuJoCo,
    # which package.xml declares for the tests that drive the simulated warehouse.
    test_only = {'python3-mujoco-pip'}
    wrong = sorted(k for k in needed if k not in test_only
                   and declared[k] not in ('exec_depend', 'depend'))
    assert not wrong, f'needed at run time but not an exec_depend: {wrong}'
    # ROS packages declared for running must be used; ament_index_python is found by the
    # launch file and params through ament's index.
    unused = sorted(name for name, tag in declared.items()
                    if tag == 'exec_depend' and name in ros_keys and name not in needed)
    assert not unused, f'declared in package.xml but imported nowhere: {unused}'


# catkin_pkg parses conditions with pyparsing's older names.
@pytest.mark.filterwarnings('ignore:.*deprecated(,| -) use:DeprecationWarning')
def test_gazebo_is_optional_for_rosdep():
    package = pytest.importorskip('catkin_pkg.package', reason='catkin_pkg reads conditions')
    parsed = package.parse_package(os.path.join(ROOT, 'package.xml'))
    gazebo = {'ros_gz_bridge', 'ros_gz_sim'}

    def exec_depends(environment):
        parsed.evaluate_conditions(environment)
        return {d.name for d in parsed.exec_depends if d.evaluated_condition}

    # A robot's `rosdep install` leaves Gazebo out; PERCEPTION_GAZEBO=1 brings its bridge in.
    assert not exec_depends({}) & gazebo
    assert gazebo <= exec_depends({'PERCEPTION_GAZEBO': '1'})
    assert 'rclpy' in exec_depends({})
