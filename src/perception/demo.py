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
The main job: run the stack and write a report of what it measured.

Until the simulated warehouse exists, the stack is the camera node on its synthetic source; the
report says what arrived, how fast and how late, and what the nodes reported on /diagnostics.
"""

import json
import os
import threading
import time

import rclpy

from perception import launcher, stack
from perception.diagnostics import LEVEL_NAMES
from perception.params import load_defaults, package_share
from perception.probe import StackProbe, summarize


def main(args) -> int:
    """Run bringup for args.duration seconds, probe it, write args.report_dir; return status."""
    share = package_share()
    specs = launcher.stack_processes('bringup', share)
    rate = float(load_defaults('camera.yaml')['fps'])
    supervisor = launcher.Supervisor(specs)
    # The probe in this process needs the same transports as the nodes it listens to.
    os.environ.update(supervisor.env)
    rclpy.init()
    probe = StackProbe()
    # Measure once the graph is up: the first second holds discovery and start-up.
    threading.Timer(min(2.0, args.duration / 4), probe.reset).start()
    started = time.time()
    status = supervisor.run(duration=args.duration)
    samples = probe.snapshot()
    diagnostics = {name: {'level': LEVEL_NAMES.get(probe.diagnostic_levels[name], '?'),
                          'message': probe.diagnostic_messages[name], 'values': values}
                   for name, values in probe.diagnostics.items()}
    probe.close()
    rclpy.try_shutdown()

    figures = summarize(samples, rate)
    report = {
        'stack': 'bringup',
        'nodes': [s.name for s in stack.select('bringup')],
        'started_unix': started,
        'duration_s': args.duration,
        'launcher_exit_status': status,
        'camera': figures,
        'diagnostics': diagnostics,
    }
    os.makedirs(args.report_dir, exist_ok=True)
    json_path = os.path.join(args.report_dir, 'report.json')
    with open(json_path, 'w', encoding='utf-8') as stream:
        json.dump(report, stream, indent=2)
    lines = [
        '# perception demo report', '',
        f'Stack `bringup` ({", ".join(report["nodes"])}) for {args.duration:g} s; '
        f'launcher exit status {status}.', '',
        '| figure | value |', '| --- | --- |',
    ] + [f'| {k} | {v:.3f} |' if isinstance(v, float) else f'| {k} | {v} |'
         for k, v in figures.items()] + ['', '## Diagnostics', '']
    lines += [f'- **{name}**: {d["level"]}, {d["message"]}' for name, d in diagnostics.items()]
    md_path = os.path.join(args.report_dir, 'report.md')
    with open(md_path, 'w', encoding='utf-8') as stream:
        stream.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    print(f'\nreport written to {md_path} and {json_path}')
    ok = status == launcher.EXIT_OK and figures['frames'] > 0
    return 0 if ok else 1
