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

import faulthandler
import os
import signal
import socket
import sys
import threading
from typing import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.signals import SignalHandlerOptions
from rclpy.task import Future

from perception.core.calibration import CalibrationError
from perception.core.capture import SourceError
from perception.core.model import ModelError
from perception.core.optional import MissingDependencyError
from perception.launcher import EXECUTOR_VARIABLE
from perception.params import ParameterError

#: Exit status of a node that refused its configuration.
EXIT_CONFIG = 2

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnSignal:
    """
    SIGINT and SIGTERM end the spin loop, and nothing else: the context outlives the node.

    rclpy's own handlers shut every context down from a thread of their own at the first
    signal, while a node's threads (the detector's inference, the camera's capture) may still
    publish on it, which fails with RCLError. Here a signal only completes `stopped`; the node is
    destroyed (its threads joined) before the context is shut down. The signal number reaches a
    relay thread through Python's wakeup fd, because a Python handler runs only once the main
    thread returns from rcl's wait.
    """

    def __init__(self):
        self.stopped = Future()
        self._lock = threading.Lock()
        self._closed = False
        self._reader, writer = socket.socketpair()
        writer.setblocking(False)
        self._writer = writer
        for signum in STOP_SIGNALS:
            # Installed so that the signal reaches the wakeup fd instead of raising
            # KeyboardInterrupt; it does nothing itself, because it runs on the main thread,
            # which may hold the very locks completing the future takes.
            signal.signal(signum, lambda _signum, _frame: None)
        self._previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        threading.Thread(target=self._relay, name='signals', daemon=True).start()

    def _relay(self) -> None:
        while True:
            try:
                data = self._reader.recv(16)
            except OSError:
                return
            if not data:
                return
            with self._lock:  # close() waits for this, so the executor is not gone under it
                if not self._closed and any(s in STOP_SIGNALS for s in data):
                    if not self.stopped.done():
                        self.stopped.set_result(data[0])  # wakes the executor

    def close(self) -> None:
        """Ignore further signals (a second Ctrl-C must not break the clean-up) and stop."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        signal.set_wakeup_fd(self._previous_fd)
        with self._lock:
            self._closed = True
        self._writer.close()
        self._reader.close()


def make_executor():
    """Return the executor PERCEPTION_EXECUTOR names: 'lean' (campaigns) or rclpy's (default)."""
    choice = os.environ.get(EXECUTOR_VARIABLE, '')
    if choice == 'lean':
        from perception.lean_executor import LeanExecutor
        return LeanExecutor()
    if choice not in ('', 'single'):
        print(f'[WARN] {EXECUTOR_VARIABLE}={choice!r} is not lean or single: using single',
              file=sys.stderr, flush=True)
    return SingleThreadedExecutor()


def run_node(factory: Callable, args=None) -> int:
    """Create a node with factory() and spin it until shutdown; return the exit status."""
    # A crash in native code (rcl, Fast DDS, ONNX Runtime, MuJoCo) prints the Python stack.
    faulthandler.enable()
    stop = StopOnSignal()
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    except _rclpy.RCLError as exc:  # malformed --ros-args, such as an unknown log level
        print(f'[FATAL] cannot start ROS: {exc}', file=sys.stderr, flush=True)
        stop.close()
        return EXIT_CONFIG
    node = None
    try:
        node = factory()
    except (ParameterError, SourceError, ModelError, CalibrationError, MissingDependencyError,
            ValueError) as exc:
        print(f'[FATAL] {exc}', file=sys.stderr, flush=True)
        stop.close()
        rclpy.try_shutdown()
        return EXIT_CONFIG
    executor = make_executor()
    executor.add_node(node)
    try:
        # Returns on a signal, or once a node shut its context down itself (a finished
        # simulation).
        executor.spin_until_future_complete(stop.stopped)
    except ExternalShutdownException:
        pass
    finally:
        stop.close()
        # The node's threads stop here, while the context is still valid; the context goes last.
        node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
    # A node may end itself (a finished simulation, a fatal error) and say how it went.
    return getattr(node, 'exit_status', 0)
