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
The node graph of each stack, in one place.

launch/bringup.launch.py (launch_ros, on a ROS 2 install) and `perception launch` (the venv's
launcher) both build their processes from this module, so there is no second copy of the graph.
"""

from dataclasses import dataclass
import os
from typing import Dict, List, Optional, Sequence, Tuple

PACKAGE = 'perception'


@dataclass(frozen=True)
class NodeSpec:
    """One node of a stack: what runs, with which parameter files and remappings."""

    name: str
    executable: str
    config: Tuple[str, ...]
    description: str
    remappings: Tuple[Tuple[str, str], ...] = ()
    #: The stack cannot work without it: when it exits for good, the whole stack stops.
    required: bool = True
    respawn: bool = False
    respawn_delay: float = 2.0
    #: Respawns before giving up (then a required node stops the stack).
    max_respawns: int = 5


NODES: Dict[str, NodeSpec] = {spec.name: spec for spec in (
    NodeSpec('camera', 'camera_node', ('camera.yaml',),
             'camera capture: camera/image_raw, camera/camera_info',
             respawn=True),
    NodeSpec('simulator', 'simulator_node', ('simulator.yaml',),
             'simulated warehouse: camera, depth, scan, odom, /clock; driven by cmd_vel'),
    NodeSpec('route_driver', 'route_driver_node', ('route_driver.yaml',),
             'drives the scenario route: cmd_vel_in'),
    NodeSpec('safety', 'safety_node', ('safety.yaml',),
             'safety gate: cmd_vel_in -> cmd_vel by the protective field'),
    NodeSpec('detector', 'detector_node', ('detector.yaml',),
             'object detection (ONNX Runtime): detections, detections/image'),
    NodeSpec('mapper', 'mapper_node', ('mapper.yaml',),
             'local occupancy map: local_map'),
    # Telemetry must never stop the robot: not required, respawned (its outbox carries on).
    NodeSpec('telemetry', 'telemetry_node', ('telemetry.yaml',),
             'fleet telemetry over MQTT: summaries, events, snapshots',
             required=False, respawn=True),
)}


@dataclass(frozen=True)
class TopicSpec:
    """A topic of the graph: its type and QoS, and which of our nodes publish and take it."""

    name: str
    message: str
    qos: str                              # sensor, reliable or latched (perception.qos)
    publishers: Tuple[str, ...]           # nodes of ours
    subscribers: Tuple[str, ...]
    elsewhere: str = ''                   # who publishes it on a robot, when not ours


#: Every topic the nodes use (names relative to the robot namespace, but /clock and
#: /diagnostics), as the shared architecture contract gives them. The README's topic table is
#: generated from it and a test holds the running sim stack to it.
TOPICS: Tuple[TopicSpec, ...] = (
    TopicSpec('camera/image_raw', 'sensor_msgs/msg/Image', 'sensor', ('camera', 'simulator'),
              ('detector', 'telemetry'), 'a camera driver'),
    TopicSpec('camera/camera_info', 'sensor_msgs/msg/CameraInfo', 'sensor',
              ('camera', 'simulator'), ('safety', 'mapper'), 'a camera driver'),
    TopicSpec('camera/depth/image_raw', 'sensor_msgs/msg/Image', 'sensor', ('simulator',),
              ('safety', 'mapper'), 'a depth camera driver'),
    TopicSpec('camera/depth/camera_info', 'sensor_msgs/msg/CameraInfo', 'sensor',
              ('simulator',), ('safety', 'mapper'), 'a depth camera driver'),
    TopicSpec('scan', 'sensor_msgs/msg/LaserScan', 'sensor', ('simulator',),
              ('safety', 'mapper'), 'a lidar driver'),
    TopicSpec('odom', 'nav_msgs/msg/Odometry', 'sensor', ('simulator',),
              ('safety', 'mapper', 'route_driver'), 'the base'),
    # The simulator hears what the stack answers: detections pace its lockstep, and the
    # gate's state goes into the ground truth.
    TopicSpec('detections', 'vision_msgs/msg/Detection2DArray', 'reliable', ('detector',),
              ('safety', 'mapper', 'simulator', 'telemetry')),
    TopicSpec('detections/image', 'sensor_msgs/msg/Image', 'sensor', ('detector',), ()),
    TopicSpec('local_map', 'nav_msgs/msg/OccupancyGrid', 'latched', ('mapper',),
              ('telemetry',)),
    TopicSpec('cmd_vel_in', 'geometry_msgs/msg/Twist', 'reliable', ('route_driver',),
              ('safety',), 'a planner or teleop'),
    TopicSpec('cmd_vel', 'geometry_msgs/msg/Twist', 'reliable', ('safety',), ('simulator',)),
    TopicSpec('safety/state', 'diagnostic_msgs/msg/DiagnosticStatus', 'latched', ('safety',),
              ('simulator', 'telemetry')),
    TopicSpec('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', 'reliable',
              ('camera', 'simulator', 'route_driver', 'safety', 'detector', 'mapper',
               'telemetry'), ('telemetry',)),
    # Events for the fleet's view: the detector's model lifecycle and drift monitor.
    TopicSpec('telemetry/events', 'diagnostic_msgs/msg/DiagnosticStatus', 'reliable',
              ('detector',), ('telemetry',)),
    # Under use_sim_time every node takes /clock, the simulator too (for its own logging).
    TopicSpec('/clock', 'rosgraph_msgs/msg/Clock', 'reliable', ('simulator',),
              ('simulator', 'detector', 'safety', 'mapper', 'route_driver', 'telemetry')),
)

#: Which nodes each stack starts, in start order.
STACKS: Dict[str, Tuple[str, ...]] = {
    'bringup': ('camera', 'detector', 'safety', 'mapper', 'telemetry'),
    'sim': ('simulator', 'detector', 'safety', 'mapper', 'route_driver', 'telemetry'),
    # With Gazebo (launch/sim_gazebo.launch.py), whose bridge stands in for the simulator.
    'gazebo': ('detector', 'safety', 'mapper', 'route_driver', 'telemetry'),
}


def select(stack: str, only: Optional[Sequence[str]] = None) -> List[NodeSpec]:
    """Return the nodes of a stack, or of the subset named in only; ValueError names unknowns."""
    if stack not in STACKS:
        raise ValueError(f'unknown stack {stack!r}; known: {", ".join(sorted(STACKS))}')
    names = STACKS[stack]
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise ValueError(f'stack {stack!r} has no node {", ".join(unknown)}; '
                             f'it has: {", ".join(names)}')
        names = tuple(n for n in names if n in only)
    return [NODES[n] for n in names]


def parse_node_list(text: str) -> List[str]:
    """Split a comma- or space-separated node list; empty means all."""
    return [n for n in text.replace(',', ' ').split() if n]


#: Severities rcl's --log-level takes; '' leaves each node at its default (info).
LOG_LEVELS = ('debug', 'info', 'warn', 'error', 'fatal')


def check_log_level(text: str) -> str:
    """Return a log level in lower case ('' for the default); ValueError names the choices."""
    level = text.strip().lower()
    if level and level not in LOG_LEVELS:
        raise ValueError(f'log level {text!r} is not one of {", ".join(LOG_LEVELS)}')
    return level


def config_files(spec: NodeSpec, share: str) -> List[str]:
    """Return the absolute paths of a node's parameter files in a share directory."""
    return [os.path.join(share, 'config', name) for name in spec.config]


def ros_arguments(spec: NodeSpec, share: str, namespace: str = '',
                  params_file: str = '', use_sim_time: bool = False,
                  log_level: str = '') -> List[str]:
    """Return a node's --ros-args: name, namespace, files and remappings, as launch_ros does."""
    args = ['--ros-args', '-r', f'__node:={spec.name}']
    if namespace:
        args += ['-r', f'__ns:=/{namespace.strip("/")}']
    for path in config_files(spec, share) + ([params_file] if params_file else []):
        args += ['--params-file', path]
    args += ['-p', f'use_sim_time:={"true" if use_sim_time else "false"}']
    for source, target in spec.remappings:
        args += ['-r', f'{source}:={target}']
    level = check_log_level(log_level)
    if level:
        args += ['--log-level', level]
    return args
