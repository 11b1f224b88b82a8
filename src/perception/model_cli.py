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

"""`perception model`: keys, signed bundles, and offering them to a robot."""

import argparse
import hashlib
import os
import queue
import shutil
import sys
import time

from perception.core import bundle as bundles
from perception.core.lifecycle import inbox_of

#: MQTT 5 content type of a bundle on <prefix>/<robot>/model (an uncompressed tar archive).
BUNDLE_CONTENT_TYPE = 'application/x-tar'


def add_parser(sub) -> None:
    """Add `perception model` and its commands to the CLI's subparsers."""
    model = sub.add_parser('model', help='sign, check and offer model bundles',
                           description='Model bundles: an ONNX model and its manifest, signed '
                           'with Ed25519, which robots with the public key in their '
                           'trusted_keys install, shadow and promote by themselves.')
    commands = model.add_subparsers(dest='model_command', required=True)
    keygen = commands.add_parser('keygen', help='make a signing key pair')
    keygen.add_argument('--private', required=True, help='private key file to write (PEM)')
    keygen.add_argument('--public', required=True,
                        help='public key file to write (one line; robots list it in '
                        'trusted_keys)')
    keygen.set_defaults(func=_keygen)
    sign = commands.add_parser('sign', help='sign a model and its manifest into a bundle')
    sign.add_argument('manifest', help='the model manifest (perception evaluate fills in '
                      'accuracy, thresholds and the drift reference)')
    sign.add_argument('--version', type=int, required=True,
                      help='the bundle version; robots take only versions newer than any '
                      'they installed')
    sign.add_argument('--key', required=True, help='private key (perception model keygen)')
    sign.add_argument('-o', '--output', required=True, help='bundle file to write')
    sign.set_defaults(func=_sign)
    verify = commands.add_parser('verify', help='check a bundle as a robot would')
    verify.add_argument('bundle')
    verify.add_argument('--trusted-keys', required=True, help='public keys to trust')
    verify.add_argument('--labels', default='',
                        help="comma-separated labels the robot's consumers use (checked when "
                        'given)')
    verify.set_defaults(func=_verify)
    inspect = commands.add_parser('inspect', help="show a bundle's manifest and signer")
    inspect.add_argument('bundle')
    inspect.set_defaults(func=_inspect)
    offer = commands.add_parser(
        'offer', help='offer a bundle to a robot: into its inbox, or over MQTT',
        description="Without --broker, copy the bundle into the inbox of a detector's model_dir "
        'on this machine. With --broker, publish it (QoS 1) to <prefix>/<robot>/model, where '
        "the robot's telemetry node puts it into the inbox, and wait for the broker's "
        "acknowledgement (and with --wait-robot for the robot's answer).")
    offer.add_argument('bundle')
    offer.add_argument('--model-dir', default='',
                       help="the detector's model_dir (default $ROS_HOME/perception/models)")
    offer.add_argument('--broker', default='',
                       help='HOST[:PORT] of the MQTT broker (port 1883, or 8883 over TLS)')
    offer.add_argument('--robot', default='', help='the robot id (with --broker)')
    offer.add_argument('--prefix', default='perception', help="the robot's topic_prefix")
    from perception.fleet import add_connection_arguments
    add_connection_arguments(offer)
    offer.add_argument('--timeout', type=float, default=30.0,
                       help='seconds to wait in all: for the connection, the broker '
                       "acknowledging and with --wait-robot the robot's answer (default 30)")
    offer.add_argument('--wait-robot', action='store_true',
                       help="wait for the robot's model_offer_received or model_offer_refused "
                       'event and fail when it refused the offer')
    offer.set_defaults(func=_offer)


def _fail(message: str) -> int:
    print(f'perception model: {message}', file=sys.stderr)
    return 1


def _keygen(args: argparse.Namespace) -> int:
    try:
        key = bundles.keygen(args.private, args.public)
    except OSError as exc:
        return _fail(f'cannot write the keys: {exc}')
    print(f'key {key}: private {args.private} (keep it off robots), public {args.public}')
    return 0


def _sign(args: argparse.Namespace) -> int:
    try:
        bundles.make_bundle(args.manifest, args.version, args.key, args.output)
        bundle = bundles.read_bundle(args.output)
    except (bundles.BundleError, OSError) as exc:
        return _fail(str(exc))
    print(f'{args.output}: version {bundle.version}, model {len(bundle.model)} bytes, sha256 '
          f'{bundle.manifest["sha256"][:16]}, signed by key {bundle.key_id}')
    return 0


def _verify(args: argparse.Namespace) -> int:
    try:
        bundle = bundles.read_bundle(args.bundle)
        bundles.verify(bundle, bundles.load_public_keys(args.trusted_keys))
        if args.labels:
            bundles.check_compatible(bundle, [x for x in args.labels.split(',') if x])
    except bundles.BundleError as exc:
        return _fail(f'REFUSED: {exc}')
    print(f'{args.bundle}: OK, version {bundle.version} signed by trusted key {bundle.key_id}')
    return 0


def _inspect(args: argparse.Namespace) -> int:
    try:
        bundle = bundles.read_bundle(args.bundle)
    except bundles.BundleError as exc:
        return _fail(str(exc))
    m = bundle.manifest
    accuracy = m.get('accuracy') or {}
    print(f'{args.bundle}\n  version {bundle.version}, signed by key {bundle.key_id} '
          '(not verified: perception model verify does)\n'
          f'  model {m.get("name", "")} ({m.get("precision", "")}), {len(bundle.model)} bytes, '
          f'sha256 {m.get("sha256", "")}\n  labels {", ".join(m.get("labels") or [])}\n'
          f'  input {m.get("input")}')
    if accuracy:
        print(f'  accuracy on {accuracy.get("dataset")}: mAP@0.5 {accuracy.get("map50")}, '
              f'mAP@0.5:0.95 {accuracy.get("map50_95")}')
    if m.get('thresholds'):
        print('  thresholds ' + ', '.join(f'{k} {v}' for k, v in m['thresholds'].items()))
    reference = m.get('drift_reference') or {}
    print('  drift reference: ' + (', '.join(
        f'{k} [{v["low"]:.3g}, {v["high"]:.3g}]' for k, v in reference.items())
        if reference else 'none (perception evaluate writes one)'))
    return 0


