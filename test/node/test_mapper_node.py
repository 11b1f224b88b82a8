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

"""The mapper node in a process of its own, fed scans and odom from this one."""

import math
import time

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import OccupancyGrid, Odometry
import numpy as np
import pytest
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, LaserScan

from perception.conversions import numpy_to_image, stamp_from_ns, stamp_to_ns
from perception.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from support import NodeStarter, Spinner, wait_until

pytestmark = pytest.mark.node


class Feed:
    def __init__(self, context):
        self.node = Node('mapper_feed', context=context)
        self.scan = self.node.create_publisher(LaserScan, 'scan', SENSOR_QOS)
        self.odom = self.node.create_publisher(Odometry, 'odom', SENSOR_QOS)
        self.depth = self.node.create_publisher(Image, 'camera/depth/image_raw', SENSOR_QOS)
        self.info = self.node.create_publisher(CameraInfo, 'camera/depth/camera_info',
                                               SENSOR_QOS)
        self.maps, self.diag = [], {}
        self.node.create_subscription(OccupancyGrid, 'local_map', self.maps.append, LATCHED_QOS)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._diag, RELIABLE_QOS)
        self.spinner = Spinner(self.node, context)
        self.sent = []

    def wait_for_mapper(self, node):
        """Wait until the mapper listens: under load it may take seconds to start."""
        assert wait_until(lambda: all(p.get_subscription_count() for p in (
            self.scan, self.odom, self.depth, self.info)), 30), node.output()

    def _diag(self, msg):
        for status in msg.status:
            self.diag[status.name] = (status.level, status.message)

    def send(self, ranges, count=10):
        for _ in range(count):
            now = time.time_ns()
            odom = Odometry()
            odom.header.stamp, odom.header.frame_id = stamp_from_ns(now), 'odom'
            odom.pose.pose.orientation.w = 1.0
            self.odom.publish(odom)
            scan = LaserScan()
            scan.header.stamp, scan.header.frame_id = stamp_from_ns(now), 'laser'
            scan.angle_min, scan.angle_increment = -math.pi, 2 * math.pi / 360
            scan.angle_max = scan.angle_min + 359 * scan.angle_increment
            scan.range_min, scan.range_max = 0.1, 15.0
            scan.ranges = list(ranges)
            self.scan.publish(scan)
            self.sent.append(now)
            time.sleep(0.1)


@pytest.fixture
def feed(ros_context):
    feed = Feed(ros_context)
    yield feed
    feed.spinner.close()


@pytest.fixture
def mapper(tmp_path):
    starter = NodeStarter('mapper_node', tmp_path)
    yield starter
    starter.kill_all()


def wall_ranges(distance=2.0):
    ranges = np.full(360, np.inf, np.float32)
    ranges[150:211] = [distance / math.cos(math.radians(a)) for a in range(-30, 31)]
    return ranges - 0.2  # the lidar sits 0.2 m ahead of base_link


def test_the_map_shows_what_the_scan_sees(mapper, feed):
    node = mapper()
    feed.wait_for_mapper(node)
    feed.send(wall_ranges(), 15)
    assert wait_until(lambda: feed.maps, 10), node.output()
    grid = feed.maps[-1]
    assert grid.header.frame_id == 'odom'
    assert (grid.info.width, grid.info.height) == (200, 200)
    assert grid.info.resolution == pytest.approx(0.05)
    assert (grid.info.origin.position.x, grid.info.origin.position.y) == (-5.0, -5.0)
    assert stamp_to_ns(grid.header.stamp) in feed.sent
    cells = np.array(grid.data, np.int8).reshape(200, 200)
    assert cells.min() >= -1 and cells.max() <= 100
    assert cells[100, 140] >= 65            # the wall, 2 m ahead
    assert 0 <= cells[100, 120] < 50        # free space before it
    assert cells[100, 160] == -1            # behind it: unknown


def test_bad_input_is_reported_and_survived(mapper, feed):
    node = mapper()
    feed.wait_for_mapper(node)
    nan = np.full(360, np.nan, np.float32)
    feed.send(nan, 5)  # all NaN: nothing to mark or clear, no crash
    feed.send(np.zeros(0, np.float32), 5)  # no ranges: malformed
    info = CameraInfo(width=8, height=6)
    info.k = [5.0, 0.0, 3.5, 0.0, 5.0, 2.5, 0.0, 0.0, 1.0]
    for _ in range(5):
        feed.info.publish(info)
        image = numpy_to_image(np.zeros((6, 8, 3), np.uint8), 'rgb8')
        image.header.frame_id = 'camera_optical_frame'
        feed.depth.publish(image)
        time.sleep(0.1)
    assert wait_until(lambda: 'mapper: map' in feed.diag and
                      'depth: malformed' in feed.diag['mapper: map'][1], 10), node.output()
    assert feed.diag['mapper: map'][0] == b'\x02'  # ERROR
    assert 'scan has no ranges' in feed.diag['mapper: map'][1]
    assert node.alive()
