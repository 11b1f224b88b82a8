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

"""Shared test set-up: an isolated DDS domain per run and helpers to start nodes."""

import os
import random
import shutil
import sys
import tempfile

import pytest

from perception.launcher import stack_environment

# Each run gets a DDS domain of its own, so parallel runs on one machine cannot hear each other,
# and traffic stays on this machine.
os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random().randint(1, 100)))
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('AMENT_PREFIX_PATH', sys.prefix)
os.environ.setdefault('MUJOCO_GL', 'egl')  # headless rendering, before anything imports mujoco
# Stacks started by the tests keep what they write under ROS_HOME (the telemetry outbox, logs)
# in a folder of this run's, so runs side by side do not share, or lock, each other's files.
ROS_HOME = None if 'ROS_HOME' in os.environ else tempfile.mkdtemp(prefix='perception-ros-home-')
if ROS_HOME:
    os.environ['ROS_HOME'] = ROS_HOME
# Test processes listen to the nodes, so they use the nodes' transports (before rclpy starts).
os.environ.update(stack_environment())


@pytest.fixture
def ros_context():
    """Yield an initialised rclpy context, shut down after the test."""
    import rclpy
    context = rclpy.context.Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)


def pytest_sessionfinish(session, exitstatus):
    """Remove this run's ROS_HOME."""
    if ROS_HOME:
        shutil.rmtree(ROS_HOME, ignore_errors=True)
