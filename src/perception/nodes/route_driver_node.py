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
Route driver: follows the scenario's route from odom and publishes cmd_vel_in.

It stands in for a planner. Its commands go to cmd_vel_in, so the safety gate sits between it
and the base; when odom is missing or stale it commands zero.
"""

import math

from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node

from perception import diagnostics
from perception.conversions import yaw_of
from perception.core.route_follower import RouteFollower
from perception.node_main import run_node
from perception.params import config_path, declare_parameters, ParamSpec
from perception.qos import RELIABLE_QOS, SENSOR_QOS
from perception.sim.scenario import load_scenario, scenario_path

PARAMS = [
    ParamSpec('scenario', 'Scenario whose route to drive: a name under config/scenarios/ or a '
              'path.'),
    ParamSpec('rate_hz', 'Command rate.', min_value=1.0, max_value=200.0),
    ParamSpec('heading_gain', 'Turn rate per radian of heading error.', min_value=0.1,
              max_value=10.0),
    ParamSpec('max_yaw_rate', 'Turn rate limit (rad/s).', min_value=0.1, max_value=5.0),
    ParamSpec('decel', 'Braking used to stop at the last waypoint (m/s^2).', min_value=0.05,
              max_value=5.0),
    ParamSpec('odom_timeout_s', 'Command zero when odom is older than this.', min_value=0.05,
              max_value=10.0),
]


class RouteDriverNode(Node):
    """Publishes the velocity that follows the route from the newest odom."""

    def __init__(self, **kwargs):
        super().__init__('route_driver', **kwargs)
        p = declare_parameters(self, PARAMS, 'route_driver.yaml')
        scenario = load_scenario(scenario_path(p['scenario'], config_path('scenarios')))
        route = scenario.route
        self.follower = RouteFollower(route.waypoints, route.speed, route.goal_tolerance,
                                      route.loop, p['heading_gain'], p['max_yaw_rate'],
                                      p['decel'])
        self.odom_timeout = p['odom_timeout_s']
        self.pose = None
        self.pose_time = None
        self.pub = self.create_publisher(Twist, 'cmd_vel_in', RELIABLE_QOS)
        self.create_subscription(Odometry, 'odom', self._on_odom, SENSOR_QOS)
        self.diagnostics = diagnostics.DiagnosticsPublisher(self)
        self.create_timer(1.0 / p['rate_hz'], self._tick)
        self.create_timer(1.0, self._report)
        self.get_logger().info(f'driving the route of {scenario.name}: '
                               f'{len(route.waypoints)} waypoints at {route.speed:g} m/s')

    def _on_odom(self, msg: Odometry) -> None:
        self.pose = (msg.pose.pose.position.x, msg.pose.pose.position.y,
                     yaw_of(msg.pose.pose.orientation))
        self.pose_time = self.get_clock().now()

    def _odom_age(self) -> float:
        if self.pose_time is None:
            return math.inf
        return (self.get_clock().now() - self.pose_time).nanoseconds / 1e9

    def _tick(self) -> None:
        msg = Twist()
        if self.pose is not None and self._odom_age() <= self.odom_timeout:
            msg.linear.x, msg.angular.z = self.follower.command(*self.pose)
        self.pub.publish(msg)

    def _report(self) -> None:
        age = self._odom_age()
        if self.follower.done:
            status = diagnostics.Status('route', diagnostics.OK, 'route complete')
        elif age > self.odom_timeout:
            status = diagnostics.Status('route', diagnostics.WARN,
                                        'no fresh odom: commanding zero')
        else:
            status = diagnostics.Status('route', diagnostics.OK,
                                        f'to waypoint {self.follower.index + 1} of '
                                        f'{len(self.follower.waypoints)}')
        status.values = {'waypoint': self.follower.index, 'odom_age_s': age
                         if math.isfinite(age) else 'never'}
        self.diagnostics.publish([status])


def main(args=None):
    raise SystemExit(run_node(RouteDriverNode, args))


if __name__ == '__main__':
    main()
