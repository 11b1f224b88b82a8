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

"""The demo's own behaviour: scenario files from anywhere, and clear errors for bad ones."""

import argparse
import json
import os
import subprocess

import pytest
import yaml

from perception import demo
from perception.launcher import stack_environment
from support import perception_command

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def short_scenario(tmp_path, name='short_aisle', duration=3.0):
    """Write aisle_clear, renamed and shortened, to a file outside config/scenarios."""
    with open(os.path.join(ROOT, 'config', 'scenarios', 'aisle_clear.yaml'),
              encoding='utf-8') as stream:
        data = yaml.safe_load(stream)
    data.update(name=name, duration_s=duration)
    path = tmp_path / 'elsewhere' / 'my_scenario.yaml'
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def demo_args(scenario, report_dir):
    return argparse.Namespace(scenario=str(scenario), fast=True, report_dir=str(report_dir))


@pytest.mark.sim
@pytest.mark.slow
def test_a_scenario_file_from_any_path_reports_under_its_name(tmp_path):
    scenario = short_scenario(tmp_path)
    reports = tmp_path / 'reports'
    result = subprocess.run(
        perception_command('demo', '--scenario', str(scenario), '--fast',
                           '--report-dir', str(reports)),
        env=stack_environment(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(os.listdir(reports)) == ['index.md', 'short_aisle']
    report = json.loads((reports / 'short_aisle' / 'report.json').read_text())
    # The nodes ran this file, not the shipped aisle_clear: its name and its 3 s.
    assert report['scenario'] == 'short_aisle'
    assert report['sim_time_s'] == pytest.approx(3.0, abs=0.15)
    assert report['distance_travelled_m'] > 0.5 and report['collisions'] == []
    assert '[report](short_aisle/report.md)' in (reports / 'index.md').read_text()


def test_a_missing_or_broken_scenario_file_is_a_clear_error(tmp_path, capsys):
    assert demo.main(demo_args(tmp_path / 'none.yaml', tmp_path / 'reports')) == 2
    assert 'cannot read scenario' in capsys.readouterr().err
    broken = tmp_path / 'broken.yaml'
    broken.write_text('name: x\nduration_s: 3\n')
    assert demo.main(demo_args(broken, tmp_path / 'reports')) == 2
    assert 'missing field layout' in capsys.readouterr().err
    assert not (tmp_path / 'reports').exists()  # nothing ran, nothing written


@pytest.mark.parametrize('name', ['../escape', 'a/b', '.hidden', ''])
def test_a_name_that_is_no_directory_name_is_refused(tmp_path, capsys, name):
    scenario = short_scenario(tmp_path, name=name)
    assert demo.main(demo_args(scenario, tmp_path / 'reports')) == 2
    assert 'cannot name a report directory' in capsys.readouterr().err
    assert not (tmp_path / 'reports').exists()
