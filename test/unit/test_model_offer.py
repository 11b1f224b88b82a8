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

"""Bundles offered as bytes: the cheap checks and the write into the detector's inbox."""

import hashlib
import os
import time

import pytest
import yaml

from perception.core import bundle as bundles
from perception.core import model_offer as offers
from perception.core.lifecycle import Inbox
from support import constant_manifest, SCENE

MB = 1000 * 1000


@pytest.fixture
def payload(tmp_path):
    private, public = str(tmp_path / 'k.pem'), str(tmp_path / 'k.pub')
    bundles.keygen(private, public)
    manifest = constant_manifest(tmp_path, 'dock', SCENE)
    with open(manifest, encoding='utf-8') as stream:
        doc = yaml.safe_load(stream)
    doc['name'] = 'dock/v2 model'   # a name that is no file name
    with open(manifest, 'w', encoding='utf-8') as stream:
        yaml.safe_dump(doc, stream)
    path = bundles.make_bundle(manifest, 7, private, str(tmp_path / 'offer.bundle'))
    with open(path, 'rb') as stream:
        return stream.read()


def refused(reason, *args):
    with pytest.raises(offers.OfferRefused) as caught:
        offers.deliver(*args)
    assert caught.value.reason == reason, caught.value
    return str(caught.value)


def test_an_offer_lands_whole_under_a_bundle_name_and_the_detector_takes_it(tmp_path, payload):
    inbox = str(tmp_path / 'models' / 'inbox')
    done = offers.deliver(payload, inbox, 10 * MB, 4)
    digest = hashlib.sha256(payload).hexdigest()
    # The model's name made safe as a file name, its version and its hash: no clash, no guess.
    assert done.file == f'dock_v2_model-v7-{digest[:12]}.bundle'
    assert (done.size, done.sha256, done.version, done.model) == (
        len(payload), digest, 7, 'dock/v2 model')
    assert os.listdir(inbox) == [done.file]          # no .part left behind
    with open(done.path, 'rb') as stream:
        assert stream.read() == payload
    watcher = Inbox(inbox)                            # what the detector sees: taken once still
    assert watcher.ready() == [] and watcher.ready() == [done.path]
    assert bundles.read_bundle(done.path).version == 7


def test_empty_oversized_and_garbage_offers_are_refused_and_nothing_is_written(tmp_path,
                                                                               payload):
    inbox = str(tmp_path / 'inbox')
    refused(offers.EMPTY, b'', inbox, 10 * MB, 4)
    assert 'more than the 1000' in refused(offers.TOO_LARGE, payload, inbox, 1000, 4)
    refused(offers.NOT_A_BUNDLE, b'\x00not a bundle' * 100, inbox, 10 * MB, 4)
    refused(offers.NOT_A_BUNDLE, payload[:2000], inbox, 10 * MB, 4)  # cut in the model
    assert not os.path.exists(inbox)


def test_the_same_bundle_twice_is_a_duplicate_and_a_full_inbox_refuses(tmp_path, payload):
    inbox = str(tmp_path / 'inbox')
    first = offers.deliver(payload, inbox, 10 * MB, 2)
    assert 'waits in the inbox already' in refused(offers.DUPLICATE, payload, inbox, 10 * MB, 2)
    # Files the detector takes count as waiting; partial ones and refused/ do not.
    os.makedirs(os.path.join(inbox, 'refused'))
    for name in ('copying.bundle.part', '.hidden'):
        open(os.path.join(inbox, name), 'wb').close()
    assert offers.waiting(inbox) == [first.file]
    with open(first.path, 'rb') as stream:
        assert stream.read() == payload   # never overwritten
    os.remove(first.path)                 # taken by the detector; two others wait instead
    for name in ('other.bundle', 'third.bundle'):
        open(os.path.join(inbox, name), 'wb').close()
    assert '2 bundles wait' in refused(offers.INBOX_FULL, payload, inbox, 10 * MB, 2)
    assert offers.deliver(payload, inbox, 10 * MB, 3).file == first.file


def test_an_inbox_that_cannot_be_written_is_a_refusal_not_a_crash(tmp_path, payload):
    blocker = tmp_path / 'not_a_folder'
    blocker.write_bytes(b'x')
    message = refused(offers.DISK_ERROR, payload, str(blocker / 'inbox'), 10 * MB, 4)
    assert 'cannot use the inbox' in message
    assert blocker.read_bytes() == b'x'


def test_a_part_left_by_a_cut_write_is_removed_once_stale_and_others_are_left(tmp_path,
                                                                              payload):
    inbox = tmp_path / 'inbox'
    inbox.mkdir()
    names = ('.m-v1-0123456789ab.bundle.0badc0de.part', '.m-v1-0123456789ab.bundle.1234abcd.part',
             'agent.bundle.part')
    for name in names:
        (inbox / name).write_bytes(b'half')
    old = time.time() - offers.STALE_PART_S - 60
    for name in (names[0], names[2]):   # the agent's own .part is the agent's business
        os.utime(inbox / name, (old, old))
    done = offers.deliver(payload, str(inbox), 10 * MB, 4)
    assert sorted(os.listdir(inbox)) == sorted([done.file, names[1], names[2]])


def test_parse_bundle_reads_bytes_as_read_bundle_reads_the_file(tmp_path, payload):
    path = tmp_path / 'copy.bundle'
    path.write_bytes(payload)
    from_file, from_bytes = bundles.read_bundle(str(path)), bundles.parse_bundle(payload, 'x')
    assert (from_bytes.manifest, from_bytes.model, from_bytes.key_id, from_bytes.signature) == (
        from_file.manifest, from_file.model, from_file.key_id, from_file.signature)
    with pytest.raises(bundles.BundleError, match='truncated or not a bundle'):
        bundles.parse_bundle(payload[:700], 'x')
