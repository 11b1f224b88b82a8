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
import os
import sys

from perception import launcher, stack
from perception.config import package_share, ParameterError


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


def _campaign(args: argparse.Namespace) -> int:
    from perception.campaign import runner as campaign
    try:
        domains = campaign.parse_domains(args.domains) if args.domains else \
            campaign.default_domains()
        if not 0.1 <= args.camera_scale <= 1.0:
            raise ValueError(f'--camera-scale must be within [0.1, 1], got {args.camera_scale}')
        options = campaign.Options(camera_scale=args.camera_scale, domains=domains,
                                   keep_ground_truth=args.keep_ground_truth)
        campaign.campaign_specs(args.family, args.runs, args.seed)  # refuse bad input first
        executor = campaign.RayExecutor(args.ray) if args.ray else \
            campaign.LocalExecutor(args.workers)
    except (ValueError, ImportError) as exc:
        print(f'perception campaign: {exc}', file=sys.stderr)
        return 2
    out = args.out or os.path.join('reports', 'campaigns', os.path.basename(args.family)
                                   .removesuffix('.yaml'))
    summary = campaign.run_campaign(args.family, args.runs, args.seed, out, executor, options)
    print(f'\n{summary["runs"]} runs in {summary["wall_s"]:.0f} s; collision rate '
          f'{summary["rates"]["collision"]["text"]}; report: '
          f'{os.path.join(os.path.abspath(out), "report.html")}')
    return 0 if summary['rates']['infrastructure_failure']['count'] == 0 else 1


def _dataset(args: argparse.Namespace) -> int:
    from perception.sim.dataset import export_dataset
    try:
        manifest = export_dataset(args.out, args.images, args.seed, args.val_fraction,
                                  args.width, args.height, first_index=args.first_index,
                                  hard_cases=args.hard_cases)
    except ValueError as exc:
        print(f'perception dataset: {exc}', file=sys.stderr)
        return 2
    print(f'{manifest["images"]} images from {manifest["scenes"]} scenes in {args.out}; '
          f'instances: {manifest["instances"]}')
    return 0


def _train(args: argparse.Namespace) -> int:
    import json
    from perception.training import pipeline
    prune = [float(v) for v in args.prune.split(',') if v.strip()]
    if args.candidates_only:
        done = pipeline.train_candidates(args.train, args.out, args.epochs, args.device,
                                         args.batch, args.teacher_epochs, args.teacher_scale,
                                         prune, args.finetune_epochs)
        print(json.dumps(done, indent=2))
        return 0
    summary = pipeline.pipeline(args.train, args.heldout, args.out, args.epochs,
                                device=args.device, batch=args.batch,
                                teacher_epochs=args.teacher_epochs, prune=prune,
                                finetune_epochs=args.finetune_epochs, ship_variant=args.ship)
    print(json.dumps(summary, indent=2))
    return 0


def _model_tool(name: str, work) -> int:
    """Run a model tool; a bad model, label or image set is a message and exit status 2."""
    try:
        from perception.modeltools.graph import OptimizeError
    except ImportError as exc:
        print(f'perception {name} needs onnx, onnxruntime and rosbags ({exc}): pip install '
              '-r requirements/venv.txt', file=sys.stderr)
        return 2
    try:
        work()
    except (OptimizeError, ImportError) as exc:
        print(f'perception {name}: {exc}', file=sys.stderr)
        return 2
    return 0


def _optimize(args: argparse.Namespace) -> int:
    def work():
        from perception.modeltools.optimize import optimize, parse_labels
        summary = optimize(args.model, parse_labels(args.labels), args.calibration, args.out,
                           args.name, args.topic, args.images, args.color)
        q = summary['quantization']
        print(f'{summary["layout"]} detector, input {summary["input"][0]}x'
              f'{summary["input"][1]}: INT8 model {summary["int8"]}\n'
              f'  quantized layers {q["quantized_layers"]}, decoding kept in float '
              f'({q["decode_nodes_in_float"]} nodes), calibrated on '
              f'{q["calibration_images"]} images, agreement with FP32 '
              f'{100 * q["fp32_agreement"]:.1f}%\n'
              f'  manifests: {summary["manifests"]["fp32"]}, {summary["manifests"]["int8"]}')
    return _model_tool('optimize', work)


def _evaluate(args: argparse.Namespace) -> int:
    def work():
        from perception.modeltools import evaluate
        results = evaluate.run(args.manifests, args.data, args.split,
                               [p for p in args.providers.split(',') if p] or None,
                               evaluate.parse_targets(args.target_recall), args.report,
                               write=not args.no_write, min_precision=args.min_precision)
        for r in results:
            speed = ', '.join(f'{p} p50 {v["inference_p50_ms"]:.2f} ms p99 '
                              f'{v["inference_p99_ms"]:.2f} ms' for p, v in r.latency.items())
            print(f'{r.name} ({r.precision}): mAP@0.5 {r.accuracy["map50"]:.2f}, mAP@0.5:0.95 '
                  f'{r.accuracy["map50_95"]:.2f}; {speed}')
            for label, point in r.thresholds.items():
                print(f'  {label}: threshold {point.score:.3f} ({point.rule}'
                      f'{"" if point.met else ", not reached"}): recall {point.recall:.3f}, '
                      f'precision {point.precision:.3f}')
        if args.report:
            print(f'report: {os.path.join(args.report, "report.md")}')
    return _model_tool('evaluate', work)


