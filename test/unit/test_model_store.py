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

"""Model slots on disk: installs, promotions, rollbacks, and power lost at every step."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import yaml

from perception.core import bundle as bundles
from perception.core.model import sha256_of
from perception.core.model_store import ModelStore, StoreError
from support import constant_manifest, SCENE


@pytest.fixture
def made(tmp_path):
    """Make a shipped model, a key, and bundles of versions 1 and 2."""
    private, public = str(tmp_path / 'k.pem'), str(tmp_path / 'k.pub')
    bundles.keygen(private, public)
    shipped = constant_manifest(tmp_path, 'shipped', SCENE)
    out = {'shipped': shipped, 'public': public, 'private': private}
    for version in (1, 2):
        manifest = constant_manifest(tmp_path, f'v{version}', SCENE[:version])
        out[version] = bundles.make_bundle(manifest, version, private,
                                           str(tmp_path / f'v{version}.bundle'))
    return out


def whole(store, slot):
    """Tell whether a slot names a version whose model matches its manifest."""
    path = store.manifest(slot)
    if path is None:
        return False
    with open(path) as stream:
        doc = yaml.safe_load(stream)
    return sha256_of(os.path.join(os.path.dirname(path), doc['file'])) == doc['sha256']


def test_install_promote_rollback(tmp_path, made):
    store = ModelStore(str(tmp_path / 'store'))
    store.seed(made['shipped'])
    assert store.slot('active') == 0 and whole(store, 'active')
    assert store.install(bundles.read_bundle(made[1])) == 1
    assert store.slot('candidate') == 1 and store.slot('active') == 0
    assert store.promote() == 1
    assert (store.slot('active'), store.slot('previous'), store.slot('candidate')) == (1, 0, None)
    assert store.rollback() == 0 and store.slot('active') == 0 and store.slot('previous') is None
    assert whole(store, 'active')


def test_a_version_not_newer_is_refused_even_after_a_restart(tmp_path, made):
    store = ModelStore(str(tmp_path / 'store'))
    store.seed(made['shipped'])
    store.install(bundles.read_bundle(made[2]))
    store.reject()
    again = ModelStore(str(tmp_path / 'store'))  # a restart: only the disk remembers
    for version in (1, 2):
        with pytest.raises(StoreError, match='not newer'):
            again.install(bundles.read_bundle(made[version]))


def test_an_unreadable_state_file_refuses_rather_than_guesses(tmp_path, made):
    store = ModelStore(str(tmp_path / 'store'))
    store.install(bundles.read_bundle(made[1]))
    (tmp_path / 'store' / 'state.yaml').write_text('highest_version: [')
    with pytest.raises(StoreError, match='refusing to guess'):
        store.install(bundles.read_bundle(made[2]))


def test_old_versions_are_pruned_but_never_a_named_one(tmp_path, made):
    store = ModelStore(str(tmp_path / 'store'), keep=1)
    store.seed(made['shipped'])
    store.install(bundles.read_bundle(made[1]))
    store.promote()
    store.install(bundles.read_bundle(made[2]))
    store.promote()
    assert sorted(os.listdir(tmp_path / 'store' / 'versions')) == ['v1', 'v2']


CHILD = textwrap.dedent("""
    import os, signal, sys
    from perception.core.lifecycle import Lifecycle
    limit, counter = int(sys.argv[1]), [0]

    def cut(function):
        def step(*args, **kwargs):
            counter[0] += 1
            if counter[0] == limit:
                os.kill(os.getpid(), signal.SIGKILL)  # the power goes, between two steps
            return function(*args, **kwargs)
        return step
    for name in ('rename', 'replace', 'symlink', 'fsync', 'remove'):
        setattr(os, name, cut(getattr(os, name)))
    root, keys, shipped, inbox_files = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    life = Lifecycle(root, keys, ['person', 'forklift', 'pallet', 'box'], shipped)
    for path in inbox_files:
        if os.path.exists(path):
            event = life.offer(path)
            assert event.name == 'model_installed', event
            life.promote()
            life.commit()
    # What the detector does at a start: a candidate left is shadowed and promoted again, a
    # promotion never committed is watched again (both pass here).
    if life.store.slot('candidate') is not None:
        life.promote()
    if life.store.pending:
        life.commit()
    print('steps', counter[0])
""")


def run_child(limit, root, made, inbox):
    files = [os.path.join(inbox, f'v{v}.bundle') for v in (1, 2)]
    return subprocess.run([sys.executable, '-c', CHILD, str(limit), root, made['public'],
                           made['shipped'], *files], capture_output=True, text=True,
                          timeout=120)


def test_power_lost_at_every_step_leaves_a_whole_active_model(tmp_path, made):
    """Kill the process at each file system step of two updates; restart; check; finish."""
    import shutil
    from perception.core.lifecycle import Lifecycle
    probe_root = str(tmp_path / 'probe')
    inbox = os.path.join(probe_root, 'inbox')
    os.makedirs(inbox)
    for version in (1, 2):
        shutil.copy(made[version], inbox)
    done = run_child(0, probe_root, made, inbox)
    assert done.returncode == 0, done.stderr
    steps = int(done.stdout.split()[-1])
    assert steps > 20
    for limit in range(1, steps + 1):
        root = str(tmp_path / f'cut{limit}')
        inbox = os.path.join(root, 'inbox')
        os.makedirs(inbox)
        for version in (1, 2):
            shutil.copy(made[version], inbox)
        done = run_child(limit, root, made, inbox)
        assert done.returncode == -signal.SIGKILL, (limit, done.stderr)
        # The restart: whatever step the power went at, a whole model is active.
        life = Lifecycle(root, made['public'], ['person', 'forklift', 'pallet', 'box'],
                         made['shipped'])
        store = life.store
        assert whole(store, 'active'), (limit, os.listdir(root))
        for slot in ('candidate', 'previous'):
            assert store.slot(slot) is None or whole(store, slot), (limit, slot)
        # And the update still completes: the bundles left in the inbox are taken again.
        done = run_child(0, root, made, inbox)
        assert done.returncode == 0, (limit, done.stderr)
        store = ModelStore(root)
        assert store.slot('active') == 2 and whole(store, 'active'), limit
        assert not [e for e in os.listdir(root) if e.startswith('staging')]
