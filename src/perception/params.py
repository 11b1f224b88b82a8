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
or a default without a spec, so the two cannot drift apart. The ROS-free half (specs, defaults,
checks) is perception.config, re-exported here for the nodes.
"""

from typing import Dict, List, Optional

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rcl_interfaces.msg import ParameterType
from rclpy.parameter import Parameter

from perception.config import check_specs, check_value, config_path, Expand  # noqa: F401
from perception.config import expanded_specs, load_defaults, package_share  # noqa: F401
from perception.config import PACKAGE, package_share_of, ParameterError, ParamSpec  # noqa: F401


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
