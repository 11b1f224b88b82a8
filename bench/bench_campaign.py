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
same results for the same seeds. Before them, the floor every node pays: the CPU time a node
spends on one small message, taking it in Python with rclpy's single-threaded executor
(`rclpy_cpu_ms_per_message`: a Clock at 200 Hz from another process, the listener's CPU
time per message). The machine's load average is printed with them: on a shared
machine, compare figures only from runs at a low load. The last line is one JSON object.

Usage: bench/bench_campaign.py [--family person_from_rack_gap] [--runs 6] [--seed 1000]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from perception.campaign import runner

#: Rate and length of the floor's messages.
FLOOR_RATE_HZ = 200.0
FLOOR_S = 8.0


def floor_publish() -> None:
    """Publish Clock messages at FLOOR_RATE_HZ for FLOOR_S plus a second (a child process)."""
    import rclpy
    from rclpy.node import Node
    from rosgraph_msgs.msg import Clock

    from perception.qos import RELIABLE_QOS
    rclpy.init()
    node = Node('floor_publisher')
    publisher = node.create_publisher(Clock, 'floor', RELIABLE_QOS)
    end = time.monotonic() + FLOOR_S + 3.0
    while time.monotonic() < end:
        publisher.publish(Clock())
        time.sleep(1.0 / FLOOR_RATE_HZ)
    node.destroy_node()
    rclpy.try_shutdown()


def floor_listen() -> None:
    """Take Clock messages for FLOOR_S after the first; print messages and CPU seconds."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rosgraph_msgs.msg import Clock

    from perception.qos import RELIABLE_QOS
    rclpy.init()
    node = Node('floor_listener')
    heard = []
    node.create_subscription(Clock, 'floor', heard.append, RELIABLE_QOS)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    deadline = time.monotonic() + 60.0
    while not heard and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.1)
    first, usage = len(heard), resource.getrusage(resource.RUSAGE_SELF)
    end = time.monotonic() + FLOOR_S
    while time.monotonic() < end:
        executor.spin_once(timeout_sec=0.1)  # as spin() does, a message at a time
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    print(json.dumps({'messages': len(heard) - first, 'cpu_s': cpu}))
    node.destroy_node()
    rclpy.try_shutdown()


def floor() -> dict:
    """Measure rclpy's cost per message taken, in a DDS domain of its own."""
    with runner.domain_lease(runner.default_domains()) as domain:
        env = dict(os.environ, ROS_DOMAIN_ID=str(domain),
                   ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
        listener = subprocess.Popen([sys.executable, __file__, '--floor-listen'], env=env,
                                    stdout=subprocess.PIPE, text=True)
        publisher = subprocess.Popen([sys.executable, __file__, '--floor-publish'], env=env)
        out, _ = listener.communicate(timeout=120)
        publisher.wait(timeout=60)
    found = json.loads(out.strip().splitlines()[-1])
    if not found['messages']:
        raise RuntimeError('the floor measurement heard no message')
    return {'rclpy_cpu_ms_per_message': round(1000 * found['cpu_s'] / found['messages'], 3),
            'rclpy_floor_messages': found['messages']}


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
        'realtime_factor_median': round(statistics.median(
            r['sim_realtime_factor'] for r in results), 3) if results else None,
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
    parser.add_argument('--floor-publish', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--floor-listen', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_publish or args.floor_listen:
        floor_publish() if args.floor_publish else floor_listen()
        return
    load_before = os.getloadavg()
    per_message = floor()
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
        'cpu_s_per_sim_s_1_worker_total': round(sum(a['cpu_s_per_sim_s'].values()), 3),
        'infrastructure_failures': a['infrastructure_failures'] + b['infrastructure_failures'],
        'same_results_1_and_2_workers': not differences, 'differences': differences,
        'load_average_1min': [round(x[0], 2) for x in (load_before, load_middle, load_after)],
        'cpus': os.cpu_count(),
        **per_message,
    }
    print(json.dumps(result, sort_keys=True))


if __name__ == '__main__':
    main()
