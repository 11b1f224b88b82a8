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
Node parameters: descriptions and ranges in code, default values in config/*.yaml.

Each node lists a ParamSpec per parameter; the YAML file of its concern under config/ holds the
default values and is the only place they are written. declare_parameters() declares every
parameter with its ParameterDescriptor and the YAML default, and refuses a spec without a default
or a default without a spec, so the two cannot drift apart.
"""

from dataclasses import dataclass
import os
import sys
from typing import Callable, Dict, List, Optional, Sequence

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rcl_interfaces.msg import ParameterType
from rclpy.parameter import Parameter

from perception.core.yamlfile import read_yaml

PACKAGE = 'perception'


class ParameterError(ValueError):
    """A parameter value or configuration file that the node cannot run with."""


@dataclass(frozen=True)
class ParamSpec:
    """What a parameter means and which values it takes."""

    name: str
    description: str
    min_value: Optional[float] = None
    max_value: Optional[float] = None
    choices: Sequence[str] = ()
    read_only: bool = True
    #: The value's type (bool, int, float, str or list of str) where no YAML default says it:
    #: parameters of entries a user adds in a params file (a second lidar's source).
    value_type: Optional[type] = None


def package_share_of(package: str) -> str:
    """Return a package's share directory from the ament index (for package:// URLs)."""
    if package == PACKAGE:
        return package_share()
    from ament_index_python.packages import get_package_share_directory
    return get_package_share_directory(package)


def package_share() -> str:
    """Return perception's share directory: the ament index's, else the source checkout's."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return get_package_share_directory(PACKAGE)
    except (LookupError, OSError, ImportError):
        pass
    for candidate in (os.path.join(sys.prefix, 'share', PACKAGE),
                      os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))):
        if os.path.isfile(os.path.join(candidate, 'config', 'camera.yaml')):
            return candidate
    raise ParameterError('cannot find the perception share directory: install the package '
                         '(colcon build, or make setup) or set AMENT_PREFIX_PATH')


def config_path(name: str) -> str:
    """Return the path of a file under the package's config/ directory."""
    return os.path.join(package_share(), 'config', name)


def _flatten(prefix: str, values: dict, out: dict) -> None:
    for key, value in values.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            _flatten(name + '.', value, out)
        else:
            out[name] = value


def load_defaults(config_file: str) -> Dict[str, object]:
    """
    Read the ros__parameters of a node's YAML file, flattened to dotted names.

    The file holds one node entry (its key may be a wildcard such as /**/camera), so that the
    same file serves as the defaults here and as a --params-file for rcl.
    """
    path = config_file if os.path.isabs(config_file) else config_path(config_file)
    doc = read_yaml(path, ParameterError, 'parameter file')
    if not isinstance(doc, dict) or len(doc) != 1:
        raise ParameterError(f'{path}: expected exactly one node entry at the top level')
    (entry,) = doc.values()
    if not isinstance(entry, dict) or not isinstance(entry.get('ros__parameters'), dict):
        raise ParameterError(f'{path}: the node entry needs a ros__parameters mapping')
    out = {}
    _flatten('', entry['ros__parameters'], out)
    return out


#: Python types and the ROS parameter types they declare.
TYPES = ((bool, ParameterType.PARAMETER_BOOL), (int, ParameterType.PARAMETER_INTEGER),
         (float, ParameterType.PARAMETER_DOUBLE), (str, ParameterType.PARAMETER_STRING),
         (list, ParameterType.PARAMETER_STRING_ARRAY))


PARAMETER_TYPES = {bool: Parameter.Type.BOOL, int: Parameter.Type.INTEGER,
                   float: Parameter.Type.DOUBLE, str: Parameter.Type.STRING,
                   list: Parameter.Type.STRING_ARRAY}


def _type_of(spec: ParamSpec, default) -> type:
    if default is None:
        return spec.value_type
    return next(kind for kind, _ in TYPES if isinstance(default, kind))


def _descriptor(spec: ParamSpec, default) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(name=spec.name, description=spec.description,
                                     read_only=spec.read_only)
    kind = _type_of(spec, default)
    descriptor.type = dict(TYPES)[kind]
    if spec.choices:
        descriptor.additional_constraints = 'one of: ' + ', '.join(spec.choices)
    if spec.min_value is not None and spec.max_value is not None:
        if kind is bool:
            raise ParameterError(f'{spec.name}: a boolean cannot have a range')
        if kind is int:
            descriptor.integer_range = [IntegerRange(from_value=int(spec.min_value),
                                                     to_value=int(spec.max_value), step=1)]
        elif kind is float:
            descriptor.floating_point_range = [FloatingPointRange(
                from_value=float(spec.min_value), to_value=float(spec.max_value), step=0.0)]
    return descriptor


def check_value(spec: ParamSpec, value) -> None:
    """Raise ParameterError when value is outside the spec's range or choices."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) for v in value):
            raise ParameterError(f'parameter {spec.name} must be a list of strings, '
                                 f'not {value!r}')
        for item in value:
            check_value(spec, item)
        return
    if spec.choices and value not in spec.choices:
        raise ParameterError(f'parameter {spec.name} must be one of {", ".join(spec.choices)}, '
                             f'not {value!r}')
    low, high = spec.min_value, spec.max_value
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if low is not None and high is not None and numeric and not low <= value <= high:
        raise ParameterError(f'parameter {spec.name} must be within [{low}, {high}], '
                             f'not {value!r}')


