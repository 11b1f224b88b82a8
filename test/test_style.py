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
Style: the ament_flake8 and ament_pep257 rules (setup.cfg), over every Python file.

Where ament's linters are installed (a robot's `colcon test`, package.xml's test_depend) they
run, ament_flake8 with this package's setup.cfg; elsewhere (the pip venv) flake8 and pydocstyle
run with the same settings.
"""

import importlib.util
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
PATHS = ['src', 'test', 'bench', 'launch', 'tools', 'setup.py']


def installed(module):
    return importlib.util.find_spec(module) is not None


def run(command):
    result = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True,
                            text=True)
    return result.returncode, result.stdout + result.stderr


def ament(linter, *args):
    return ['-c', f'import sys; from {linter}.main import main; sys.exit(main(sys.argv[1:]))',
            *args]


def test_flake8():
    if installed('ament_flake8'):
        code, output = run(ament('ament_flake8', '--config', 'setup.cfg', *PATHS))
    else:
        code, output = run(['-m', 'flake8', *PATHS])
    assert code == 0, output


def test_pep257():
    if installed('ament_pep257'):
        code, output = run(ament('ament_pep257', *PATHS))
    else:
        code, output = run(['-m', 'pydocstyle', *PATHS])
    assert code == 0, output
