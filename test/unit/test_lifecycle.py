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

"""The lifecycle's steps without ROS: the inbox, offers, the probe and the commit window."""

import os
import shutil
import tarfile

import pytest

from perception.core import bundle as bundles
from perception.core.lifecycle import CommitWatch, Inbox, Lifecycle, probe
from perception.modeltools import faults
from support import constant_manifest, LABELS, SCENE


@pytest.fixture
def keys(tmp_path):
    private, public = str(tmp_path / 'k.pem'), str(tmp_path / 'k.pub')
    bundles.keygen(private, public)
    return private, public


@pytest.fixture
def life(tmp_path, keys):
    return Lifecycle(str(tmp_path / 'models'), keys[1], LABELS,
                     constant_manifest(tmp_path, 'shipped', SCENE))


def bundle_of(tmp_path, keys, version, name='good', labels=None):
    manifest = constant_manifest(tmp_path, name, SCENE, labels=labels)
    return bundles.make_bundle(manifest, version, keys[0], str(tmp_path / f'{name}.bundle'))


def drop(life, path):
    target = os.path.join(life.inbox.path, os.path.basename(path))
    shutil.copy(path, target)
    return target


def test_the_inbox_takes_a_bundle_once_it_stops_growing(tmp_path):
    inbox = Inbox(str(tmp_path / 'inbox'))
    path = tmp_path / 'inbox' / 'a.bundle'
    path.write_bytes(b'x' * 10)
    (tmp_path / 'inbox' / 'b.bundle.part').write_bytes(b'x')  # an agent still writing
    assert inbox.ready() == []          # seen once: maybe still being written
    with open(path, 'ab') as stream:
        stream.write(b'more')
    assert inbox.ready() == []          # it grew
    assert inbox.ready() == [str(path)]


def test_a_good_bundle_is_installed_and_leaves_the_inbox(tmp_path, keys, life):
    event = life.offer(drop(life, bundle_of(tmp_path, keys, 1)))
    assert event.name == 'model_installed' and event.values['version'] == 1, event
    assert life.store.slot('candidate') == 1 and life.store.slot('active') == 0
    assert os.listdir(life.inbox.path) == ['refused']


def refusal(life, path):
    event = life.offer(drop(life, path))
    assert event.name == 'model_refused' and event.level == 'WARN', event
    assert life.store.slot('active') == 0 and life.store.slot('candidate') is None
    name = os.path.basename(path)
    kept = os.path.join(life.inbox.path, 'refused', name)
    assert os.path.exists(kept)
    with open(kept + '.reason') as stream:
        assert stream.read().strip() == event.values['reason']
    return event.values['reason']


def test_each_bad_offer_is_refused_with_its_reason(tmp_path, keys, life):
    tampered = bundle_of(tmp_path, keys, 5, 'tampered')
    with tarfile.open(tampered) as archive:
        at = archive.getmember('model.onnx').offset_data + 40
    with open(tampered, 'r+b') as stream:   # one byte of the model, inside the archive
        stream.seek(at)
        byte = stream.read(1)
        stream.seek(at)
        stream.write(bytes([byte[0] ^ 0xFF]))
    assert 'tampered or corrupt' in refusal(life, tampered)
    other = tmp_path / 'other'
    other.mkdir()
    bundles.keygen(str(other / 'k.pem'), str(other / 'k.pub'))
    unknown = bundles.make_bundle(constant_manifest(other, 'x', SCENE), 5, str(other / 'k.pem'),
                                  str(tmp_path / 'unknown.bundle'))
    assert 'does not trust' in refusal(life, unknown)
    assert 'labels' in refusal(life, bundle_of(tmp_path, keys, 5, 'cats',
                                               labels=['cat', 'dog', 'bird', 'box']))
    truncated = bundle_of(tmp_path, keys, 5, 'truncated')
    with open(truncated, 'r+b') as stream:
        stream.truncate(2000)
    assert 'truncated' in refusal(life, truncated)
    (tmp_path / 'garbage.bundle').write_bytes(b'{"model": "not a tar"}')
    assert 'not a bundle' in refusal(life, str(tmp_path / 'garbage.bundle'))