def check_specs(specs: List[ParamSpec], defaults: Dict[str, object], source: str) -> None:
    """Raise ParameterError unless specs and YAML defaults name the same parameters."""
    names = [s.name for s in specs]
    missing = sorted(set(names) - set(defaults))
    unknown = sorted(set(defaults) - set(names))
    if missing:
        raise ParameterError(f'{source} has no default for: {", ".join(missing)}')
    if unknown:
        raise ParameterError(f'{source} sets unknown parameters: {", ".join(unknown)}')
    for spec in specs:
        check_value(spec, defaults[spec.name])


#: Returns further specs once some values are known (e.g. each source's, by its kind).
Expand = Callable[[Dict[str, object]], List[ParamSpec]]


def expanded_specs(specs: List[ParamSpec], values: Dict[str, object],
                   expand: Optional[Expand]) -> List[ParamSpec]:
    """Return specs plus what expand adds, called until it adds nothing new."""
    out = list(specs)
    while expand is not None:
        known = {s.name for s in out}
        more = [s for s in expand(values) if s.name not in known]
        if not more:
            break
        out += more
    return out


def _declare(node, spec: ParamSpec, defaults: Dict[str, object]):
    default = defaults.get(spec.name)
    if default is None and spec.value_type is None:
        raise ParameterError(f'parameter {spec.name} has no default and no type')
    descriptor = _descriptor(spec, default)
    try:
        # An empty list cannot tell its type, and a missing default has none: declare the
        # type, and take the value from the parameter overrides when there is one.
        by_type = default is None or (isinstance(default, list) and not default)
        param = node.declare_parameter(
            spec.name, PARAMETER_TYPES[_type_of(spec, default)] if by_type else default,
            descriptor)
    except Exception as exc:  # noqa: B902 - rclpy raises several unrelated types here
        raise ParameterError(f'parameter {spec.name}: {exc}') from None
    value = param.value
    if value is None:
        if default is None:
            raise ParameterError(f'parameter {spec.name} is not set: give it in your params '
                                 'file')
        value = default
    check_value(spec, value)
    return value


def declare_parameters(node, specs: List[ParamSpec], config_file: str,
                       expand: Optional[Expand] = None) -> Dict[str, object]:
    """
    Declare every parameter of a node with its descriptor and YAML default; return values.

    expand, when given, adds specs that depend on values already declared (each source of the
    safety gate by its kind); their defaults come from the YAML where it has them, else the
    user's params file must set them.
    """
    defaults = load_defaults(config_file)
    check_specs(expanded_specs(specs, defaults, expand), defaults, config_file)
    values: Dict[str, object] = {}
    pending = list(specs)
    while pending:
        for spec in pending:
            values[spec.name] = _declare(node, spec, defaults)
        pending = [s for s in (expand(values) if expand else []) if s.name not in values]
    return values
