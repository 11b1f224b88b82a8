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

"""`perception robot`: what a robot description says, and where its sensors are blind."""

import math
import sys

import numpy as np

from perception.config import package_share_of
from perception.core.calibration import CalibrationError, resolve_url
from perception.core.robot import blind_zone, Camera, Lidar, load_robot, RobotError


def describe(robot) -> str:
    """Return the description as lines for people."""
    fp = robot.footprint
    lines = [f'{robot.name}: footprint {fp.length:g} x {fp.width:g} m around {robot.base_frame}'
             f' ({robot.source})']
    for name, sensor in robot.sensors.items():
        m = sensor.mount
        where = (f'at x {m.x:g}, y {m.y:g}, z {m.z:g} m, pitch {math.degrees(m.pitch):g}, '
                 f'yaw {math.degrees(m.yaw):g} deg, frame {sensor.frame_id}')
        if isinstance(sensor, Lidar):
            what = (f'lidar, {sensor.fov_deg:g} deg, {sensor.beams} beams, '
                    f'{sensor.range_min:g} to {sensor.range_max:g} m')
        elif isinstance(sensor, Camera):
            what = (f'rgbd camera, {sensor.width}x{sensor.height}, {sensor.fovy_deg:g} deg '
                    f'vertical, depth to {sensor.depth_range_max:g} m')
        else:
            what = (f'point cloud, {sensor.fov_deg:g} deg, to {sensor.range_max:g} m, heights '
                    f'{sensor.min_height:g} to {sensor.max_height:g} m')
        lines.append(f'  {name}: {what}, {where}')
    return '\n'.join(lines)


def plot(robot, zones, path: str, scale: float = 80.0) -> None:
    """Draw each height's blind cells around the footprint, one panel per height."""
    import cv2
    panels = []
    for zone in zones:
        h, w = zone.blind.shape
        image = np.full((h, w, 3), 255, np.uint8)
        image[zone.blind] = (60, 60, 220)
        image = cv2.resize(image[::-1], (int(w * np.ptp(zone.xs) * scale / w),
                                         int(h * np.ptp(zone.ys) * scale / h)),
                           interpolation=cv2.INTER_NEAREST)
        fp = robot.footprint

        def px(x, y):
            return (int((x - zone.xs[0]) * scale), int((zone.ys[-1] - y) * scale))
        cv2.rectangle(image, px(-fp.length / 2, fp.width / 2), px(fp.length / 2, -fp.width / 2),
                      (40, 40, 40), 2)
        cv2.putText(image, f'{zone.height:.2f} m tall: blind in red', (8, 20),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        panels.append(image)
    cv2.imwrite(path, np.hstack(panels))


def main(args) -> int:
    """Print the description and its blind zones; exit status 2 for a bad description."""
    try:
        robot = load_robot(resolve_url(args.description, '', package_share_of))
        heights = [float(h) for h in args.heights.split(',') if h.strip()]
    except (RobotError, CalibrationError, ValueError) as exc:
        print(f'perception robot: {exc}', file=sys.stderr)
        return 2
    print(describe(robot))
    zones = [blind_zone(robot, h) for h in heights]
    print('\nwhere an object standing on the floor is first seen, ahead of the front edge:')
    for zone in zones:
        seen = ', '.join(zone.seen_by) or 'no sensor'
        print(f'  {zone.height:.2f} m tall: from {zone.seen_ahead_from:.2f} m, by {seen}; '
              f'blind in {zone.blind.mean() * 100:.0f}% of the '
              f'{np.ptp(zone.xs):.1f} x {np.ptp(zone.ys):.1f} m around the robot')
    if args.plot:
        plot(robot, zones, args.plot)
        print(f'blind zones drawn in {args.plot}')
    return 0
