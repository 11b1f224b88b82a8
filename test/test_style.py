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

"""Style: the ament_flake8 and ament_pep257 rules (setup.cfg), over every Python file."""

import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
PATHS = ['src', 'test', 'bench', 'launch', 'tools', 'setup.py']


def run(tool):
    result = subprocess.run([sys.executable, '-m', tool, *PATHS], cwd=ROOT,
                            capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def test_flake8():
    code, output = run('flake8')
    assert code == 0, output


def test_pep257():
    code, output = run('pydocstyle')
    assert code == 0, output
