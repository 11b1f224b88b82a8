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

"""The `perception` command: launch a stack in the venv, or run the demo."""

import argparse
import sys

from perception import launcher, stack
from perception.params import package_share, ParameterError


def _launch(args: argparse.Namespace) -> int:
    try:
        share = package_share()
        specs = launcher.stack_processes(
            args.stack, share, stack.parse_node_list(args.nodes), args.namespace,
            args.params_file, args.use_sim_time, args.log_level, respawn=not args.no_respawn)
    except (ValueError, FileNotFoundError, ParameterError) as exc:
        print(f'perception launch: {exc}', file=sys.stderr)
        return 2
    supervisor = launcher.Supervisor(specs)
    return supervisor.run(duration=args.duration)


def _demo(args: argparse.Namespace) -> int:
    from perception import demo
    return demo.main(args)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of `perception`."""
    parser = argparse.ArgumentParser(prog='perception', description=__doc__)
    sub = parser.add_subparsers(dest='command', required=True)

    launch = sub.add_parser('launch', help='start a stack, one process per node',
                            description='Start every node of a stack as its own process, as '
                            '`ros2 launch perception <stack>.launch.py` does on a ROS install.')
    launch.add_argument('stack', choices=sorted(stack.STACKS), help='which stack')
    launch.add_argument('--params-file', default='',
                        help='YAML applied after the defaults in config/')
    launch.add_argument('--namespace', default='', help='robot namespace for every node')
    launch.add_argument('--use-sim-time', action='store_true', help='follow /clock')
    launch.add_argument('--nodes', default='',
                        help='comma-separated subset of the nodes to start (default: all)')
    launch.add_argument('--log-level', default='', help='debug, info, warn, error or fatal')
    launch.add_argument('--duration', type=float, default=None,
                        help='stop after this many seconds (default: until Ctrl-C)')
    launch.add_argument('--no-respawn', action='store_true',
                        help='never respawn a node that died')
    launch.set_defaults(func=_launch)

    demo = sub.add_parser('demo', help='run the stack and write a report')
    demo.add_argument('--duration', type=float, default=10.0, help='seconds to run')
    demo.add_argument('--report-dir', default='reports/demo', help='where the report goes')
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None) -> int:
    """Entry point of the `perception` command."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
