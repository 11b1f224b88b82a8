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

from perception.config import load_defaults
from perception.launcher import stack_environment
from support import perception_command

pytestmark = [pytest.mark.sim, pytest.mark.slow]

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def test_the_route_driver_drives_the_simulators_scenario():
    simulator = load_defaults(os.path.join(ROOT, 'config', 'simulator.yaml'))
    driver = load_defaults(os.path.join(ROOT, 'config', 'route_driver.yaml'))
    assert simulator['scenario'] == driver['scenario']


def test_the_gate_the_mapper_and_the_simulator_share_one_robot():
    simulator = load_defaults(os.path.join(ROOT, 'config', 'simulator.yaml'))
    safety = load_defaults(os.path.join(ROOT, 'config', 'safety.yaml'))
    mapper = load_defaults(os.path.join(ROOT, 'config', 'mapper.yaml'))
    assert simulator['robot_description'] == safety['robot_description'] == \
        mapper['robot_description']
    # The sensors the simulator simulates are the ones the gate and the mapper listen to.
    assert simulator['lidar'] == safety['scan.sensor'] == mapper['lidar']
    assert simulator['camera'] == safety['depth.sensor'] == safety['detections.sensor'] == \
        mapper['camera']
    # The gate brakes no harder than the simulated base can.
    assert safety['decel'] <= simulator['robot_max_decel']
    assert safety['max_speed'] >= simulator['robot_max_speed']


def run_demo(scenario, report_dir):
    result = subprocess.run(
        perception_command('demo', '--scenario', scenario, '--fast',
                           '--report-dir', str(report_dir)),
        env=stack_environment(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((report_dir / scenario / 'report.json').read_text())


def test_person_crossing_ends_stopped_without_contact(tmp_path):
    report = run_demo('person_crossing', tmp_path)
    assert report['collisions'] == []
    assert report['stops'], 'the robot never stopped for the person'
    assert report['final_pose']['v'] == pytest.approx(0.0, abs=0.01)
    # Stopped before the person, and said how close it came.
    assert 0.05 < report['min_clearance_m']['worker'] < 1.5
    assert report['final_pose']['x'] < 6.5


def test_aisle_clear_is_driven_end_to_end_without_contact_or_false_stop(tmp_path):
    report = run_demo('aisle_clear', tmp_path)
    assert report['launcher_exit_status'] == 0
    assert report['collisions'] == []
    # The only stop is at the end of the route: no false stop on the way.
    assert [round(s['x']) for s in report['stops']] == [20]
    assert report['final_pose']['x'] == pytest.approx(20.0, abs=0.4)  # the end of the aisle
    assert report['distance_travelled_m'] == pytest.approx(20.0, abs=0.5)
    assert report['camera_frames'] > 300  # 25 s at 15 Hz, each with ground-truth boxes
    assert (tmp_path / 'aisle_clear' / 'plan.png').stat().st_size > 1000
    assert '| aisle_clear | 1 | stopped' in (tmp_path / 'index.md').read_text()


def test_a_low_box_in_the_lane_stops_the_robot_short_and_it_stays_stopped(tmp_path):
    report = run_demo('low_box_in_lane', tmp_path)
    assert report['collisions'] == []
    final = report['stopped_at_end']
    # The carton dropped out of view about 1 m before the robot stopped: it was remembered.
    assert final is not None and final['nearest'] == 'low_carton', final
    assert 0.05 < final['clearance_m'] < 0.8 and final['held_s'] > 4.0, final


def test_lidar_faults_stop_the_robot_until_the_lidar_covers_its_field_again(tmp_path):
    report = run_demo('lidar_faults', tmp_path)
    assert report['collisions'] == []
    first, second = report['stops'][:2]
    assert 5.0 <= first['t'] <= 6.5       # the lidar narrowed at 5 s
    assert second['x'] > first['x'] + 1.0  # it drove on once the lidar was whole again
    assert 13.0 <= second['t'] <= 14.5    # scans truncated from 13 s on
    assert report['stopped_at_end']['since_t'] <= 14.5