def _offer(args: argparse.Namespace) -> int:
    if args.broker:
        return _offer_mqtt(args)
    if args.robot or args.wait_robot:
        return _fail('--robot and --wait-robot go with --broker')
    inbox = inbox_of(args.model_dir)
    try:
        bundles.read_bundle(args.bundle)  # a whole bundle, not garbage, before it travels
        os.makedirs(inbox, exist_ok=True)
        target = os.path.join(inbox, os.path.basename(args.bundle))
        # Written under a partial name and renamed: the robot never takes half a file.
        shutil.copyfile(args.bundle, target + '.part')
        os.replace(target + '.part', target)
    except (bundles.BundleError, OSError) as exc:
        return _fail(str(exc))
    print(f'{args.bundle} offered in {inbox}')
    return 0


def _offer_mqtt(args: argparse.Namespace) -> int:
    from perception.core import telemetry as tm
    from perception.mqtt_link import binary_properties, LinkConfig, MqttLink
    if args.model_dir:
        return _fail("--model-dir is the robot's business with --broker (its telemetry node "
                     'knows its inbox)')
    problem = tm.robot_id_problem(args.robot) if args.robot else \
        '--robot ID is needed with --broker'
    if problem:
        return _fail(problem)
    if not args.timeout > 0:
        return _fail('--timeout must be more than 0 s')
    tls = bool(args.tls_ca or args.tls_cert)
    host, _, port = args.broker.partition(':') if args.broker.count(':') == 1 else \
        (args.broker, '', '')
    if not host or (port and not port.isdigit()):
        return _fail(f'--broker must be HOST or HOST:PORT, not {args.broker!r}')
    try:
        bundle = bundles.read_bundle(args.bundle)  # a whole bundle, not garbage, before it travels
        with open(args.bundle, 'rb') as stream:
            data = stream.read()
    except (bundles.BundleError, OSError) as exc:
        return _fail(str(exc))
    digest = hashlib.sha256(data).hexdigest()
    topics = {kind: tm.topic(args.prefix, args.robot, kind) for kind in ('model', 'event')}
    config = LinkConfig(host=host, port=int(port or (8883 if tls else 1883)),
                        client_id=f'perception-offer-{tm.new_id()[:12]}',
                        username=args.username, password_file=args.password_file, tls=tls,
                        ca=args.tls_ca, cert=args.tls_cert, key=args.tls_key, reconnect_max_s=2)
    events: queue.Queue = queue.Queue()
    link = MqttLink(config, events.put,
                    subscriptions=[(topics['event'], 1)] if args.wait_robot else [])
    deadline = time.monotonic() + args.timeout
    link.start()
    try:
        # Connected (and subscribed to the robot's events, to miss none of them) first.
        ready = {'connected'} | ({'subscribed'} if args.wait_robot else set())
        while ready:
            if link.problem_is_error:
                return _fail(link.problem)
            event = _next(events, deadline)
            if event is None:
                return _fail(f'no connection to {config.broker} within {args.timeout:g} s'
                             f'{": " + link.problem if link.problem else ""}')
            ready.discard(event[0])
        mid = link.publish(topics['model'], data, qos=1,
                           properties=binary_properties(BUNDLE_CONTENT_TYPE))
        if mid is None:
            return _fail(f'the connection to {config.broker} was lost before publishing')
        while True:
            event = _next(events, deadline)
            if event is None:
                return _fail(f'{config.broker} did not acknowledge the bundle within '
                             f'{args.timeout:g} s{": " + link.problem if link.problem else ""}')
            if event[0] == 'ack' and event[1] == mid:
                if not event[2]:
                    return _fail(f'{config.broker} refused the bundle: {event[3]}')
                break
        print(f'{args.bundle}: version {bundle.version}, {len(data)} bytes, sha256 '
              f'{digest[:16]}, published to {topics["model"]} on {config.broker} and '
              'acknowledged by the broker')
        if not args.wait_robot:
            return 0
        while True:
            event = _next(events, deadline)
            if event is None:
                return _fail(f'robot {args.robot} did not answer within {args.timeout:g} s '
                             '(offline, model_offers false, or another topic_prefix?)')
            answer = _answer(event, topics['event'], digest)
            if answer is None:
                continue
            if answer['event'] == 'model_offer_received':
                print(f'robot {args.robot}: put in its inbox as {answer.get("file")}; the '
                      'detector verifies and installs it (its events say how it went)')
                return 0
            return _fail(f'robot {args.robot} refused the offer ({answer.get("reason")}): '
                         f'{answer.get("message")}')
    finally:
        link.stop()


def _next(events: queue.Queue, deadline: float):
    """Return the next event of the link, or None once the deadline has passed."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            return events.get(timeout=min(left, 0.5))
        except queue.Empty:
            continue


def _answer(event: tuple, topic: str, digest: str):
    """Return the body of the robot's event about this offer, or None for anything else."""
    from perception.core import telemetry as tm
    if event[0] != 'message' or event[1] != topic:
        return None
    try:
        body = tm.decode(event[2])['body']
    except tm.PayloadError:
        return None
    if body.get('event') in ('model_offer_received', 'model_offer_refused') and \
            body.get('sha256') == digest:
        return body
    return None
