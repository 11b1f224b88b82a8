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
import os
import shutil
import sys

from perception.core import bundle as bundles
from perception.core.lifecycle import inbox_of


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
    offer = commands.add_parser('offer', help="drop a bundle into a robot's inbox")
    offer.add_argument('bundle')
    offer.add_argument('--model-dir', default='',
                       help="the detector's model_dir (default $ROS_HOME/perception/models)")
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
