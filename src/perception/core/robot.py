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
The robot description: its footprint and where each sensor sits and what it can see.

One file (config/robot.yaml) holds it, and the safety gate, the mapper and the simulator all read
it; without tf2 in the pip environment it stands in for the URDF's static transforms. Sensors:

- `lidar`: a planar scanner; it sees what crosses its plane (its mount height), within its field
  of view and range.
- `rgbd`: a pinhole camera with registered depth (intrinsics at run time come from camera_info;
  the description's size and field of view are what the simulator renders and what the blind
  zone below is worked out from).
- `pointcloud`: a 3D sensor publishing sensor_msgs/PointCloud2, seeing a height band within a
  horizontal field of view and range.

blind_zone() tells where an object of a given height is seen by no sensor: the place the safety
gate must remember what it saw (perception.core.obstacle_memory).
"""

from dataclasses import dataclass, fields
import math
from typing import Dict, Optional, Tuple, Union

import numpy as np

from perception.core.sensor_points import Mount, OPTICAL_TO_BODY
from perception.core.yamlfile import FieldReader, read_yaml


class RobotError(ValueError):
    """A robot description that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Footprint:
    """The robot's outline on the floor: a rectangle centred on base_link."""

    length: float
    width: float
    height: float = 0.4   # what the simulator builds; nothing else needs it


@dataclass(frozen=True)
class Lidar:
    """A planar laser scanner."""

    name: str
    frame_id: str
    mount: Mount
    fov_deg: float = 360.0
    beams: int = 360
    range_min: float = 0.1
    range_max: float = 15.0

    def angles(self) -> np.ndarray:
        """Beam angles in the laser frame, counter-clockwise from angle_min."""
        fov = math.radians(self.fov_deg)
        if self.fov_deg >= 360.0:
            return -math.pi + np.arange(self.beams) * (2 * math.pi / self.beams)
        return -fov / 2 + np.arange(self.beams) * (fov / max(1, self.beams - 1))

    def sees(self, points: np.ndarray, tolerance: float = 0.02) -> np.ndarray:
        """Which base-frame points (N, 3) lie in the scan plane, field of view and range."""
        local = _to_sensor_plane(points, self.mount)
        r = np.hypot(local[:, 0], local[:, 1])
        bearing = np.arctan2(local[:, 1], local[:, 0])
        in_fov = np.abs(bearing) <= math.radians(self.fov_deg) / 2 + 1e-9
        return in_fov & (r >= self.range_min) & (r <= self.range_max) & \
            (np.abs(points[:, 2] - self.mount.z) <= tolerance)


@dataclass(frozen=True)
class Camera:
    """A pinhole camera, with registered depth when depth is True."""

    name: str
    frame_id: str
    mount: Mount
    width: int = 640
    height: int = 480
    fovy_deg: float = 60.0
    depth: bool = True
    depth_range_max: float = 10.0

    def intrinsics(self) -> Tuple[float, float, float, float]:
        """Pinhole fx, fy, cx, cy (pixel centres at integers), square pixels."""
        fy = (self.height / 2) / math.tan(math.radians(self.fovy_deg) / 2)
        return fy, fy, (self.width - 1) / 2, (self.height - 1) / 2

    def sees(self, points: np.ndarray,
             intrinsics: Optional[Tuple[float, float, float, float]] = None) -> np.ndarray:
        """Which base-frame points (N, 3) fall in the image and within depth range."""
        u, v, z = project(points, self.mount, intrinsics or self.intrinsics())
        return (z > 0) & (z <= self.depth_range_max) & (u >= -0.5) & \
            (u <= self.width - 0.5) & (v >= -0.5) & (v <= self.height - 0.5)


@dataclass(frozen=True)
class PointCloudSensor:
    """A 3D sensor seeing a height band within a horizontal field of view and range."""

    name: str
    frame_id: str
    mount: Mount
    fov_deg: float = 360.0
    range_min: float = 0.1
    range_max: float = 10.0
    min_height: float = 0.0
    max_height: float = 2.0

    def sees(self, points: np.ndarray) -> np.ndarray:
        """Which base-frame points (N, 3) lie in the field of view, range and height band."""
        local = _to_sensor_plane(points, self.mount)
        r = np.hypot(local[:, 0], local[:, 1])
        bearing = np.arctan2(local[:, 1], local[:, 0])
        return (np.abs(bearing) <= math.radians(self.fov_deg) / 2 + 1e-9) & \
            (r >= self.range_min) & (r <= self.range_max) & \
            (points[:, 2] >= self.min_height) & (points[:, 2] <= self.max_height)


