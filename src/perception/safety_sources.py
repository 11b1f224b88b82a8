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
The safety gate's sources: one object per entry of its `sources` parameter.

Each source kind knows its message type, its parameters and how to turn a message into what the
decision core takes (perception.core.safety): a reading of a range sensor, odometry, or where
people stand. The core never learns which message a reading came from, so a second lidar or a
point cloud is one more entry in YAML.
"""

import math
from typing import Dict, List

from nav_msgs.msg import Odometry
import numpy as np
from sensor_msgs.msg import Image, LaserScan, PointCloud2
from vision_msgs.msg import Detection2DArray

from perception.conversions import image_to_numpy, pointcloud_xyz, yaw_of
from perception.core.floor_objects import floor_objects
from perception.core.image_encoding import ImageEncodingError
from perception.core.readings import CloudReading, DepthReading, ScanReading
from perception.core.robot import Camera, Lidar, PointCloudSensor, RobotDescription, RobotError
from perception.core.safety import DETECTIONS, ODOMETRY, POINTS
from perception.core.sensor_points import depth_scale, MalformedReading
from perception.params import ParameterError, ParamSpec
from perception.qos import RELIABLE_QOS, SENSOR_QOS
from perception.sensor_geometry import box_detections, CameraInfoWatch

P = ParamSpec


def _sensor_spec(kind: str) -> ParamSpec:
    return P('sensor', f'Name of the {kind} in the robot description.', value_type=str)


#: Parameters every source has, then those of each kind (names under `<source>.`).
COMMON = [
    P('kind', 'What the source is: scan (LaserScan), depth (Image), pointcloud (PointCloud2), '
      'odometry (Odometry) or detections (Detection2DArray).',
      choices=('scan', 'depth', 'pointcloud', 'odometry', 'detections'), value_type=str),
    P('topic', 'Topic the source arrives on.', value_type=str),
    P('required', 'Stop when this source is missing, stale or malformed; only required range '
      'sensors count for the coverage of the stop field.', value_type=bool),
    P('timeout_s', 'Oldest usable message.', min_value=0.01, max_value=5.0, value_type=float),
]
BY_KIND = {
    'scan': [_sensor_spec('lidar'),
             P('max_gap_deg', 'Largest run of invalid beams still taken as covering (deg).',
               min_value=0.0, max_value=45.0, value_type=float)],
    'depth': [_sensor_spec('rgbd camera'),
              P('info_topic', 'camera_info of the depth image.', value_type=str),
              P('stride', 'Use every n-th pixel.', min_value=1, max_value=64, value_type=int),
              P('min_height', 'Lower points are floor (m).', min_value=-1.0, max_value=2.0,
                value_type=float),
              P('max_height', 'Higher points are ignored: the robot passes under (m).',
                min_value=0.1, max_value=10.0, value_type=float),
              P('max_range', 'Depth beyond this is ignored (m).', min_value=0.2,
                max_value=50.0, value_type=float)],
    'pointcloud': [_sensor_spec('pointcloud sensor'),
                   P('min_height', 'Lower points are floor (m).', min_value=-1.0,
                     max_value=2.0, value_type=float),
                   P('max_height', 'Higher points are ignored (m).', min_value=0.1,
                     max_value=10.0, value_type=float)],
    'odometry': [],
    'detections': [_sensor_spec('rgbd camera'),
                   P('info_topic', 'camera_info of the images the detections are in.',
                     value_type=str)],
}
CORE_KIND = {'scan': POINTS, 'depth': POINTS, 'pointcloud': POINTS, 'odometry': ODOMETRY,
             'detections': DETECTIONS}


def source_specs(values: Dict[str, object]) -> List[ParamSpec]:
    """Specs of each listed source: its kind first, then, once the kind is known, the rest."""
    specs = []
    for name in values.get('sources', []):
        kind = values.get(f'{name}.kind')
        for spec in COMMON if kind is None else COMMON + BY_KIND.get(kind, []):
            specs.append(P(f'{name}.{spec.name}', spec.description, spec.min_value,
                           spec.max_value, spec.choices, spec.read_only, spec.value_type))
            if kind is None:
                break  # the kind decides the others
    return specs


class Source:
    """A source of the gate: subscribes, converts, and hands the result to the node."""

    message = None
    #: The type of robot-description sensor it reads (its `sensor` parameter), if any.
    sensor_type = None
    #: Whether it needs a camera_info (its `info_topic` parameter).
    needs_info = False

    def __init__(self, node, name: str, p: Dict[str, object], robot: RobotDescription):
        self.node = node
        self.name = name
        self.kind = p[f'{name}.kind']
        self.required = p[f'{name}.required']
        self.timeout = p[f'{name}.timeout_s']
        self.topic = p[f'{name}.topic']
        self.notes: Dict[str, str] = {}
        self.sensor = None
        if self.sensor_type is not None:
            try:
                self.sensor = robot.sensor(p[f'{name}.sensor'], self.sensor_type)
            except RobotError as exc:
                raise ParameterError(f'source {name}: {exc}') from None
        self.info = CameraInfoWatch(node, p[f'{name}.info_topic']) if self.needs_info else None
        qos = RELIABLE_QOS if self.kind == 'detections' else SENSOR_QOS
        node.create_subscription(self.message, self.topic, self._on_message, qos)

    def _on_message(self, msg) -> None:
        stamp = self.node.stamp_of(msg)
        try:
            self.take(msg, stamp)
            self.node.source_ok(self.name)
        except (MalformedReading, ImageEncodingError) as exc:
            self.node.source_fault(self.name, f'malformed: {exc}', stamp)
        self.node.decide(self.name, stamp)

    def _frame(self, msg, expected: str) -> None:
        if msg.header.frame_id != expected:
            raise MalformedReading(f'frame {msg.header.frame_id!r}, expected {expected!r}')

    def take(self, msg, stamp: float) -> None:
        """Convert a message and hand it to the monitor; MalformedReading when it is bad."""
        raise NotImplementedError


class ScanSource(Source):
    """A planar lidar: sensor_msgs/LaserScan."""

    message = LaserScan
    sensor_type = Lidar

    def __init__(self, node, name, p, robot):
        super().__init__(node, name, p, robot)
        self.max_gap = p[f'{name}.max_gap_deg']

    def take(self, msg, stamp):
        self._frame(msg, self.sensor.frame_id)
        ranges = np.frombuffer(msg.ranges, dtype=np.float32) if len(msg.ranges) else \
            np.zeros(0)
        reading = ScanReading(ranges, msg.angle_min, msg.angle_max, msg.angle_increment,
                              msg.range_min, msg.range_max, self.sensor, self.max_gap)
        if reading.span_deg < self.sensor.fov_deg - 1.0:
            self.notes['span'] = (f'scan covers {reading.span_deg:.0f} deg of the '
                                  f'{self.sensor.fov_deg:g} deg described')
        else:
            self.notes.pop('span', None)
        self.node.monitor.set_reading(self.name, reading, stamp)


class DepthSource(Source):
    """A depth image (32FC1 m or 16UC1 mm) registered to an rgbd camera."""

    message = Image
    sensor_type = Camera
    needs_info = True

    def __init__(self, node, name, p, robot):
        super().__init__(node, name, p, robot)
        self.stride = p[f'{name}.stride']
        self.band = (p[f'{name}.min_height'], p[f'{name}.max_height'])
        self.max_range = p[f'{name}.max_range']

    def take(self, msg, stamp):
        self._frame(msg, self.sensor.frame_id)
        scale = depth_scale(msg.encoding)
        if self.info.intrinsics is None:
            raise MalformedReading(self.info.problem)
        depth = image_to_numpy(msg)
        depth = depth * scale if scale != 1.0 else depth
        reading = DepthReading(depth, self.info.intrinsics, self.sensor.mount, self.stride,
                               self.band[0], self.band[1], self.max_range)
        self.node.monitor.set_reading(self.name, reading, stamp)


class PointCloudSource(Source):
    """A 3D sensor: sensor_msgs/PointCloud2 with float32 x, y, z in the sensor's frame."""

    message = PointCloud2
    sensor_type = PointCloudSensor

    def __init__(self, node, name, p, robot):
        super().__init__(node, name, p, robot)
        self.band = (p[f'{name}.min_height'], p[f'{name}.max_height'])

    def take(self, msg, stamp):
        self._frame(msg, self.sensor.frame_id)
        local = pointcloud_xyz(msg)
        mount = self.sensor.mount
        base = local @ mount.rotation().T + (mount.x, mount.y, mount.z)
        reading = CloudReading(base, self.sensor, *self.band)
        self.node.monitor.set_reading(self.name, reading, stamp)