def _docs(args: argparse.Namespace) -> int:
    from perception import docs
    return docs.main(args)


def _fleet(args: argparse.Namespace) -> int:
    from perception import fleet
    return fleet.main(args)


def _robot(args: argparse.Namespace) -> int:
    from perception.robot_report import main
    return main(args)


def _gazebo_world(args: argparse.Namespace) -> int:
    from perception import gazebo
    try:
        params = gazebo.simulator_params()
        robot = gazebo.robot_description(params['robot_description'])
        scenario = gazebo.scenario_of(args.scenario, robot)
        text, notes = gazebo.world_text(scenario, args.gazebo, params)
        gazebo.write(text, args.output)
    except (ValueError, OSError) as exc:  # a bad scenario, robot or flavour; an unwritable file
        print(f'perception gazebo-world: {exc}', file=sys.stderr)
        return 2
    for note in notes:
        print(f'perception gazebo-world: {note}', file=sys.stderr)
    return 0


def _gazebo_robot(args: argparse.Namespace) -> int:
    from perception import gazebo
    from perception.sim.sdf import robot_sdf
    try:
        params = gazebo.simulator_params()
        robot = gazebo.robot_description(args.description or params['robot_description'])
        gazebo.write(robot_sdf(robot, params, args.gazebo), args.output)
    except (ValueError, OSError) as exc:
        print(f'perception gazebo-robot: {exc}', file=sys.stderr)
        return 2
    return 0


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
    demo.add_argument('--params', default='', metavar='FILE',
                      help="more node parameters (a params file, such as a campaign run's "
                      "replay_params.yaml); the demo's own take precedence")
    demo.set_defaults(func=_demo)

    campaign = sub.add_parser(
        'campaign', help='many randomized runs of a scenario family, with statistics',
        description='Draw N scenarios of a family (config/families/, or a path), run each as '
        'the whole sim stack on simulated time in a DDS domain of its own, and write results, '
        'rates with 95%% intervals and an HTML report. Exit status 2 for bad input.')
    campaign.add_argument('family', help='a family under config/families/, or a path')
    campaign.add_argument('--runs', type=int, default=20, help='how many runs (default 20)')
    campaign.add_argument('--seed', type=int, default=0, help='seed of the first run; run i '
                          'has seed SEED+i (default 0)')
    campaign.add_argument('--workers', type=int, default=2,
                          help='runs at a time on this machine (default 2)')
    campaign.add_argument('--ray', default='', metavar='ADDRESS',
                          help='run on a Ray cluster instead: HOST:PORT of its head, auto (the '
                          'cluster `ray start` runs here) or local (start one in this process)')
    campaign.add_argument('--out', default='', help='where results go (default '
                          'reports/campaigns/FAMILY)')
    campaign.add_argument('--domains', default='', metavar='LOW-HIGH',
                          help='DDS domain IDs the runs may use (default: '
                          '$PERCEPTION_CAMPAIGN_DOMAINS, else 150-200)')
    campaign.add_argument('--camera-scale', type=float, default=0.5,
                          help="the camera's resolution as a fraction of the robot "
                          "description's (default 0.5: 320x240)")
    campaign.add_argument('--keep-ground-truth', action='store_true',
                          help='keep the ground truth of passing runs too')
    campaign.set_defaults(func=_campaign)

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
    dataset.add_argument('--hard-cases', action='store_true',
                         help='add people half hidden, crouching and far away, and look at '
                         'people more often (for training)')
    dataset.add_argument('--first-index', type=int, default=0,
                         help='number of the first image file (to merge several runs)')
    dataset.set_defaults(func=_dataset)

    train = sub.add_parser('train-detector', help='train, export, quantize and evaluate',
                           description='Train the warehouse detector on a dataset from '
                           '`perception dataset`, export it to ONNX, quantize it to INT8 '
                           'calibrated on training frames, and evaluate both on held-out scenes; '
                           'needs PyTorch.')
    train.add_argument('--train', required=True, help='training dataset directory')
    train.add_argument('--heldout', default='', help='held-out dataset directory')
    train.add_argument('--out', default='models', help='where models and manifests go')
    train.add_argument('--epochs', type=int, default=12)
    train.add_argument('--device', default='auto', choices=('auto', 'cpu', 'cuda'),
                       help='where to train (auto: a GPU when PyTorch sees one)')
    train.add_argument('--batch', type=int, default=16)
    train.add_argument('--teacher-epochs', type=int, default=0,
                       help='also train a wider teacher, and a student distilled from it')
    train.add_argument('--teacher-scale', type=float, default=2.0,
                       help="the teacher's widths against the student's")
    train.add_argument('--prune', default='',
                       help='comma-separated shares of channels to prune, e.g. 0.25,0.5')
    train.add_argument('--finetune-epochs', type=int, default=3,
                       help='fine-tuning epochs of each pruned model')
    train.add_argument('--ship', default='',
                       help='the variant to ship (default: distilled with a teacher, else '
                       'student)')
    train.add_argument('--candidates-only', action='store_true',
                       help='only train and export the variants into --out (a GPU machine); '
                       'quantize, evaluate and ship elsewhere')
    train.set_defaults(func=_train)

    opt = sub.add_parser('optimize', help='quantize a detector to INT8 and write manifests',
                         description='Quantize any ONNX detector of the supported layouts '
                         '(YOLOv8/YOLO11, YOLOv5, end-to-end) to INT8 (static QDQ, per-channel '
                         'weights, decoding kept in float), calibrated on your images, and '
                         'write its manifests.')
    opt.add_argument('model', help='the FP32 ONNX model')
    opt.add_argument('--labels', required=True,
                     help='class names: a file (one per line, or YAML with names:) or a '
                     'comma-separated list')
    opt.add_argument('--calibration', required=True,
                     help='a folder of images, a YOLO dataset, or a rosbag2 / MCAP bag')
    opt.add_argument('--topic', default='', help="the bag's image topic (default: the first)")
    opt.add_argument('--images', type=int, default=128, help='calibration images to use')
    opt.add_argument('--out', default='.', help='where the INT8 model and manifests go')
    opt.add_argument('--name', default='', help="name of the outputs (default: the model's)")
    opt.add_argument('--color', default='rgb', choices=('rgb', 'bgr'),
                     help='channel order the model expects')
    opt.set_defaults(func=_optimize)

    ev = sub.add_parser('evaluate', help='accuracy, latency and thresholds on labelled images',
                        description='Evaluate models (their manifests) on a YOLO dataset: mAP, '
                        'AP per class, latency on each execution provider, and per-class score '
                        'thresholds; written into the manifests and a report.')
    ev.add_argument('manifests', nargs='+', help='model manifests, e.g. the FP32 and the INT8')
    ev.add_argument('--data', required=True, help='a YOLO dataset (images/, labels/, data.yaml)')
    ev.add_argument('--split', default='', help='a split of the dataset (default: all images)')
    ev.add_argument('--providers', default='',
                    help='execution providers to time (default: every one available)')
    ev.add_argument('--target-recall', nargs='*', default=['person=0.9'],
                    help='label=recall the threshold must reach (default person=0.9); other '
                    'classes take their best F1')
    ev.add_argument('--min-precision', type=float, default=0.5,
                    help='a target recall is looked for only where at least this share of '
                    'detections are right (default 0.5)')
    ev.add_argument('--report', default='', help='folder for report.md and the plots')
    ev.add_argument('--no-write', action='store_true', help='leave the manifests as they are')
    ev.set_defaults(func=_evaluate)

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

    from perception.model_cli import add_parser as add_model_parser
    add_model_parser(sub)

    from perception.gazebo import default_gazebo
    from perception.sim.sdf import FLAVOURS
    flavours = ', '.join(f'{name}: {kind.release}' for name, kind in FLAVOURS.items())
    world = sub.add_parser('gazebo-world', help='write a scenario as a Gazebo world (SDF)',
                           description='Write a scenario as an SDF 1.9 world for Gazebo, with '
                           'the same objects as the MuJoCo world, its actors scripted, and the '
                           'systems the robot model needs. Notes on what Gazebo does otherwise '
                           'go to stderr.')
    world.add_argument('scenario', help='a scenario under config/scenarios/, or a path')
    world.add_argument('--gazebo', default=default_gazebo(), choices=sorted(FLAVOURS),
                       help=f'{flavours} (default: by ROS_DISTRO, %(default)s)')
    world.add_argument('--output', '-o', default='-', help='file to write (default: stdout)')
    world.set_defaults(func=_gazebo_world)

    model = sub.add_parser('gazebo-robot', help='write the robot as a Gazebo model (SDF)',
                           description='Write the robot description as an SDF 1.9 model: '
                           'footprint, drive, camera, depth camera and lidar as the simulator '
                           'has them (config/simulator.yaml), on our topic names.')
    model.add_argument('--description', default='',
                       help="robot description (default: the simulator's robot_description)")
    model.add_argument('--gazebo', default=default_gazebo(), choices=sorted(FLAVOURS),
                       help=f'{flavours} (default: by ROS_DISTRO, %(default)s)')
    model.add_argument('--output', '-o', default='-', help='file to write (default: stdout)')
    model.set_defaults(func=_gazebo_robot)
    return parser


def main(argv=None) -> int:
    """Entry point of the `perception` command."""
    # A crash in native code (MuJoCo rendering a dataset, rclpy in the demo) prints its stack.
    faulthandler.enable()
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
