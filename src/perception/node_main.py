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

"""The main() every node shares: init, spin on one thread, clean shutdown, clear start errors."""

import signal
import sys
from typing import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

from perception.core.calibration import CalibrationError
from perception.core.capture import SourceError
from perception.core.model import ModelError
from perception.params import ParameterError

#: Exit status of a node that refused its configuration.
EXIT_CONFIG = 2


def run_node(factory: Callable, args=None) -> int:
    """Create a node with factory() and spin it until shutdown; return the exit status."""
    rclpy.init(args=args)
    node = None
    try:
        node = factory()
    except (ParameterError, SourceError, ModelError, CalibrationError, ValueError) as exc:
        print(f'[FATAL] {exc}', file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        return EXIT_CONFIG
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # ros2 launch forwards Ctrl-C that the terminal already delivered: a second SIGINT must
        # not interrupt the clean-up of the first.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
    # A node may end itself (a finished simulation, a fatal error) and say how it went.
    return getattr(node, 'exit_status', 0)
