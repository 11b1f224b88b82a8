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
Campaign throughput: one family's runs with one worker, then the same runs with two.

Each run is the whole sim stack (simulator, detector, safety, mapper, route driver) as separate
processes on simulated time, in lockstep, with the campaign's camera (half resolution). The
figures: runs per hour with 1 and 2 workers and their ratio (`scaling`), the real-time factor of
each run's simulation (simulated seconds per wall second from the moment simulated time starts;
`realtime_factor_end_to_end` counts the stack's start too), the collision rate with its 95%
Wilson interval, CPU seconds per simulated second by node, and whether both campaigns gave the
same results for the same seeds. The machine's load average is printed with them: on a shared
machine, compare figures only from runs at a low load. The last line is one JSON object.

Usage: bench/bench_campaign.py [--family person_from_rack_gap] [--runs 6] [--seed 1000]
"""

import argparse
import json
import os
import statistics
import tempfile

from perception.campaign import runner


def campaign(family: str, runs: int, seed: int, workers: int, out: str) -> dict:
    """Run a campaign; return its summary and results."""
    summary = runner.run_campaign(family, runs, seed, out, runner.LocalExecutor(workers),
                                  runner.Options(domains=runner.default_domains()))
    return {'summary': summary, 'results': runner.load_results(out)}


def figures(done: dict) -> dict:
    """Return throughput and speed figures of one campaign."""
    results = [r for r in done['results'] if r['status'] == runner.OK]
    sim = sum(r['sim_s'] for r in results)
    cpu = {}
    for r in results:
        for name, seconds in r['cpu_s'].items():
            cpu[name] = cpu.get(name, 0.0) + seconds
    return {
        'runs_per_hour': done['summary']['runs_per_hour'],
        'realtime_factor_median': statistics.median(
            r['sim_realtime_factor'] for r in results) if results else None,
        'realtime_factor_min': min((r['sim_realtime_factor'] for r in results), default=None),
        'realtime_factor_end_to_end': round(statistics.median(
            r['realtime_factor'] for r in results), 3) if results else None,
        'cpu_s_per_sim_s': {k: round(v / sim, 3) for k, v in sorted(cpu.items())} if sim
        else {},
        'infrastructure_failures': done['summary']['rates']['infrastructure_failure']['count'],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--family', default='person_from_rack_gap')
    parser.add_argument('--runs', type=int, default=6)
    parser.add_argument('--seed', type=int, default=1000)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix='bench-campaign-') as tmp:
        one = campaign(args.family, args.runs, args.seed, 1, os.path.join(tmp, 'one'))
        load_middle = os.getloadavg()
        two = campaign(args.family, args.runs, args.seed, 2, os.path.join(tmp, 'two'))
    load_after = os.getloadavg()
    a, b = figures(one), figures(two)
    differences = runner.same_results(one['results'], two['results'])
    rate = two['summary']['rates']['collision']
    result = {
        'family': args.family, 'runs': args.runs, 'seeds': [args.seed, args.seed + args.runs - 1],
        'runs_per_hour_1_worker': a['runs_per_hour'],
        'runs_per_hour_2_workers': b['runs_per_hour'],
        'scaling': round(b['runs_per_hour'] / a['runs_per_hour'], 3),
        'realtime_factor_per_run': b['realtime_factor_median'],
        'realtime_factor_per_run_min': b['realtime_factor_min'],
        'realtime_factor_per_run_1_worker': a['realtime_factor_median'],
        'realtime_factor_end_to_end': b['realtime_factor_end_to_end'],
        'collision_rate': rate['rate'], 'collision_rate_ci95': rate['ci95'],
        'collisions': rate['count'],
        'cpu_s_per_sim_s_1_worker': a['cpu_s_per_sim_s'],
        'infrastructure_failures': a['infrastructure_failures'] + b['infrastructure_failures'],
        'same_results_1_and_2_workers': not differences, 'differences': differences,
        'load_average_1min': [round(x[0], 2) for x in (load_before, load_middle, load_after)],
        'cpus': os.cpu_count(),
    }
    print(json.dumps(result, sort_keys=True))


if __name__ == '__main__':
    main()
