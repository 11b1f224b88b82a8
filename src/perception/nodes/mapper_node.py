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
Local occupancy map: a rolling log-odds grid from scan, depth and detections, in odom.

The algorithm is perception.core.occupancy's; this node converts messages to arrays, folds each
reading into the grid as it arrives and publishes the map right after, at most rate_hz times a
second, stamped with the newest sensor stamp, so it is never older than it has to be. People and
forklifts the detector reports are held for a time of their own per class.
"""

import array
import math
import time

from nav_msgs.msg import OccupancyGrid, Odometry
import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image, LaserScan
from vision_msgs.msg import Detection2DArray

from perception import diagnostics
from perception.conversions import image_to_numpy, stamp_from_ns, stamp_to_ns
from perception.conversions import yaw_of
from perception.core.floor_objects import floor_objects
from perception.core.image_encoding import ImageEncodingError
from perception.core.occupancy import GridConfig, RollingGrid
from perception.core.safety_field import transform
from perception.core.sensor_points import depth_scale, MalformedReading
from perception.node_main import run_node
from perception.params import declare_parameters, ParamSpec
from perception.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from perception.sensor_geometry import box_detections, load_robot_description, ROBOT_PARAM
from perception.sensor_geometry import SensorGeometry

P = ParamSpec
PARAMS = [
    P('size_m', 'Side of the square window (m).', min_value=1.0, max_value=100.0),
    P('resolution', 'Cell size (m).', min_value=0.01, max_value=1.0),
    P('rate_hz', 'Most maps published per second.', min_value=0.1, max_value=50.0),
    P('hit', 'Log-odds added where a ray ends on something.', min_value=0.01, max_value=5.0),
    P('miss', 'Log-odds added where a ray passes.', min_value=-5.0, max_value=-0.01),
    P('clamp_min', 'Lowest log-odds.', min_value=-20.0, max_value=-0.1),
    P('clamp_max', 'Highest log-odds.', min_value=0.1, max_value=20.0),
    P('decay_per_s', 'Drift toward unknown per second where nothing is observed.',
      min_value=0.0, max_value=10.0),
    P('source_timeout_s', 'A source older than this is reported stale.', min_value=0.05,
      max_value=10.0),
    ROBOT_PARAM,
    P('lidar', 'Lidar of the robot description whose scans arrive on scan.'),
    P('camera', 'rgbd camera of the robot description: depth and detections.'),
    P('scan_clear_range', 'Beams without a return clear this far (m) and never mark.',
      min_value=0.0, max_value=50.0),
    P('depth_stride', 'Use every n-th depth pixel.', min_value=1, max_value=64),
    P('depth_min_height', 'Depth points below this are floor: they clear, never mark (m).',
      min_value=-1.0, max_value=2.0),
    P('depth_max_height', 'Depth points above this are ignored (m).', min_value=0.1,
      max_value=10.0),
    P('depth_max_range', 'Depth beyond this is ignored (m).', min_value=0.2, max_value=50.0),
    P('person_classes', 'Detection labels held as people.'),
    P('forklift_classes', 'Detection labels held as forklifts.'),
    P('detection_min_score', 'Lowest score of a hypothesis that makes a detection count.',
      min_value=0.0, max_value=1.0),
    P('person_persistence_s', 'How long a person stays marked.', min_value=0.0,
      max_value=60.0),
    P('forklift_persistence_s', 'How long a forklift stays marked.', min_value=0.0,
      max_value=60.0),
    P('person_radius_m', 'Radius marked around a person.', min_value=0.05, max_value=5.0),
    P('forklift_radius_m', 'Radius marked around a forklift.', min_value=0.05, max_value=5.0),
]


class MapperNode(Node):
    """Keeps the rolling grid and publishes it on local_map."""

    def __init__(self, **kwargs):
        super().__init__('mapper', **kwargs)
        p = declare_parameters(self, PARAMS, 'mapper.yaml')
        self.p = p
        if p['size_m'] / p['resolution'] > 2000:
            raise ValueError('size_m / resolution exceeds 2000 cells per side')
        robot = load_robot_description(p['robot_description'])
        self.grid = RollingGrid(GridConfig.from_mapping(
            p, robot_length=robot.footprint.length, robot_width=robot.footprint.width))
        self.geometry = SensorGeometry(self, robot, p['lidar'], p['camera'])
        self.classes = dict.fromkeys(p['person_classes'], 'person')
        self.classes.update(dict.fromkeys(p['forklift_classes'], 'forklift'))
        self.pose = None
        self.newest_stamp = 0
        self.last_update = None
        self.last_publish = 0.0
        self.stamps = {'scan': None, 'depth': None, 'odom': None, 'detections': None}
        self.update_ms = {'scan': 0.0, 'depth': 0.0}
        self.problems = {}
        self.pub = self.create_publisher(OccupancyGrid, 'local_map', LATCHED_QOS)
        self.diagnostics = diagnostics.DiagnosticsPublisher(self, 'local map')
        self.create_subscription(Odometry, 'odom', self._on_odom, SENSOR_QOS)
        self.create_subscription(LaserScan, 'scan', self._on_scan, SENSOR_QOS)
        self.create_subscription(Image, 'camera/depth/image_raw', self._on_depth, SENSOR_QOS)
        self.create_subscription(Detection2DArray, 'detections', self._on_detections,
                                 RELIABLE_QOS)
        # Maps go out right after the readings they carry; this timer keeps publishing (the
        # decaying map) only while the sensors are silent.
        self.create_timer(1.0 / p['rate_hz'], self._publish_when_silent)
        self.create_timer(1.0, self._report)

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds / 1e9

    def _on_odom(self, msg: Odometry) -> None:
        pose = (msg.pose.pose.position.x, msg.pose.pose.position.y,
                yaw_of(msg.pose.pose.orientation))
        if not all(math.isfinite(v) for v in pose):
            self.problems['odom'] = 'odom pose is NaN or infinite'
            return
        self.problems.pop('odom', None)
        self.pose = pose
        self.stamps['odom'] = self._now()
        self.grid.recentre(pose[0], pose[1])

    def _decay(self) -> None:
        now = self._now()
        if self.last_update is not None:
            self.grid.decay(now - self.last_update)
        self.last_update = now

    def _on_scan(self, msg: LaserScan) -> None:
        if self.pose is None:
            return
        start = time.perf_counter()
        ranges = np.frombuffer(msg.ranges, dtype=np.float32) if len(msg.ranges) \
            else np.zeros(0, np.float32)
        self._decay()
        try:
            self.grid.integrate_scan(ranges, msg.angle_min, msg.angle_increment, msg.range_min,
                                     msg.range_max, self.geometry.scan_mount, self.pose,
                                     self.p['scan_clear_range'])
        except MalformedReading as exc:
            self.problems['scan'] = f'malformed: {exc}'
            return
        self._done('scan', msg, start)

    def _on_depth(self, msg: Image) -> None:
        geometry = self.geometry
        if self.pose is None or geometry.depth_intrinsics is None:
            return
        start = time.perf_counter()
        try:
            scale = depth_scale(msg.encoding)
            depth = image_to_numpy(msg)
            if scale != 1.0:
                depth = depth * np.float32(scale)  # to metres
            self._decay()
            self.grid.integrate_depth(depth, geometry.depth_intrinsics, geometry.camera_mount,
                                      self.pose, self.p['depth_stride'],
                                      self.p['depth_min_height'], self.p['depth_max_height'],
                                      self.p['depth_max_range'])
        except (MalformedReading, ImageEncodingError) as exc:
            self.problems['depth'] = f'malformed: {exc}'
            return
        self._done('depth', msg, start)

    def _done(self, source: str, msg, start: float) -> None:
        """Account for a reading folded in, and publish the map if it is due."""
        self.problems.pop(source, None)
        self.newest_stamp = max(self.newest_stamp, stamp_to_ns(msg.header.stamp))
        self.stamps[source] = self._now()
        self.update_ms[source] = (time.perf_counter() - start) * 1000
        self._publish_if_due()

    def _on_detections(self, msg: Detection2DArray) -> None:
        geometry = self.geometry
        if self.pose is None or geometry.color_intrinsics is None:
            return
        now = self._now()
        self.stamps['detections'] = now
        for found in floor_objects(box_detections(msg), self.classes,
                                   self.p['detection_min_score'], geometry.color_height,
                                   geometry.color_intrinsics, geometry.camera_mount):
            if found.point is None:
                continue  # above the horizon, or feet out of view: no floor position
            odom = transform(np.array([found.point]), self.pose)
            self.grid.mark_objects(found.kind, odom, self.p[f'{found.kind}_radius_m'],
                                   now + self.p[f'{found.kind}_persistence_s'])

    def _publish_when_silent(self) -> None:
        if time.monotonic() - self.last_publish >= 1.5 / self.p['rate_hz']:
            self._publish_if_due()

    def _publish_if_due(self) -> None:
        now = time.monotonic()
        if self.pose is None or now - self.last_publish < 1.0 / self.p['rate_hz'] - 1e-3:
            return
        self.last_publish = now
        cfg = self.grid.config
        msg = OccupancyGrid()
        msg.header.stamp = stamp_from_ns(self.newest_stamp) if self.newest_stamp \
            else self.get_clock().now().to_msg()
        msg.header.frame_id = 'odom'
        msg.info.map_load_time = msg.header.stamp
        msg.info.resolution = float(cfg.resolution)
        msg.info.width = msg.info.height = cfg.cells
        msg.info.origin.position.x, msg.info.origin.position.y = self.grid.origin
        msg.info.origin.orientation.w = 1.0
        data = array.array('b')
        data.frombytes(self.grid.occupancy(self._now()).tobytes())
        msg.data = data
        self.pub.publish(msg)

    def _report(self) -> None:
        now = self._now()
        values = {f'{k}_update_ms': v for k, v in self.update_ms.items()}
        stale = []
        for name, seen in self.stamps.items():
            age = now - seen if seen is not None else math.inf
            values[f'{name}_age_s'] = f'{age:.2f}' if math.isfinite(age) else 'never'
            if name in ('scan', 'depth', 'odom') and age > self.p['source_timeout_s']:
                stale.append(name)
        values.update({f'{k}_problem': v for k, v in self.problems.items()})
        if self.problems:
            level, message = diagnostics.ERROR, '; '.join(f'{k}: {v}'
                                                          for k, v in self.problems.items())
        elif stale:
            level, message = diagnostics.WARN, f'stale: {", ".join(stale)} (their cells decay)'
        else:
            level, message = diagnostics.OK, (f'scan {self.update_ms["scan"]:.1f} ms, depth '
                                              f'{self.update_ms["depth"]:.1f} ms')
        self.diagnostics.publish([diagnostics.Status('map', level, message, values)])


def main(args=None):
    raise SystemExit(run_node(MapperNode, args))


if __name__ == '__main__':
    main()
