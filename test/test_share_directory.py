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
The installed share directory, searched the way `ros2 launch perception <file>` searches it.

ros2launch (ros2/launch_ros) finds a launch file by walking the package's share directory with
os.walk and keeping every file of that name; os.walk does not enter a linked folder. Where
ros2launch is importable its own function is used; in the venv, which has no ros2launch, a walk
with the same semantics (os.walk without followlinks, match by file name, exactly one match).
"""

import importlib.util
import os

from ament_index_python.packages import get_package_share_directory
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

try:
    from ros2launch.api import get_share_file_path_from_package
except ImportError:  # the venv: no ros2launch wheel exists
    get_share_file_path_from_package = None


def _load_link_share():
    spec = importlib.util.spec_from_file_location(
        'link_share', os.path.join(ROOT, 'tools', 'link_share.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


link_share = _load_link_share()


def walk_files(share):
    """Every file os.walk reaches under share, as ros2launch walks it (linked folders not)."""
    found = []
    for current, _dirs, files in os.walk(share):
        found += [os.path.join(current, name) for name in files]
    return found


def find_in_share(share, file_name):
    """Return the one file of that name that ros2launch's walk finds, or raise as it does."""
    matches = [p for p in walk_files(share) if os.path.basename(p) == file_name]
    if not matches:
        raise FileNotFoundError(f'{file_name} not found under {share}')
    if len(matches) > 1:
        raise RuntimeError(f'{file_name} found more than once: {matches}')
    return matches[0]


def test_ros2_launch_finds_the_launch_file_in_the_installed_share_directory():
    if get_share_file_path_from_package is not None:
        path = get_share_file_path_from_package(package_name='perception',
                                                file_name='bringup.launch.py')
    else:
        path = find_in_share(get_package_share_directory('perception'), 'bringup.launch.py')
    assert os.path.realpath(path) == os.path.join(ROOT, 'launch', 'bringup.launch.py')


def test_every_file_setup_py_installs_is_reached_by_the_walk():
    share = get_package_share_directory('perception')
    reached = {os.path.relpath(p, share) for p in walk_files(share)}
    missing = sorted(set(link_share.installed_files(ROOT)) - reached)
    assert not missing, f'not reachable in {share} (run make setup): {missing}'


@pytest.fixture
def source(tmp_path):
    root = tmp_path / 'src'
    for rel in ('package.xml', 'launch/a.launch.py', 'launch/helper.txt',
                'config/a.yaml', 'config/scenarios/s.yaml', 'config/.hidden',
                'models/m.onnx'):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    return root


def test_an_old_folder_link_is_replaced_without_touching_the_source(source, tmp_path):
    share = tmp_path / 'share'
    share.mkdir()
    os.symlink(source / 'launch', share / 'launch')  # the layout bootstrap.sh used to make
    with pytest.raises(FileNotFoundError):
        find_in_share(str(share), 'a.launch.py')
    link_share.link_share(str(source), str(share))
    assert not os.path.islink(share / 'launch')
    assert os.path.realpath(find_in_share(str(share), 'a.launch.py')) == \
        str(source / 'launch' / 'a.launch.py')
    assert sorted(os.listdir(source / 'launch')) == ['a.launch.py', 'helper.txt']
    # What setup.py would not install is not linked either.
    names = {os.path.basename(p) for p in walk_files(str(share))}
    assert names == {'package.xml', 'a.launch.py', 'a.yaml', 's.yaml', 'm.onnx'}


def test_files_added_later_are_found_and_removed_ones_are_gone(source, tmp_path):
    share = tmp_path / 'share'
    link_share.link_share(str(source), str(share))
    (source / 'launch' / 'b.launch.py').write_text('new')
    (source / 'config' / 'scenarios' / 'new.yaml').write_text('new')
    (source / 'models' / 'm.onnx').unlink()
    counts = link_share.link_share(str(source), str(share))
    assert counts == {'linked': 2, 'removed': 1}
    assert os.path.realpath(find_in_share(str(share), 'b.launch.py')) == \
        str(source / 'launch' / 'b.launch.py')
    find_in_share(str(share), 'new.yaml')
    with pytest.raises(FileNotFoundError):
        find_in_share(str(share), 'm.onnx')
    # A second run changes nothing.
    assert link_share.link_share(str(source), str(share)) == {'linked': 0, 'removed': 0}
