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

"""ament_python package definition of perception."""

from glob import glob
import os

from setuptools import find_packages, setup

PACKAGE = 'perception'


def share_tree(folder):
    """List (install dir, files) pairs for every file below a source folder."""
    entries = []
    for root, _dirs, files in os.walk(folder):
        paths = [os.path.join(root, f) for f in sorted(files) if not f.startswith('.')]
        if paths:
            entries.append((os.path.join('share', PACKAGE, root), paths))
    return entries


setup(
    name=PACKAGE,
    version='0.1.0',
    package_dir={'': 'src'},
    packages=find_packages('src'),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        ('share/' + PACKAGE + '/launch', glob('launch/*.launch.py')),
    ] + share_tree('config') + share_tree('models'),
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='perception maintainers',
    maintainer_email='maintainers@perception.dev',
    description='Edge perception stack: capture, detection, mapping and a 100 ms safety stop.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'perception = perception.cli:main',
            'camera_node = perception.nodes.camera_node:main',
            'simulator_node = perception.nodes.simulator_node:main',
            'route_driver_node = perception.nodes.route_driver_node:main',
            'safety_node = perception.nodes.safety_node:main',
            'detector_node = perception.nodes.detector_node:main',
            'mapper_node = perception.nodes.mapper_node:main',
            'telemetry_node = perception.nodes.telemetry_node:main',
        ],
    },
)
