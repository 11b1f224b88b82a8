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

"""The `perception` command: launch a stack in the venv, run the demo, view the fleet."""

import argparse
import faulthandler
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


def _dataset(args: argparse.Namespace) -> int:
    from perception.sim.dataset import export_dataset
    try:
        manifest = export_dataset(args.out, args.images, args.seed, args.val_fraction,
                                  args.width, args.height)
    except ValueError as exc:
        print(f'perception dataset: {exc}', file=sys.stderr)
        return 2
    print(f'{manifest["images"]} images from {manifest["scenes"]} scenes in {args.out}; '
          f'instances: {manifest["instances"]}')
    return 0


def _train(args: argparse.Namespace) -> int:
    import json
    from perception.training.pipeline import pipeline
    summary = pipeline(args.train, args.heldout, args.out, args.epochs)
    print(json.dumps(summary, indent=2))
    return 0


def _docs(args: argparse.Namespace) -> int:
    from perception import docs
    return docs.main(args)


def _fleet(args: argparse.Namespace) -> int:
    from perception import fleet
    return fleet.main(args)


def _robot(args: argparse.Namespace) -> int:
    from perception.robot_report import main
    return main(args)


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

    demo = sub.add_parser('demo', help='run the stack in the simulated warehouse, write a report')
    demo.add_argument('--scenario', default='person_crossing',
                      help='a scenario under config/scenarios/, a path, or "all"')
    demo.add_argument('--fast', action='store_true',
                      help='simulate as fast as the CPU allows instead of in real time')
    demo.add_argument('--report-dir', default='reports/demo', help='where the reports go')
    demo.set_defaults(func=_demo)

    dataset = sub.add_parser('dataset', help='render a labelled dataset (YOLO format)',
                             description='Render images of randomized warehouse scenes with '
                             'YOLO labels (person, forklift, pallet, box); the same seed gives '
                             'the same dataset.')
    dataset.add_argument('--out', required=True, help='output directory')
    dataset.add_argument('--images', type=int, default=1000, help='how many images')
    dataset.add_argument('--seed', type=int, default=0, help='random seed')
    dataset.add_argument('--val-fraction', type=float, default=0.2,
                         help='share of images for validation')
    dataset.add_argument('--width', type=int, default=640)
    dataset.add_argument('--height', type=int, default=480)
    dataset.set_defaults(func=_dataset)

    train = sub.add_parser('train-detector', help='train, export, quantize and evaluate',
                           description='Train the warehouse detector on a dataset from '
                           '`perception dataset`, export it to ONNX, quantize it to INT8 '
                           'calibrated on training frames, and evaluate both on held-out scenes; '
                           'needs PyTorch.')
    train.add_argument('--train', required=True, help='training dataset directory')
    train.add_argument('--heldout', required=True, help='held-out dataset directory')
    train.add_argument('--out', default='models', help='where models and manifests go')
    train.add_argument('--epochs', type=int, default=12)
    train.set_defaults(func=_train)

    docs = sub.add_parser('docs', help="write the README's generated tables",
                          description='Write the parameter tables and the blind-zone table '
                          'of README.md from the code and the YAML defaults.')
    docs.add_argument('--check', action='store_true',
                      help='only say whether they are current (exit status 1 if not)')
    docs.add_argument('--readme', default='', help='README.md to work on')
    docs.set_defaults(func=_docs)

    fleet = sub.add_parser('fleet', help="collect the robots' telemetry, or report on it",
                           description="Subscribe to every robot's telemetry on an MQTT broker "
                           'and keep it in SQLite (perception fleet --broker HOST:PORT), or '
                           'write an HTML page of what was received (perception fleet report).')
    from perception.fleet import add_arguments
    add_arguments(fleet)
    fleet.set_defaults(func=_fleet)

    robot = sub.add_parser('robot', help='show what the robot description says and sees',
                           description='Print the robot description: footprint, each sensor '
                           'and where an object of each height is seen by no sensor.')
    robot.add_argument('--description', default='package://perception/config/robot.yaml',
                       help='robot description (package://, file:// or a path)')
    robot.add_argument('--heights', default='0.05,0.1,0.2,0.3,1.0',
                       help='comma-separated object heights (m)')
    robot.add_argument('--plot', default='', help='also draw the blind zones into this PNG')
    robot.set_defaults(func=_robot)
    return parser


def main(argv=None) -> int:
    """Entry point of the `perception` command."""
    # A crash in native code (MuJoCo rendering a dataset, rclpy in the demo) prints its stack.
    faulthandler.enable()
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
