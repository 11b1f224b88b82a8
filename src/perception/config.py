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
Parameter specs and the YAML defaults under config/, without ROS.

The simulator, the training pipeline and the tools read the package's configuration too, on
machines without a ROS install: this module needs only the standard library and PyYAML.
perception.params declares the parameters on a node.
"""

from dataclasses import dataclass
import os
import sys
from typing import Callable, Dict, List, Optional, Sequence

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
