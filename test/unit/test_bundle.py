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

"""Signed model bundles: what makes one trusted, and every way one is not."""

import base64
import io
import os
import subprocess
import tarfile

import pytest
import yaml

from perception.core import bundle as bundles
from support import constant_manifest, LABELS, perception_command, SCENE


@pytest.fixture
def keys(tmp_path):
    private, public = tmp_path / 'key.pem', tmp_path / 'key.pub'
    bundles.keygen(str(private), str(public))
    return str(private), str(public)


@pytest.fixture
def signed(tmp_path, keys):
    manifest = constant_manifest(tmp_path, 'model', SCENE)
    return bundles.make_bundle(manifest, 3, keys[0], str(tmp_path / 'model.bundle'))


def rewrite(path, change):
    """Rewrite a bundle's members through change(name, data) -> data (None drops it)."""
    with tarfile.open(path) as archive:
        members = [(i.name, archive.extractfile(i).read()) for i in archive]
    with tarfile.open(path, 'w') as archive:
        for name, data in members:
            data = change(name, data)
            if data is None:
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_a_signed_bundle_verifies_and_says_what_it_holds(signed, keys):
    bundle = bundles.read_bundle(signed)
    bundles.verify(bundle, bundles.load_public_keys(keys[1]))
    bundles.check_compatible(bundle, LABELS)
    assert bundle.version == 3 and bundle.manifest['file'] == 'model.onnx'
    assert bundle.manifest['labels'] == LABELS
    assert len(bundle.key_id) == 16


def test_the_private_key_is_readable_by_its_owner_only(keys):
    assert os.stat(keys[0]).st_mode & 0o077 == 0


@pytest.mark.parametrize('change,message', [
    (lambda n, d: d[:-1] + bytes([d[-1] ^ 1]) if n == 'model.onnx' else d,
     'does not match its signed sha256'),
    (lambda n, d: d.replace(b'version: 3', b'version: 9') if n == 'manifest.yaml' else d,
     'bad signature'),
    (lambda n, d: None if n == 'signature.yaml' else d, 'signature.yaml missing'),
    (lambda n, d: b'key_id: [' if n == 'signature.yaml' else d, 'cannot be read'),
])
def test_a_changed_bundle_is_refused_with_the_reason(signed, keys, change, message):
    rewrite(signed, change)
    with pytest.raises(bundles.BundleError, match=message):
        bundles.verify(bundles.read_bundle(signed), bundles.load_public_keys(keys[1]))


def test_a_bundle_signed_by_another_key_is_refused(signed, tmp_path):
    other = tmp_path / 'other.pub'
    bundles.keygen(str(tmp_path / 'other.pem'), str(other))
    with pytest.raises(bundles.BundleError, match='does not trust'):
        bundles.verify(bundles.read_bundle(signed), bundles.load_public_keys(str(other)))


def test_a_signature_made_with_another_key_under_a_trusted_id_is_refused(signed, keys, tmp_path):
    forger = tmp_path / 'forger.pem'
    bundles.keygen(str(forger), str(tmp_path / 'forger.pub'))
    key = bundles.load_private_key(str(forger))
    manifest = bundles.read_bundle(signed).manifest_bytes

    def forge(name, data):
        if name != 'signature.yaml':
            return data
        doc = yaml.safe_load(data)  # the trusted key's id kept, the forger's signature put in
        doc['signature'] = base64.b64encode(key.sign(manifest)).decode()
        return yaml.safe_dump(doc).encode()
    rewrite(signed, forge)
    with pytest.raises(bundles.BundleError, match='bad signature'):
        bundles.verify(bundles.read_bundle(signed), bundles.load_public_keys(keys[1]))


@pytest.mark.parametrize('member,into', [
    (None, 0), ('manifest.yaml', -100), ('model.onnx', 50), ('signature.yaml', 20)])