Sensor = Union[Lidar, Camera, PointCloudSensor]
SENSOR_TYPES = {'lidar': Lidar, 'rgbd': Camera, 'pointcloud': PointCloudSensor}


@dataclass(frozen=True)
class RobotDescription:
    """The footprint and the sensors, by name."""

    name: str
    base_frame: str
    footprint: Footprint
    sensors: Dict[str, Sensor]
    source: str = ''

    def sensor(self, name: str, kind: type = object) -> Sensor:
        """Return a sensor by name, checking its type; RobotError names what exists."""
        sensor = self.sensors.get(name)
        if sensor is None or not isinstance(sensor, kind):
            wanted = [n for n, s in self.sensors.items() if isinstance(s, kind)]
            what = next((t for t, c in SENSOR_TYPES.items() if c is kind), 'sensor')
            raise RobotError(f'{self.source}: no {what} named {name!r}; it has: '
                             f'{", ".join(wanted) or "none"}')
        return sensor


def _to_sensor_plane(points: np.ndarray, mount: Mount) -> np.ndarray:
    """Base-frame points (N, 3) as x, y in a frame at the mount, turned by its yaw only."""
    dx, dy = points[:, 0] - mount.x, points[:, 1] - mount.y
    c, s = math.cos(mount.yaw), math.sin(mount.yaw)
    return np.column_stack([c * dx + s * dy, -s * dx + c * dy])


