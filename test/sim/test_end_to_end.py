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

"""End to end: the `sim` stack in the MuJoCo warehouse, through the launcher, as `make demo`."""

import json
import os
import subprocess

import pytest

from perception.launcher import stack_environment
from perception.params import load_defaults
from support import perception_command

pytestmark = [pytest.mark.sim, pytest.mark.slow]

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def test_the_route_driver_drives_the_simulators_scenario():
    simulator = load_defaults(os.path.join(ROOT, 'config', 'simulator.yaml'))
    driver = load_defaults(os.path.join(ROOT, 'config', 'route_driver.yaml'))
    assert simulator['scenario'] == driver['scenario']


def test_aisle_clear_is_driven_end_to_end_without_contact(tmp_path):
    result = subprocess.run(
        perception_command('demo', '--scenario', 'aisle_clear', '--fast',
                           '--report-dir', str(tmp_path)),
        env=stack_environment(), capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / 'aisle_clear' / 'report.json').read_text())
    assert report['launcher_exit_status'] == 0
    assert report['collisions'] == []
    assert report['final_pose']['x'] == pytest.approx(20.0, abs=0.4)  # the end of the aisle
    assert report['distance_travelled_m'] == pytest.approx(20.0, abs=0.5)
    assert report['camera_frames'] > 300  # 25 s at 15 Hz, each with ground-truth boxes
    assert (tmp_path / 'aisle_clear' / 'plan.png').stat().st_size > 1000
    assert '| aisle_clear | 1 | 0 |' in (tmp_path / 'index.md').read_text()
