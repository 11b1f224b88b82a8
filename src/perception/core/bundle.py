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
Model bundles: the ONNX model and its manifest in one file, signed with Ed25519.

A bundle is an uncompressed tar archive of exactly three members: `manifest.yaml` (the model
manifest of perception.core.model with a `version`, the model's sha256 and, from `perception
evaluate`, accuracy, thresholds and the drift reference), `model.onnx`, and `signature.yaml`
(the key's id and an Ed25519 signature of the manifest's exact bytes). The signature covers the
manifest, and the manifest the model's hash, so one signature covers both. A robot takes a
bundle only when a key it trusts signed it, the model matches its hash, and its version is
newer than any it has installed (TUF's and minisign's rule against rollback attacks).
"""

import base64
from dataclasses import dataclass
import hashlib
import io
import os
import tarfile
from typing import Dict, Iterable

import yaml

MANIFEST, MODEL, SIGNATURE = 'manifest.yaml', 'model.onnx', 'signature.yaml'
MEMBERS = (MANIFEST, MODEL, SIGNATURE)
#: A bundle larger than this is refused before it is read (a model of a few MB fits easily).
MAX_BYTES = 256 * 1024 * 1024


class BundleError(ValueError):
    """A bundle that cannot be trusted or used; the message says why."""


@dataclass(frozen=True)
class Bundle:
    """A bundle's contents, read but not yet trusted (see verify)."""

    path: str
    manifest_bytes: bytes
    manifest: Dict[str, object]
    model: bytes
    key_id: str
    signature: bytes

    @property
    def version(self) -> int:
        """The bundle's version number."""
        return int(self.manifest['version'])


def key_id(public_raw: bytes) -> str:
    """Return a key's short id: the first 16 hex digits of its sha256."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def _raw(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def keygen(private_path: str, public_path: str) -> str:
    """Write an Ed25519 key pair (private PEM, public `ed25519 <base64>` line); return its id."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    raw = _raw(key.public_key())
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    with os.fdopen(os.open(private_path, flags, 0o600), 'wb') as stream:
        stream.write(pem)
    with open(public_path, 'w', encoding='utf-8') as stream:
        stream.write(f'ed25519 {base64.b64encode(raw).decode()} {key_id(raw)}\n')
    return key_id(raw)


def load_private_key(path: str):
    """Read a private key written by keygen; BundleError when it cannot be used."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    try:
        with open(path, 'rb') as stream:
            key = serialization.load_pem_private_key(stream.read(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise BundleError(f'cannot read the private key {path}: {exc}') from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f'{path} is not an Ed25519 private key')
    return key


def load_public_keys(path: str) -> Dict[str, object]:
    """Read trusted public keys (one `ed25519 <base64> [id]` a line); return them by id."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    keys = {}
    try:
        with open(path, encoding='utf-8') as stream:
            lines = stream.read().splitlines()
    except OSError as exc:
        raise BundleError(f'cannot read the trusted keys {path}: {exc.strerror}') from None
    for number, line in enumerate(lines, 1):
        fields = line.split('#', 1)[0].split()
        if not fields:
            continue
        try:
            if fields[0] != 'ed25519':
                raise ValueError(f'unknown key type {fields[0]!r}')
            raw = base64.b64decode(fields[1], validate=True)
            keys[key_id(raw)] = Ed25519PublicKey.from_public_bytes(raw)
        except (ValueError, IndexError) as exc:
            raise BundleError(f'{path}:{number}: not an ed25519 public key ({exc})') from None
    if not keys:
        raise BundleError(f'{path} holds no trusted key')
    return keys


def make_bundle(manifest_path: str, version: int, private_key: str, out_path: str) -> str:
    """Sign a model and its manifest into a bundle of the given version; return its path."""
    from perception.core.model import sha256_of
    with open(manifest_path, encoding='utf-8') as stream:
        manifest = yaml.safe_load(stream)
    if not isinstance(manifest, dict) or not isinstance(manifest.get('file'), str):
        raise BundleError(f'{manifest_path} is not a model manifest')
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleError(f'a bundle version is a whole number from 1, not {version!r}')
    model_path = os.path.join(os.path.dirname(os.path.abspath(manifest_path)), manifest['file'])
    if not os.path.isfile(model_path):
        raise BundleError(f'model {model_path} (from {manifest_path}) not found')
    digest = sha256_of(model_path)
    if manifest.get('sha256') and manifest['sha256'] != digest:
        raise BundleError(f'{model_path} does not match the sha256 of {manifest_path}')
    manifest.update(version=version, file=MODEL, sha256=digest)
    manifest_bytes = yaml.safe_dump(manifest, sort_keys=False).encode()
    key = load_private_key(private_key)
    signature = {'key_id': key_id(_raw(key.public_key())), 'algorithm': 'ed25519',
                 'signature': base64.b64encode(key.sign(manifest_bytes)).decode()}
    with open(model_path, 'rb') as stream:
        model = stream.read()
    members = {MANIFEST: manifest_bytes, MODEL: model,
               SIGNATURE: yaml.safe_dump(signature, sort_keys=False).encode()}
    temporary = f'{out_path}.tmp{os.getpid()}'
    try:
        with tarfile.open(temporary, 'w') as archive:
            for name in MEMBERS:
                info = tarfile.TarInfo(name)
                info.size = len(members[name])
                info.mode = 0o644
                archive.addfile(info, io.BytesIO(members[name]))
        os.replace(temporary, out_path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return out_path


def read_bundle(path: str) -> Bundle:
    """Read a bundle's members; BundleError for anything but a whole, well-formed bundle."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise BundleError(f'cannot read bundle {path}: {exc.strerror}') from None
    if size > MAX_BYTES:
        raise BundleError(f'{path} is {size} bytes, more than a bundle may be ({MAX_BYTES})')
    try:
        with open(path, 'rb') as stream:
            return _parse(stream, path)
    except OSError as exc:
        raise BundleError(f'cannot read bundle {path}: {exc.strerror}') from None


def parse_bundle(data: bytes, name: str) -> Bundle:
    """
    Read a bundle held in memory (an MQTT payload) as read_bundle reads a file.

    Only its form is checked, which needs no key: whether a trusted key signed it is verify's
    question, asked by the detector.
    """
    if len(data) > MAX_BYTES:
        raise BundleError(f'{name} is {len(data)} bytes, more than a bundle may be '
                          f'({MAX_BYTES})')
    return _parse(io.BytesIO(data), name)


def _parse(stream, path: str) -> Bundle:
    members = {}
    try:
        with tarfile.open(fileobj=stream, mode='r:') as archive:
            for info in archive:
                if info.name not in MEMBERS or not info.isreg() or info.name in members:
                    raise BundleError(f'{path} holds {info.name!r}: a bundle holds exactly '
                                      f'{", ".join(MEMBERS)}')
                members[info.name] = archive.extractfile(info).read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleError(f'{path} is truncated or not a bundle ({exc})') from None
    missing = [m for m in MEMBERS if m not in members]
    if missing:
        raise BundleError(f'{path} is truncated or not a bundle: {", ".join(missing)} missing')
    try:
        manifest = yaml.safe_load(members[MANIFEST])
        signature = yaml.safe_load(members[SIGNATURE])
        raw_signature = base64.b64decode(signature['signature'], validate=True)
        version = int(manifest['version'])
        key = str(signature['key_id'])
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise BundleError(f'{path}: its manifest or signature cannot be read ({exc})') from None
    if not isinstance(manifest, dict) or version < 1:
        raise BundleError(f'{path}: its manifest has no valid version')
    return Bundle(path, members[MANIFEST], manifest, members[MODEL], key, raw_signature)


def verify(bundle: Bundle, trusted: Dict[str, object]) -> None:
    """Raise BundleError unless a trusted key signed the bundle and the model is the signed one."""
    from cryptography.exceptions import InvalidSignature
    key = trusted.get(bundle.key_id)
    if key is None:
        raise BundleError(f'{bundle.path} is signed by key {bundle.key_id}, which this robot '
                          'does not trust')
    try:
        key.verify(bundle.signature, bundle.manifest_bytes)
    except InvalidSignature:
        raise BundleError(f'{bundle.path}: bad signature (the manifest was changed after '
                          'signing, or another key signed it)') from None
    digest = hashlib.sha256(bundle.model).hexdigest()
    if digest != bundle.manifest.get('sha256'):
        raise BundleError(f'{bundle.path}: the model does not match its signed sha256 '
                          '(tampered or corrupt)')


def check_compatible(bundle: Bundle, labels: Iterable[str]) -> None:
    """
    Raise BundleError when the consumers could not take the bundle's model.

    The safety gate and the mapper know the robot's classes by label, so the labels must be the
    same, in the same order; the detector feeds colour images as nchw tensors.
    """
    theirs = list(bundle.manifest.get('labels') or [])
    if theirs != list(labels):
        raise BundleError(f"{bundle.path}: labels {theirs} differ from those this robot's "
                          f'detections use {list(labels)}')
    given = bundle.manifest.get('input') or {}
    if given.get('layout', 'nchw') != 'nchw' or given.get('color', 'rgb') not in ('rgb', 'bgr'):
        raise BundleError(f'{bundle.path}: input {given} is not an nchw colour image')
