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
The main job: run the stack in the simulated warehouse and write a report of what happened.

For each scenario, the `sim` stack (simulator and route driver, on simulated time) runs as
separate processes through the launcher; the simulator records the ground truth, and the report
(report.md, report.json, plan.png) is built from it, under <report dir>/<scenario name>/, where
the name is the one inside the scenario file, wherever the file is.
"""

import os
import re
import sys
from typing import List

import yaml

from perception import launcher
from perception.params import config_path, package_share
from perception.sim.recorder import read_ground_truth
from perception.sim.report import write_report
from perception.sim.scenario import list_scenarios, load_scenario, Scenario, scenario_path
from perception.sim.scenario import ScenarioError

#: Scenario names that make a plain directory name under the report directory.
REPORT_NAME = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]*')


def load_scenarios(choice: str) -> List[Scenario]:
    """Load 'all' the shipped scenarios, one by name, or one from a path; ScenarioError if bad."""
    directory = config_path('scenarios')
    names = list_scenarios(directory) if choice == 'all' else [choice]
    scenarios = [load_scenario(os.path.abspath(scenario_path(n, directory))) for n in names]
    for scenario in scenarios:
        if not REPORT_NAME.fullmatch(scenario.name):
            raise ScenarioError(f'{scenario.source}: name {scenario.name!r} cannot name a report '
                                'directory; use letters, digits, _, - and . (not first)')
    return scenarios


def run_scenario(scenario: Scenario, report_dir: str, realtime: bool) -> dict:
    """Run one scenario through the launcher; return its report figures."""
    name = scenario.name
    directory = os.path.abspath(os.path.join(report_dir, name))
    os.makedirs(directory, exist_ok=True)
    truth = os.path.join(directory, 'ground_truth.jsonl')
    if os.path.exists(truth):
        os.remove(truth)
    params = os.path.join(directory, 'params.yaml')
    with open(params, 'w', encoding='utf-8') as stream:
        # The nodes load the file the demo loaded, by its absolute path.
        yaml.safe_dump({
            '/**/simulator': {'ros__parameters': {
                'scenario': scenario.source, 'ground_truth_file': truth, 'realtime': realtime}},
            '/**/route_driver': {'ros__parameters': {'scenario': scenario.source}},
        }, stream)
    specs = launcher.stack_processes('sim', package_share(), params_file=params,
                                     use_sim_time=True)
    print(f'== {name}: {scenario.description} ({scenario.duration_s:g} s simulated)',
          flush=True)
    # The simulator ends the stack when the scenario is over; the limit only guards a hang.
    status = launcher.Supervisor(specs).run(duration=scenario.duration_s * 3 + 60)
    if not os.path.exists(truth):
        return {'scenario': name, 'launcher_exit_status': status,
                'error': 'the simulator wrote no ground truth'}
    figures = write_report(read_ground_truth(truth), directory,
                           {'launcher_exit_status': status})
    print(open(os.path.join(directory, 'report.md'), encoding='utf-8').read(), flush=True)
    return figures


def main(args) -> int:
    """Run the chosen scenarios; write args.report_dir; return non-zero if a run failed."""
    try:
        scenarios = load_scenarios(args.scenario)
    except ScenarioError as exc:
        print(f'perception demo: {exc}', file=sys.stderr)
        return 2
    results = [run_scenario(s, args.report_dir, not args.fast) for s in scenarios]
    index = ['# perception demo', '', '| scenario | stops | collisions | closest approach | '
             'real-time factor | report |', '| --- | --- | --- | --- | --- | --- |']
    for r in results:
        if 'error' in r:
            index.append(f'| {r["scenario"]} | | | | | {r["error"]} |')
            continue
        clearance = ', '.join(f'{k} {v:.2f} m' for k, v in r['min_clearance_m'].items()) or '-'
        index.append(f'| {r["scenario"]} | {len(r["stops"])} | {len(r["collisions"])} | '
                     f'{clearance} | {r["realtime_factor"]} | '
                     f'[report]({r["scenario"]}/report.md) |')
    path = os.path.join(args.report_dir, 'index.md')
    with open(path, 'w', encoding='utf-8') as stream:
        stream.write('\n'.join(index) + '\n')
    print('\n'.join(index))
    print(f'\nreports written under {os.path.abspath(args.report_dir)} (index.md)')
    failed = [r['scenario'] for r in results
              if 'error' in r or r['launcher_exit_status'] != launcher.EXIT_OK]
    if failed:
        print(f'failed: {", ".join(failed)}', file=sys.stderr)
    return 1 if failed else 0
