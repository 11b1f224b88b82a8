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
The robot's model slots on disk: active, candidate and previous, each switched atomically.

Every installed version lives whole in versions/v<N>/ (manifest.yaml and model.onnx): it is
written into a staging folder first, flushed to disk, and renamed into place in one step, so an
install cut short by a power loss leaves only a staging folder, removed at the next start. The
slots are symbolic links to versions, each replaced by one rename: at every instant each slot
names a whole version or none. The highest version ever installed is kept on disk too, so a
downgrade is refused after a restart as before it.
"""

import os
import shutil
from typing import List, Optional

import yaml

from perception.core.bundle import Bundle, MANIFEST, MODEL

SLOTS = ('active', 'candidate', 'previous')
STATE = 'state.yaml'


class StoreError(ValueError):
    """An install the store refuses, or a store it cannot use; the message says why."""


def _fsync_dir(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class ModelStore:
    """Model versions and the three slots that name them."""

    def __init__(self, root: str, keep: int = 4):
        self.root = os.path.abspath(root)
        self.keep = keep
        self.versions = os.path.join(self.root, 'versions')
        os.makedirs(self.versions, exist_ok=True)

    # --- state -------------------------------------------------------------------------------

    def _state(self) -> dict:
        try:
            with open(os.path.join(self.root, STATE), encoding='utf-8') as stream:
                state = yaml.safe_load(stream) or {}
            int(state.get('highest_version', 0))
            return state
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, AttributeError, yaml.YAMLError) as exc:
            raise StoreError(f'{self.root}/{STATE} cannot be read ({exc}): refusing to guess '
                             'which versions were installed') from None

    def _write_state(self, **changes) -> None:
        state = self._state()
        state.update(changes)
        path = os.path.join(self.root, STATE)
        temporary = path + '.tmp'
        with open(temporary, 'w', encoding='utf-8') as stream:
            yaml.safe_dump(state, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
        _fsync_dir(self.root)

    @property
    def highest(self) -> int:
        """The highest version ever installed (0 before any)."""
        return int(self._state().get('highest_version', 0))

    @property
    def pending(self) -> bool:
        """Whether the active model was promoted and its commit window has not ended."""
        return bool(self._state().get('commit_pending', False))

    def set_pending(self, pending: bool) -> None:
        """Remember, across restarts, whether the active model still awaits its commit."""
        self._write_state(commit_pending=bool(pending))

    def slot(self, name: str) -> Optional[int]:
        """Return the version a slot names, or None."""
        target = os.path.join(self.root, name)
        if not os.path.islink(target):
            return None
        version = os.path.basename(os.readlink(target))
        path = os.path.join(self.versions, version)
        if not version.startswith('v') or not os.path.isfile(os.path.join(path, MANIFEST)):
            return None
        return int(version[1:])

    def manifest(self, name: str) -> Optional[str]:
        """Return the manifest path of the version a slot names, or None."""
        version = self.slot(name)
        if version is None:
            return None
        return os.path.join(self.versions, f'v{version}', MANIFEST)

    def _point(self, name: str, version: Optional[int]) -> None:
        link = os.path.join(self.root, name)
        if version is None:
            if os.path.lexists(link):
                os.remove(link)
        else:
            temporary = link + '.new'
            if os.path.lexists(temporary):
                os.remove(temporary)
            os.symlink(os.path.join('versions', f'v{version}'), temporary)
            os.replace(temporary, link)
        _fsync_dir(self.root)

    # --- steps -------------------------------------------------------------------------------

    def recover(self) -> List[str]:
        """Clean up after a crash: staging left over, slots naming nothing. Return notes."""
        notes = []
        for entry in os.listdir(self.root):
            if entry.startswith('staging') or entry.endswith(('.new', '.tmp')):
                path = os.path.join(self.root, entry)
                shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) \
                    else os.remove(path)
                notes.append(f'removed {entry}, left by an install cut short')
        for name in SLOTS:
            link = os.path.join(self.root, name)
            if os.path.lexists(link) and self.slot(name) is None:
                os.remove(link)
                notes.append(f'slot {name} named no whole version: cleared')
        named = max((v for v in map(self.slot, SLOTS) if v is not None), default=0)
        if named > self.highest:
            self._write_state(highest_version=named)
            notes.append(f'version {named} was installed as the power went: made highest')
        return notes

    def install(self, bundle: Bundle) -> int:
        """Install a verified bundle's version into the candidate slot; StoreError if stale."""
        version = bundle.version
        if version <= self.highest:
            raise StoreError(f'version {version} is not newer than {self.highest}, the highest '
                             'installed: a downgrade or a replay is refused')
        staging = os.path.join(self.root, f'staging-v{version}')
        if os.path.exists(staging):
            shutil.rmtree(staging)
        os.makedirs(staging)
        for name, data in ((MODEL, bundle.model), (MANIFEST, bundle.manifest_bytes)):
            with open(os.path.join(staging, name), 'wb') as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
        _fsync_dir(staging)
        final = os.path.join(self.versions, f'v{version}')
        if os.path.exists(final):
            shutil.rmtree(final)  # an older install of a version never made highest
        os.rename(staging, final)
        _fsync_dir(self.versions)
        # The slot first: cut short here, the version is whole, named, and made highest at the
        # next start (recover), so a retry of the same bundle is not taken for a replay.
        self._point('candidate', version)
        self._write_state(highest_version=version)
        return version

    def installed_manifest(self, version: int) -> Optional[bytes]:
        """Return the exact manifest bytes of an installed version, or None."""
        try:
            with open(os.path.join(self.versions, f'v{version}', MANIFEST), 'rb') as stream:
                return stream.read()
        except OSError:
            return None

    def seed(self, manifest_path: str) -> None:
        """Make a shipped model (no bundle, version 0) the active one of an empty store."""
        if self.slot('active') is not None:
            return
        staging = os.path.join(self.root, 'staging-v0')
        if os.path.exists(staging):
            shutil.rmtree(staging)
        os.makedirs(staging)
        with open(manifest_path, encoding='utf-8') as stream:
            manifest = yaml.safe_load(stream)
        source = os.path.join(os.path.dirname(os.path.abspath(manifest_path)), manifest['file'])
        shutil.copyfile(source, os.path.join(staging, MODEL))
        manifest.update(file=MODEL, version=0)
        with open(os.path.join(staging, MANIFEST), 'w', encoding='utf-8') as stream:
            yaml.safe_dump(manifest, stream, sort_keys=False)
        final = os.path.join(self.versions, 'v0')
        if os.path.exists(final):
            shutil.rmtree(final)
        os.rename(staging, final)
        self._point('active', 0)

    def promote(self) -> int:
        """Make the candidate active; the active one becomes previous. Return the version."""
        version = self.slot('candidate')
        if version is None:
            raise StoreError('no candidate to promote')
        self._point('previous', self.slot('active'))
        self._point('active', version)
        self._point('candidate', None)
        self.prune()
        return version

    def rollback(self) -> int:
        """Make the previous version active again; return it."""
        version = self.slot('previous')
        if version is None:
            raise StoreError('no previous version to roll back to')
        self._point('active', version)
        self._point('previous', None)
        return version

    def reject(self) -> Optional[int]:
        """Drop the candidate (it stays installed as the highest version); return it."""
        version = self.slot('candidate')
        self._point('candidate', None)
        self.prune()
        return version

    def prune(self) -> None:
        """Remove versions no slot names, keeping the newest few."""
        named = {self.slot(s) for s in SLOTS}
        installed = sorted(int(v[1:]) for v in os.listdir(self.versions) if v.startswith('v'))
        for version in installed[:-self.keep]:
            if version not in named:
                shutil.rmtree(os.path.join(self.versions, f'v{version}'), ignore_errors=True)