def test_a_downgrade_or_a_replay_is_refused_after_a_restart_too(tmp_path, keys, life):
    assert life.offer(drop(life, bundle_of(tmp_path, keys, 4, 'v4'))).name == 'model_installed'
    life.promote()
    life.commit()
    again = Lifecycle(life.model_dir, keys[1], LABELS, str(tmp_path / 'shipped.yaml'))
    assert again.store.slot('active') == 4
    for version in (3, 4):
        event = again.offer(drop(again, bundle_of(tmp_path, keys, version, f'old{version}')))
        assert event.name == 'model_refused' and 'not newer' in event.values['reason']


def test_without_trusted_keys_no_bundle_is_taken(tmp_path, keys):
    life = Lifecycle(str(tmp_path / 'models'), '', LABELS,
                     constant_manifest(tmp_path, 'shipped', SCENE))
    event = life.offer(drop(life, bundle_of(tmp_path, keys, 1)))
    assert event.name == 'model_refused' and 'takes no bundle' in event.values['reason']


def test_the_probe_says_why_a_model_cannot_serve(tmp_path):
    good = constant_manifest(tmp_path, 'good', SCENE)
    assert probe(good) is None
    faults.failing_always(str(tmp_path / 'good.onnx'), str(tmp_path / 'broken.onnx'))
    faults.with_manifest(good, str(tmp_path / 'broken.onnx'), str(tmp_path / 'broken.yaml'))
    assert 'cannot load' in probe(str(tmp_path / 'broken.yaml'))
    faults.failing_when_bright(str(tmp_path / 'good.onnx'), str(tmp_path / 'bright.onnx'), 0.1)
    faults.with_manifest(good, str(tmp_path / 'bright.onnx'), str(tmp_path / 'bright.yaml'))
    assert 'inference failed' in probe(str(tmp_path / 'bright.yaml'))


def test_the_probe_reports_a_crash_of_the_child(tmp_path, monkeypatch):
    # A model file that is a Python program would be absurd; a killed child is what a crash
    # of ONNX Runtime looks like from outside: make the interpreter itself abort.
    monkeypatch.setattr('sys.executable', str(tmp_path / 'crash.sh'))
    (tmp_path / 'crash.sh').write_text('#!/bin/sh\nkill -SEGV $$\n')
    os.chmod(tmp_path / 'crash.sh', 0o755)
    assert 'crashed ONNX Runtime (signal 11)' in probe('model.yaml')


def test_the_commit_window_keeps_a_healthy_model():
    watch = CommitWatch(window_s=10.0, budget_ms=50.0, started=0.0)
    for i in range(100):
        watch.frame(i * 0.1, 20.0)
        watch.compare(3, 3)
        if i * 0.1 < 10.0:
            assert watch.verdict(i * 0.1) is None
    assert watch.verdict(10.0) == (True, '')


@pytest.mark.parametrize('feed,reason', [
    (lambda w, t: w.frame(t, None, 'inference failed: boom'), '3 inference errors in a row'),
    (lambda w, t: w.frame(t, 90.0), 'exceeds the frame budget'),
    (lambda w, t: (w.frame(t, 20.0), w.compare(0, 4)), 'the previous model finds 4.00'),
])
def test_the_commit_window_rolls_back_a_failing_model(feed, reason):
    watch = CommitWatch(window_s=10.0, budget_ms=50.0, started=0.0)
    verdict, t = None, 0.0
    while verdict is None and t < 10.0:
        feed(watch, t)
        verdict = watch.verdict(t)
        t += 0.1
    assert verdict is not None and verdict[0] is False and reason in verdict[1], verdict
    assert t < 5.0  # found within the first seconds of the failure, not at the window's end


@pytest.mark.parametrize('ms,keep', [(140.0, True), (160.0, False)])
def test_over_the_budget_the_commit_window_compares_with_the_previous_model(ms, keep):
    watch = CommitWatch(window_s=10.0, budget_ms=50.0, started=0.0)
    for i in range(101):
        watch.frame(i * 0.1, ms)
        watch.compare(3, 3, 100.0)      # the previous model, in shadow
        verdict = watch.verdict(i * 0.1)
        if verdict is not None:
            break
    assert verdict[0] is keep, verdict