def test_a_truncated_bundle_is_refused(signed, member, into):
    """Cut short anywhere in a member's header or data (a copy that stopped part way)."""
    with tarfile.open(signed) as archive:
        offsets = {i.name: i.offset_data for i in archive}
    cut = 0 if member is None else offsets[member] + into
    with open(signed, 'rb') as stream:
        data = stream.read()
    with open(signed, 'wb') as stream:
        stream.write(data[:cut])
    with pytest.raises(bundles.BundleError, match='truncated or not a bundle'):
        bundles.read_bundle(signed)


def test_a_bundle_with_members_of_its_own_is_refused(signed):
    rewrite(signed, lambda n, d: d)
    with tarfile.open(signed, 'a') as archive:
        info = tarfile.TarInfo('../../etc/evil')
        info.size = 1
        archive.addfile(info, io.BytesIO(b'x'))
    with pytest.raises(bundles.BundleError, match='holds exactly'):
        bundles.read_bundle(signed)


def test_a_bundle_for_other_labels_is_refused(tmp_path, keys):
    manifest = constant_manifest(tmp_path, 'other', SCENE, labels=['cat', 'dog', 'bird', 'box'])
    bundle = bundles.read_bundle(bundles.make_bundle(manifest, 1, keys[0],
                                                     str(tmp_path / 'other.bundle')))
    with pytest.raises(bundles.BundleError, match='labels'):
        bundles.check_compatible(bundle, LABELS)


def test_signing_refuses_a_model_that_does_not_match_its_manifest(tmp_path, keys):
    manifest = constant_manifest(tmp_path, 'model', SCENE)
    with open(tmp_path / 'model.onnx', 'ab') as stream:
        stream.write(b'\0')
    with pytest.raises(bundles.BundleError, match='does not match'):
        bundles.make_bundle(manifest, 1, keys[0], str(tmp_path / 'x.bundle'))
    assert not (tmp_path / 'x.bundle').exists()


@pytest.mark.parametrize('text,message', [
    ('', 'holds no trusted key'),
    ('rsa AAAA\n', 'unknown key type'),
    ('ed25519 not-base64!\n', 'not an ed25519 public key'),
    ('ed25519 AAAA\n', 'not an ed25519 public key'),
])
def test_a_bad_trusted_keys_file_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / 'keys'
    path.write_text(text)
    with pytest.raises(bundles.BundleError, match=message):
        bundles.load_public_keys(str(path))


def test_comments_and_several_keys_in_the_trusted_keys_file(tmp_path, keys):
    other = tmp_path / 'other.pub'
    bundles.keygen(str(tmp_path / 'other.pem'), str(other))
    path = tmp_path / 'trusted'
    path.write_text('# fleet keys\n\n' + open(keys[1]).read() + other.read_text() + '  # end\n')
    assert len(bundles.load_public_keys(str(path))) == 2


def test_the_command_line_signs_verifies_and_inspects(tmp_path):
    manifest = constant_manifest(tmp_path, 'model', SCENE)

    def run(*args):
        return subprocess.run(perception_command('model', *args), capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)
    assert run('keygen', '--private', 'k.pem', '--public', 'k.pub').returncode == 0
    done = run('sign', manifest, '--version', '2', '--key', 'k.pem', '-o', 'm.bundle')
    assert done.returncode == 0, done.stderr
    done = run('verify', 'm.bundle', '--trusted-keys', 'k.pub', '--labels', ','.join(LABELS))
    assert done.returncode == 0 and 'OK, version 2' in done.stdout, done.stderr
    done = run('verify', 'm.bundle', '--trusted-keys', 'k.pub', '--labels', 'a,b')
    assert done.returncode == 1 and 'REFUSED' in done.stderr
    done = run('inspect', 'm.bundle')
    assert done.returncode == 0 and 'version 2' in done.stdout and 'person' in done.stdout
    (tmp_path / 'junk.bundle').write_bytes(b'not a tar file at all')
    done = run('inspect', 'junk.bundle')
    assert done.returncode == 1 and 'truncated or not a bundle' in done.stderr
