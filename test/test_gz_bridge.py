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
config/gz_bridge.yaml against ros_gz_bridge, the robot model and the topics our nodes take.

ros_gz_bridge cannot be installed here; what it reads of the file (its keys, directions and
type pairs, as its parser and its mapping table give them in Humble and Jazzy) is written below.
"""

import importlib
import os
import posixpath
import xml.etree.ElementTree as ElementTree

import pytest
import yaml

from perception import stack
from perception.core.robot import load_robot
from perception.params import load_defaults
from perception.sim import sdf

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
BRIDGE = os.path.join(ROOT, 'config', 'gz_bridge.yaml')

#: The keys of an entry that ros_gz_bridge's YAML parser reads, and its directions.
KEYS = {'topic_name', 'ros_topic_name', 'gz_topic_name', 'ros_type_name', 'gz_type_name',
        'direction', 'publisher_queue', 'subscriber_queue', 'lazy'}
DIRECTIONS = {'BIDIRECTIONAL', 'GZ_TO_ROS', 'ROS_TO_GZ'}
#: ros_gz_bridge's pairs for the message types of our graph (Humble reads the gz.msgs names
#: as well as ignition.msgs ones).
PAIRS = {
    'rosgraph_msgs/msg/Clock': {'gz.msgs.Clock'},
    'sensor_msgs/msg/Image': {'gz.msgs.Image'},
    'sensor_msgs/msg/CameraInfo': {'gz.msgs.CameraInfo'},
    'sensor_msgs/msg/LaserScan': {'gz.msgs.LaserScan'},
    'nav_msgs/msg/Odometry': {'gz.msgs.Odometry', 'gz.msgs.OdometryWithCovariance'},
    'geometry_msgs/msg/Twist': {'gz.msgs.Twist'},
}
#: What Gazebo publishes on a sensor's topic, by the sensor's type.
SENSOR_MESSAGES = {'camera': 'gz.msgs.Image', 'depth_camera': 'gz.msgs.Image',
                   'gpu_lidar': 'gz.msgs.LaserScan'}


@pytest.fixture(scope='module')
def entries():
    with open(BRIDGE, encoding='utf-8') as stream:
        data = yaml.safe_load(stream)
    assert isinstance(data, list) and data, 'the bridge file is a YAML list of entries'
    return data


def by_ros_name(entries):
    return {e['ros_topic_name']: e for e in entries}


def absolute(topic):
    return topic if topic.startswith('/') else '/' + topic


def test_every_entry_is_one_the_bridge_reads(entries):
    for entry in entries:
        assert isinstance(entry, dict) and set(entry) <= KEYS, entry
        # Both names given, so neither is guessed from the other.
        assert {'ros_topic_name', 'gz_topic_name', 'ros_type_name', 'gz_type_name',
                'direction'} <= set(entry), entry
        assert entry['direction'] in DIRECTIONS, entry
        assert isinstance(entry.get('lazy', False), bool), entry
    names = [e['ros_topic_name'] for e in entries]
    assert len(names) == len(set(names)), names


def test_each_ros_type_exists_and_pairs_with_its_gazebo_type(entries):
    for entry in entries:
        package, kind, name = entry['ros_type_name'].split('/')
        assert kind == 'msg', entry
        module = importlib.import_module(f'{package}.msg')  # the venv's message packages
        assert hasattr(module, name), entry['ros_type_name']
        assert entry['gz_type_name'] in PAIRS[entry['ros_type_name']], entry


def test_the_bridge_carries_what_our_nodes_take_and_what_the_base_takes_from_them(entries):
    ours = set(stack.STACKS['gazebo'])
    bridged = by_ros_name(entries)
    # What our nodes of this stack take and none of them publishes: Gazebo's.
    inputs = [t for t in stack.TOPICS if set(t.subscribers) & ours and
              not set(t.publishers) & ours]
    # What they publish for the base alone (the simulator in the MuJoCo stack, which also
    # listens to detections and the gate's state for its lockstep and ground truth): Gazebo's
    # drive takes it.
    outputs = [t for t in stack.TOPICS if set(t.subscribers) == {'simulator'} and
               set(t.publishers) & ours]
    assert {t.name for t in inputs} >= {'scan', 'odom', '/clock', 'camera/image_raw'}
    assert [t.name for t in outputs] == ['cmd_vel']
    for topic, direction in [(t, 'GZ_TO_ROS') for t in inputs] + \
            [(t, 'ROS_TO_GZ') for t in outputs]:
        entry = bridged.get(topic.name)
        assert entry, f'{topic.name} is not bridged'
        assert (entry['ros_type_name'], entry['direction']) == (topic.message, direction)
    assert set(bridged) == {t.name for t in inputs + outputs}  # and nothing else
    # Relative, so that a namespace applies, but /clock, which is global.
    assert [n for n in bridged if n.startswith('/')] == ['/clock']


def test_only_images_are_lazy(entries):
    lazy = {e['ros_topic_name'] for e in entries if e.get('lazy')}
    assert lazy == {e['ros_topic_name'] for e in entries
                    if e['ros_type_name'] == 'sensor_msgs/msg/Image'}
    assert lazy == {'camera/image_raw', 'camera/depth/image_raw'}


@pytest.mark.parametrize('flavour', sorted(sdf.FLAVOURS))
def test_every_topic_of_the_robot_model_has_its_entry(entries, flavour):
    params = load_defaults(os.path.join(ROOT, 'config', 'simulator.yaml'))
    robot = load_robot(os.path.join(ROOT, 'config', 'robot.yaml'))
    model = ElementTree.fromstring(sdf.robot_sdf(robot, params, flavour))
    published = {'/clock': 'gz.msgs.Clock'}  # every world's clock
    for sensor in model.iter('sensor'):
        topic = absolute(sensor.findtext('topic'))
        published[topic] = SENSOR_MESSAGES[sensor.get('type')]
        if sensor.find('camera') is not None:
            # A camera's info goes beside its image: gz-sensors replaces the last part.
            published[posixpath.join(posixpath.dirname(topic), 'camera_info')] = \
                'gz.msgs.CameraInfo'
    plugins = {p.get('name').rsplit('::', 1)[1]: p for p in model.iter('plugin')}
    published[absolute(plugins['OdometryPublisher'].findtext('odom_topic'))] = \
        'gz.msgs.Odometry'
    taken = {absolute(plugins['DiffDrive'].findtext('topic')): 'gz.msgs.Twist'}
    bridged = {e['gz_topic_name']: e for e in entries}
    for topics, direction in ((published, 'GZ_TO_ROS'), (taken, 'ROS_TO_GZ')):
        for topic, message in topics.items():
            assert topic in bridged, f'{topic} of the robot model is not bridged'
            assert (bridged[topic]['gz_type_name'], bridged[topic]['direction']) == \
                (message, direction), topic
    assert set(bridged) == set(published) | set(taken)
    # The names on both sides agree, so the robot model's topics are our topics.
    for entry in entries:
        assert absolute(entry['ros_topic_name']) == entry['gz_topic_name']
