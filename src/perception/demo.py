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
(report.md, report.json, plan.png) is built from it.
"""

import os
import sys

import yaml

from perception import launcher
from perception.params import config_path, package_share
from perception.sim.recorder import read_ground_truth
from perception.sim.report import write_report
from perception.sim.scenario import list_scenarios, load_scenario, scenario_path


def run_scenario(name: str, report_dir: str, realtime: bool) -> dict:
    """Run one scenario through the launcher; return its report figures."""
    directory = os.path.abspath(os.path.join(report_dir, name))
    os.makedirs(directory, exist_ok=True)
    truth = os.path.join(directory, 'ground_truth.jsonl')
    if os.path.exists(truth):
        os.remove(truth)
    scenario = load_scenario(scenario_path(name, config_path('scenarios')))
    params = os.path.join(directory, 'params.yaml')
    with open(params, 'w', encoding='utf-8') as stream:
        yaml.safe_dump({
            '/**/simulator': {'ros__parameters': {
                'scenario': name, 'ground_truth_file': truth, 'realtime': realtime}},
            '/**/route_driver': {'ros__parameters': {'scenario': name}},
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
    names = list_scenarios(os.path.join(package_share(), 'config', 'scenarios')) \
        if args.scenario == 'all' else [args.scenario]
    results = [run_scenario(name, args.report_dir, not args.fast) for name in names]
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
