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
Heavy packages only some nodes need, imported when needed, with an error that says how to install.

A node that lacks one stops at start with a [FATAL] line naming the package, its rosdep key and
its pip name (node_main catches MissingDependencyError), never with a raw ImportError traceback.
"""

from dataclasses import dataclass
import importlib
from types import ModuleType


@dataclass(frozen=True)
class OptionalPackage:
    """An optional package: what it is for and how to install it."""

    purpose: str
    rosdep_key: str
    pip_name: str


#: Import name -> how to get it. The rosdep keys are those of ros/rosdistro's rosdep/python.yaml.
PACKAGES = {
    'onnxruntime': OptionalPackage('ONNX Runtime, which runs the detection model',
                                   'python3-onnxruntime-pip', 'onnxruntime'),
    'mujoco': OptionalPackage('MuJoCo, which simulates the warehouse', 'python3-mujoco-pip',
                              'mujoco'),
}


class MissingDependencyError(ImportError):
    """An optional package cannot be imported; the message says how to install it."""


def require(name: str) -> ModuleType:
    """Import an optional package, or raise MissingDependencyError saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        package = PACKAGES[name]
        raise MissingDependencyError(
            f'{name} ({package.purpose}) cannot be imported: {exc}. Install it with rosdep '
            f'(key {package.rosdep_key}: rosdep install --from-paths src --ignore-src -y) or '
            f'with pip install {package.pip_name}', name=name) from None
