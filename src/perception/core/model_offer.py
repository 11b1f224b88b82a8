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
A model bundle that arrived as bytes (an MQTT message), put into the detector's inbox.

Only cheap checks happen here (not empty, not too large, the form of a bundle, room in the
inbox): trust (signature, hash, version, labels) is the detector's to decide, on the file. The
bytes are written as `<name>.part`, synced, and only then given their `.bundle` name, without
ever replacing a file, so the detector never sees half a bundle and an interrupted write leaves
only a `.part` it ignores.
"""

from dataclasses import dataclass
import errno
import hashlib
import os
import re
import time
import uuid

from perception.core import bundle as bundles
from perception.core.lifecycle import PARTIAL_SUFFIXES, SUFFIX

#: Why an offer is refused, as the events name it.
EMPTY, TOO_LARGE, NOT_A_BUNDLE, INBOX_FULL, DUPLICATE, DISK_ERROR, RETAINED = (
    'empty', 'too_large', 'not_a_bundle', 'inbox_full', 'duplicate', 'disk_error', 'retained')
#: Longest model name kept in a file name.
NAME_CHARS = 48
#: A .part of ours this old was left by a write cut short (a power cut): removed.
STALE_PART_S = 3600.0
#: The name _write_new gives its .part files.
OUR_PART = re.compile(r'\..+\.bundle\.[0-9a-f]{8}\.part')


class OfferRefused(Exception):
    """An offer that is not put into the inbox: `reason` (one word) and the message say why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Delivered:
    """A bundle written into the inbox."""

    path: str
    size: int
    sha256: str
    version: int
    model: str
    key_id: str

    @property
    def file(self) -> str:
        """Return the bundle's file name in the inbox."""
        return os.path.basename(self.path)


def check(payload: bytes, max_bytes: int) -> bundles.Bundle:
    """Return the offered bundle, unverified; OfferRefused when it is empty, too large or junk."""
    if not payload:
        raise OfferRefused(EMPTY, 'the offer is empty')
    if len(payload) > max_bytes:
        raise OfferRefused(TOO_LARGE, f'the offer is {len(payload)} bytes, more than the '
                           f'{max_bytes} taken (model_offer_max_mb)')
    try:
        return bundles.parse_bundle(payload, 'the offer')
    except bundles.BundleError as exc:
        raise OfferRefused(NOT_A_BUNDLE, str(exc)[:300]) from None


def waiting(inbox: str) -> list:
    """Return the names of the bundles in an inbox that the detector has not taken yet."""
    try:
        names = os.listdir(inbox)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if not n.startswith('.') and not n.endswith(PARTIAL_SUFFIXES)
                  and os.path.isfile(os.path.join(inbox, n)))


def file_name(bundle: bundles.Bundle, digest: str) -> str:
    """Return `<model name>-v<version>-<first 12 hex of sha256>.bundle`, safe as a file name."""
    name = re.sub(r'[^A-Za-z0-9_.-]', '_', str(bundle.manifest.get('name') or 'model'))
    name = name.lstrip('.-')[:NAME_CHARS] or 'model'
    return f'{name}-v{bundle.version}-{digest[:12]}{SUFFIX}'


def deliver(payload: bytes, inbox: str, max_bytes: int, max_waiting: int) -> Delivered:
    """Check an offer and write it into the inbox; OfferRefused says why not, nothing else."""
    bundle = check(payload, max_bytes)
    digest = hashlib.sha256(payload).hexdigest()
    name = file_name(bundle, digest)
    try:
        os.makedirs(inbox, exist_ok=True)
        remove_stale_parts(inbox, time.time())
        present = waiting(inbox)
    except OSError as exc:
        raise OfferRefused(DISK_ERROR, f'cannot use the inbox {inbox}: {_why(exc)}') from None
    if name in present:
        raise OfferRefused(DUPLICATE, f'the same bundle waits in the inbox already ({name})')
    if len(present) >= max_waiting:
        raise OfferRefused(INBOX_FULL, f'{len(present)} bundles wait in the inbox already '
                           f'(model_inbox_max {max_waiting}): the detector has not taken them')
    path = os.path.join(inbox, name)
    try:
        _write_new(inbox, path, payload)
    except FileExistsError:
        raise OfferRefused(DUPLICATE, f'the same bundle waits in the inbox already ({name})'
                           ) from None
    except OSError as exc:
        raise OfferRefused(DISK_ERROR, f'cannot write into the inbox {inbox}: {_why(exc)}'
                           ) from None
    return Delivered(path, len(payload), digest, bundle.version,
                     str(bundle.manifest.get('name') or ''), bundle.key_id)


def remove_stale_parts(inbox: str, now: float) -> list:
    """Remove the .part files of ours older than STALE_PART_S; return their names."""
    removed = []
    for name in os.listdir(inbox):
        if not OUR_PART.fullmatch(name):
            continue
        path = os.path.join(inbox, name)
        try:
            if now - os.path.getmtime(path) > STALE_PART_S:
                os.remove(path)
                removed.append(name)
        except OSError:
            continue  # gone meanwhile, or not ours to remove
    return sorted(removed)


def _write_new(inbox: str, path: str, payload: bytes) -> None:
    """Write `path` by way of a unique .part file, synced; FileExistsError if `path` exists."""
    part = os.path.join(inbox, f'.{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.part')
    try:
        with open(part, 'xb') as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(part, path)   # fails rather than replace a file of the same name
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise FileExistsError(path) from None
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK,
                                 errno.EOPNOTSUPP):
                raise
            # A file system without hard links: look, then rename (a rival writer could
            # still slip in between, which only this node does in this folder).
            if os.path.exists(path):
                raise FileExistsError(path) from None
            os.rename(part, path)
        _sync_folder(inbox)
    finally:
        if os.path.exists(part):
            try:
                os.remove(part)
            except OSError:
                pass  # a read-only folder: nothing was written to it either


def _sync_folder(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)  # the new name survives a power cut
    except OSError:
        pass
    finally:
        os.close(fd)


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