class OdometrySource(Source):
    """The base's nav_msgs/Odometry: pose in odom and velocity."""

    message = Odometry

    def take(self, msg, stamp):
        twist, pose = msg.twist.twist, msg.pose.pose
        values = (pose.position.x, pose.position.y, yaw_of(pose.orientation),
                  twist.linear.x, twist.angular.z)
        if not all(math.isfinite(v) for v in values):
            raise MalformedReading('pose or velocity is NaN or infinite')
        self.node.monitor.set_odom(self.name, values[:3], values[3], values[4], stamp)


class DetectionsSource(Source):
    """vision_msgs/Detection2DArray from a detector on an rgbd camera's colour images."""

    message = Detection2DArray
    sensor_type = Camera
    needs_info = True

    def __init__(self, node, name, p, robot):
        super().__init__(node, name, p, robot)
        self.kinds = dict.fromkeys(p['person_classes'], 'person')
        self.min_score = p['person_min_score']
        self.front = robot.footprint.length / 2

    def take(self, msg, stamp):
        objects = floor_objects(box_detections(msg), self.kinds, self.min_score,
                                self.info.height, self.info.intrinsics, self.sensor.mount)
        # A person whose feet are out of view is nearer than the floor the camera sees:
        # assume the worst, right in front of the robot.
        points = [o.point if not o.cut_off else (self.front, 0.0) for o in objects
                  if o.point is not None or o.cut_off]
        self.node.monitor.set_detections(self.name, np.array(points, float).reshape(-1, 2),
                                         bool(objects), stamp)


SOURCE_TYPES = {'scan': ScanSource, 'depth': DepthSource, 'pointcloud': PointCloudSource,
                'odometry': OdometrySource, 'detections': DetectionsSource}


def make_sources(node, p: Dict[str, object], robot: RobotDescription) -> Dict[str, Source]:
    """Build every source the `sources` parameter lists."""
    sources = {}
    for name in p['sources']:
        sources[name] = SOURCE_TYPES[p[f'{name}.kind']](node, name, p, robot)
    return sources
