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
A strict reading of SDF files: every element and attribute must be in the specification.

`ign sdf -k` (libsdformat) accepts an element it does not know with a warning at most, so a
misspelled element passes, and Gazebo then ignores it. This check refuses it. The specification
is the one libsdformat itself describes (`ign sdf -d 1.9`, or `gz sdf -d 1.9`), read at check
time, so nothing of it is copied here; what Gazebo reads beyond it is the allow-list below: the
element that names a sensor's frame, and the parameters of each system we load, per flavour.
Values are checked against the specification's bounds where it gives them.
"""

from dataclasses import dataclass, field
import math
import shutil
import subprocess
from typing import Dict, List, Optional, Tuple
import xml.etree.ElementTree as ElementTree

#: What Gazebo reads beyond the SDF specification, per flavour (perception.sim.sdf.FLAVOURS):
#: the sensor element that sets the frame_id of its messages, and for each system's library
#: its class and the parameters it reads (gz-sim 8 and Ignition Gazebo 6 read these names).
_DRIVE = ('left_joint', 'right_joint', 'wheel_separation', 'wheel_radius', 'topic',
          'odom_topic', 'tf_topic', 'frame_id', 'child_frame_id', 'odom_publish_frequency',
          'min_velocity', 'max_velocity', 'min_acceleration', 'max_acceleration', 'min_jerk',
          'max_jerk') + tuple(f'{bound}_{axis}_{what}' for bound in ('min', 'max')
                              for axis in ('linear', 'angular')
                              for what in ('velocity', 'acceleration', 'jerk'))
_ODOMETRY = ('odom_frame', 'robot_base_frame', 'odom_publish_frequency', 'odom_topic',
             'odom_covariance_topic', 'tf_topic', 'dimensions', 'xyz_offset', 'rpy_offset',
             'gaussian_noise')
_SYSTEMS = {
    'physics-system': ('Physics', {'engine': {'filename': {}}}),
    'sensors-system': ('Sensors', {'render_engine': {}, 'background_color': {},
                                   'ambient_light': {}, 'disable_on_drained_battery': {}}),
    'scene-broadcaster-system': ('SceneBroadcaster', {'dynamic_pose_hertz': {},
                                                      'state_hertz': {}}),
    'user-commands-system': ('UserCommands', {}),
    'diff-drive-system': ('DiffDrive', {name: {} for name in _DRIVE}),
    'odometry-publisher-system': ('OdometryPublisher', {name: {} for name in _ODOMETRY}),
}


@dataclass(frozen=True)
class Extensions:
    """Gazebo's own elements, beyond the specification."""

    sensor: Tuple[str, ...]
    #: Library name -> (class name, allowed children: name -> their allowed children).
    plugins: Dict[str, Tuple[str, Dict[str, dict]]]


EXTENSIONS = {
    'harmonic': Extensions(('gz_frame_id',), {
        f'gz-sim-{lib}': (f'gz::sim::systems::{cls}', children)
        for lib, (cls, children) in _SYSTEMS.items()}),
    'fortress': Extensions(('ignition_frame_id',), {
        f'ignition-gazebo-{lib}': (f'ignition::gazebo::systems::{cls}', children)
        for lib, (cls, children) in _SYSTEMS.items()}),
}


class SdfCheckError(RuntimeError):
    """The specification cannot be had: no SDF tool, or one that fails."""


@dataclass
class SpecElement:
    """One element of the specification: its attributes, children and bounds."""

    name: str
    attributes: Dict[str, bool] = field(default_factory=dict)  # name -> required
    children: Dict[str, 'SpecElement'] = field(default_factory=dict)
    any_children: bool = False  # plugin: its content is the plugin's own
    value_type: str = ''
    #: Bounds of the value, one per component or one for all; empty: none.
    low: Tuple[float, ...] = ()
    high: Tuple[float, ...] = ()


def _numbers(text: str) -> List[float]:
    try:
        return [float(v) for v in text.split()]
    except ValueError:
        return []


def _parse_spec(node: ElementTree.Element) -> SpecElement:
    spec = SpecElement(node.get('name', ''), value_type=node.get('type', ''))
    spec.low = tuple(_numbers(node.get('min', '')))
    spec.high = tuple(_numbers(node.get('max', '')))
    for attribute in node.findall('attribute'):
        spec.attributes[attribute.get('name')] = attribute.get('required') == '1'
    for child in node.findall('element'):
        if child.get('copy_data') == 'true':
            spec.any_children = True
        else:
            spec.children[child.get('name')] = _parse_spec(child)
    return spec


