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
Lay out the venv's share/perception as `colcon build --symlink-install` does: a link per file.

The files are those setup.py installs: package.xml, launch/*.launch.py, and every file under
config/ and models/. Directories are real and only files are links, because `ros2 launch` finds a
launch file with os.walk, which does not enter a linked directory. Run again after files are
added or removed: new files get a link, links to files that are gone are removed, and a
directory link left by an older layout is replaced.

Usage: tools/link_share.py SOURCE_ROOT SHARE_DIR
"""

import fnmatch
import os
import sys
from typing import Dict, List

#: Folder -> pattern of the files installed from it (as setup.py's data_files).
TREES = {'launch': '*.launch.py', 'config': '*', 'models': '*'}
#: Folders whose subfolders are installed too (setup.py's share_tree).
RECURSIVE = ('config', 'models')
FILES = ('package.xml',)


def installed_files(root: str) -> List[str]:
    """Return the paths, relative to root, of every file the package installs into share/."""
    found = [name for name in FILES if os.path.isfile(os.path.join(root, name))]
    for folder, pattern in TREES.items():
        top = os.path.join(root, folder)
        for current, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith('.') and d != '__pycache__')
            if folder not in RECURSIVE:
                dirs[:] = []
            for name in sorted(files):
                if not name.startswith('.') and fnmatch.fnmatch(name, pattern):
                    found.append(os.path.relpath(os.path.join(current, name), root))
    return found


def _replace_directory_link(path: str) -> None:
    # An older layout linked whole folders; unlink (never delete through) the link.
    if os.path.islink(path):
        os.unlink(path)


def link_share(root: str, share: str) -> Dict[str, int]:
    """Link every installed file into share; return counts of links made and removed."""
    root, share = os.path.abspath(root), os.path.abspath(share)
    os.makedirs(share, exist_ok=True)
    for folder in TREES:
        _replace_directory_link(os.path.join(share, folder))
    wanted = {os.path.join(share, rel): os.path.join(root, rel) for rel in installed_files(root)}
    made = removed = 0
    for link, target in sorted(wanted.items()):
        parent = os.path.dirname(link)
        _replace_directory_link(parent)
        os.makedirs(parent, exist_ok=True)
        if os.path.islink(link) and os.readlink(link) == target:
            continue
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(target, link)
        made += 1
    # Links of files no longer installed (removed or renamed in the source) would still be
    # found by ros2 launch; only links are removed, anything else written there is kept.
    for folder in TREES:
        top = os.path.join(share, folder)
        for current, _dirs, files in os.walk(top, topdown=False):
            for name in files:
                path = os.path.join(current, name)
                if os.path.islink(path) and path not in wanted:
                    os.unlink(path)
                    removed += 1
            if current != top and not os.listdir(current):
                os.rmdir(current)
    return {'linked': made, 'removed': removed}


def main(argv=None) -> int:
    """Link the share directory given on the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    counts = link_share(*args)
    print(f'[setup] share directory: {counts["linked"]} links made, {counts["removed"]} stale '
          'links removed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