def project(points: np.ndarray, mount: Mount,
            intrinsics: Tuple[float, float, float, float]
            ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel column u, row v and optical depth z of base-frame points (N, 3) in a camera."""
    fx, fy, cx, cy = intrinsics
    rotation = mount.rotation() @ OPTICAL_TO_BODY   # optical -> base
    optical = (np.asarray(points, float) - (mount.x, mount.y, mount.z)) @ rotation
    z = optical[:, 2]
    safe = np.where(np.abs(z) > 1e-9, z, 1e-9)
    return fx * optical[:, 0] / safe + cx, fy * optical[:, 1] / safe + cy, z


def _mount(reader: FieldReader) -> Mount:
    return Mount(x=reader.number('x', 0.0, low=-10, high=10),
                 y=reader.number('y', 0.0, low=-10, high=10),
                 z=reader.number('z', 0.0, low=0, high=10),
                 roll=math.radians(reader.number('roll_deg', 0.0, low=-180, high=180)),
                 pitch=math.radians(reader.number('pitch_deg', 0.0, low=-90, high=90)),
                 yaw=math.radians(reader.number('yaw_deg', 0.0, low=-180, high=180)))


#: Each sensor type's optional fields, with their range; their defaults are the class's.
FIELDS = {
    Lidar: (('fov_deg', float, 1, 360), ('beams', int, 2, 100000), ('range_min', float, 0, 100),
            ('range_max', float, 0.1, 1000)),
    Camera: (('width', int, 16, 7680), ('height', int, 16, 4320), ('fovy_deg', float, 10, 170),
             ('depth', bool, None, None), ('depth_range_max', float, 0.1, 1000)),
    PointCloudSensor: (('fov_deg', float, 1, 360), ('range_min', float, 0, 100),
                       ('range_max', float, 0.1, 1000), ('min_height', float, -5, 10),
                       ('max_height', float, -5, 10)),
}


def _sensor(name: str, reader: FieldReader) -> Sensor:
    kind = reader.take('type', str, required=True)
    if kind not in SENSOR_TYPES:
        raise reader.error('type', f'must be one of {", ".join(SENSOR_TYPES)}, got {kind!r}')
    cls = SENSOR_TYPES[kind]
    frame_id = reader.take('frame_id', str, required=True)
    mount = _mount(reader)
    defaults = {f.name: f.default for f in fields(cls)}
    values = {}
    for key, value_type, low, high in FIELDS[cls]:
        if value_type is float:
            values[key] = reader.number(key, defaults[key], low=low, high=high)
        elif value_type is int:
            values[key] = reader.integer(key, defaults[key], low=low, high=high)
        else:
            values[key] = reader.take(key, value_type, defaults[key])
    reader.done()
    if values.get('range_min', 0.0) >= values.get('range_max', math.inf):
        raise RobotError(f'{reader.source}: {reader.where}: range_min must be below range_max')
    return cls(name, frame_id, mount, **values)


def parse_robot(data, source: str = '<robot>') -> RobotDescription:
    """Build a RobotDescription from parsed YAML, refusing unknown keys and impossible values."""
    top = FieldReader(data, '', source, RobotError)
    name = top.take('name', str, required=True)
    base_frame = top.take('base_frame', str, 'base_link')
    fp = top.child('footprint', required=True)
    footprint = Footprint(length=fp.number('length', required=True, low=0.05, high=20),
                          width=fp.number('width', required=True, low=0.05, high=20),
                          height=fp.number('height', Footprint.height, low=0.01, high=10))
    fp.done()
    sensors_reader = top.child('sensors', required=True)
    sensors = {}
    for sensor_name in list(sensors_reader.data):
        sensors[sensor_name] = _sensor(sensor_name, sensors_reader.child(sensor_name))
    sensors_reader.done()
    top.done()
    if not sensors:
        raise RobotError(f'{source}: sensors: the robot needs at least one sensor')
    frames = [s.frame_id for s in sensors.values()]
    duplicated = sorted({f for f in frames if frames.count(f) > 1})
    if duplicated:
        raise RobotError(f'{source}: two sensors share the frame {", ".join(duplicated)}')
    return RobotDescription(name, base_frame, footprint, sensors, source)


def load_robot(path: str) -> RobotDescription:
    """Read and check a robot description file."""
    return parse_robot(read_yaml(path, RobotError, 'robot description'), path)


# --- what the sensors cannot see -------------------------------------------------------------

@dataclass(frozen=True)
class BlindZone:
    """Where an object of some height is seen by no sensor, on a grid around the robot."""

    height: float
    xs: np.ndarray          # cell centres along x (base frame)
    ys: np.ndarray          # cell centres along y
    blind: np.ndarray       # bool [len(ys), len(xs)]: no sensor sees the object there
    seen_ahead_from: float  # m ahead of the front edge where it is first seen on the centre line
    seen_by: Tuple[str, ...]


def blind_zone(robot: RobotDescription, height: float, extent: float = 3.0,
               resolution: float = 0.05, min_height: float = 0.05,
               samples: int = 8) -> BlindZone:
    """
    Work out where an object standing on the floor, `height` tall, is seen by no sensor.

    The object is a column from the floor to its height; a camera sees it when any part of the
    column above min_height (the floor filter of the depth consumers) is in view and range, a
    lidar when the column reaches its plane, a point cloud when it reaches its band. Cells
    inside the footprint are not blind (nothing but the robot can be there).
    """
    fp = robot.footprint
    xs = np.arange(-fp.length / 2 - extent, fp.length / 2 + extent + 1e-9, resolution)
    ys = np.arange(-fp.width / 2 - extent, fp.width / 2 + extent + 1e-9, resolution)
    gx, gy = np.meshgrid(xs, ys)
    low = min(min_height, height)
    heights = np.linspace(low, height, max(2, samples))
    seen = np.zeros(gx.shape, bool)
    seen_by = []
    for name, sensor in robot.sensors.items():
        mask = np.zeros(gx.size, bool)
        for h in heights:
            points = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, h)])
            if isinstance(sensor, Lidar):
                mask |= sensor.sees(points, tolerance=1e-6) if height >= sensor.mount.z \
                    else np.zeros(gx.size, bool)
            else:
                mask |= sensor.sees(points)
        if isinstance(sensor, Lidar) and height >= sensor.mount.z:
            # The column crosses the plane whatever height was sampled.
            plane = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, sensor.mount.z)])
            mask |= sensor.sees(plane, tolerance=1e-6)
        if mask.any():
            seen_by.append(name)
        seen |= mask.reshape(gx.shape)
    inside = (np.abs(gx) <= fp.length / 2) & (np.abs(gy) <= fp.width / 2)
    return BlindZone(height, xs, ys, ~seen & ~inside, _first_seen_ahead(robot, heights),
                     tuple(seen_by))


def _first_seen_ahead(robot: RobotDescription, heights: np.ndarray, step: float = 0.01,
                      reach: float = 20.0) -> float:
    """Distance ahead of the front edge, on the centre line, where some sensor first sees."""
    front = robot.footprint.length / 2
    xs = front + np.arange(0.0, reach, step)
    seen = np.zeros(len(xs), bool)
    for sensor in robot.sensors.values():
        for h in heights:
            points = np.column_stack([xs, np.zeros(len(xs)), np.full(len(xs), h)])
            if isinstance(sensor, Lidar):
                if heights[-1] >= sensor.mount.z:
                    points[:, 2] = sensor.mount.z
                    seen |= sensor.sees(points, tolerance=1e-6)
            else:
                seen |= sensor.sees(points)
    return float(xs[np.argmax(seen)] - front) if seen.any() else math.inf