def load_spec(description: str) -> SpecElement:
    """Return the specification from its description (the output of `ign sdf -d`)."""
    root = ElementTree.fromstring(description)
    if root.tag != 'element' or root.get('name') != 'sdf':
        raise SdfCheckError('not an SDF specification description: its root is not <sdf>')
    return _parse_spec(root)


def sdf_tool() -> Optional[List[str]]:
    """Return the command of an installed SDF tool (`gz sdf` or `ign sdf`), or None."""
    for command in (['gz', 'sdf'], ['ign', 'sdf']):
        if shutil.which(command[0]):
            probe = subprocess.run(command + ['--help'], capture_output=True, text=True)
            if probe.returncode == 0 and '--check' in probe.stdout + probe.stderr:
                return command
    return None


def describe(version: str = '1.9', tool: Optional[List[str]] = None) -> str:
    """Return libsdformat's description of a version of the specification."""
    tool = tool or sdf_tool()
    if not tool:
        raise SdfCheckError("no SDF tool: install Debian's ignition-tools and libsdformat-dev "
                            "(`ign sdf`) or Gazebo's gz-tools (`gz sdf`)")
    result = subprocess.run(tool + ['-d', version], capture_output=True, text=True)
    if result.returncode != 0 or '<element' not in result.stdout:
        raise SdfCheckError(f'{" ".join(tool)} -d {version} failed: {result.stderr.strip()}')
    return result.stdout[result.stdout.index('<element'):]


def check_file_with_tool(path: str, tool: Optional[List[str]] = None) -> Tuple[bool, str]:
    """Run libsdformat's own check (`ign sdf -k`) on a file: (valid, its output)."""
    tool = tool or sdf_tool()
    if not tool:
        raise SdfCheckError('no SDF tool to check with')
    result = subprocess.run(tool + ['-k', path], capture_output=True, text=True)
    output = result.stdout + result.stderr
    return result.returncode == 0 and 'Valid.' in output, output


class _Checker:
    def __init__(self, spec: SpecElement, extensions: Extensions):
        self.spec = spec
        self.extensions = extensions
        self.problems: List[str] = []

    def element(self, node: ElementTree.Element, spec: SpecElement, path: str) -> None:
        for name in node.attrib:
            if name not in spec.attributes:
                self.problems.append(f'{path}: unknown attribute {name}')
        for name, required in spec.attributes.items():
            if required and name not in node.attrib:
                self.problems.append(f'{path}: missing attribute {name}')
        for i, value in enumerate(_numbers(node.text or '')):
            low = spec.low[min(i, len(spec.low) - 1)] if spec.low else -math.inf
            high = spec.high[min(i, len(spec.high) - 1)] if spec.high else math.inf
            if not low <= value <= high:
                self.problems.append(f'{path}: {value:g} is outside [{low:g}, {high:g}]')
        if spec.name == 'plugin':
            self.plugin(node, path)
            return
        for child in node:
            if not isinstance(child.tag, str):
                continue  # a comment
            where = f'{path}/{child.tag}'
            if child.get('name'):
                where += f'[{child.get("name")}]'
            if child.tag in spec.children:
                self.element(child, spec.children[child.tag], where)
            elif spec.name == 'sensor' and child.tag in self.extensions.sensor:
                if len(child):
                    self.problems.append(f'{where}: holds elements')
            else:
                self.problems.append(f'{where}: unknown element {child.tag} in {spec.name}')

    def plugin(self, node: ElementTree.Element, path: str) -> None:
        library = node.get('filename', '')
        if library not in self.extensions.plugins:
            self.problems.append(f'{path}: unknown plugin library {library!r}; known: '
                                 f'{", ".join(sorted(self.extensions.plugins))}')
            return
        cls, children = self.extensions.plugins[library]
        if node.get('name') != cls:
            self.problems.append(f'{path}: {library} holds {cls}, not {node.get("name")}')
        self.free(node, children, path)

    def free(self, node: ElementTree.Element, allowed: Dict[str, dict], path: str) -> None:
        for child in node:
            if not isinstance(child.tag, str):
                continue
            if child.tag not in allowed:
                self.problems.append(f'{path}/{child.tag}: not a parameter of this plugin')
            else:
                self.free(child, allowed[child.tag], f'{path}/{child.tag}')


def strict_check(text: str, spec: SpecElement, gazebo: str) -> List[str]:
    """Return what in an SDF document the specification and the flavour's Gazebo do not know."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        return [f'not XML: {exc}']
    if root.tag != 'sdf':
        return [f'the root element is <{root.tag}>, not <sdf>']
    checker = _Checker(spec, EXTENSIONS[gazebo])
    checker.element(root, spec, 'sdf')
    return checker.problems
