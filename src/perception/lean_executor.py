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
A lean single-threaded executor, for nodes that take hundreds of messages a second.

rclpy's SingleThreadedExecutor builds its wait set through generators, context managers,
callback-group checks and a Task per callback, for every message: on this project's 2-core
machine about 1.2 ms of CPU per small message, against under half a millisecond for a loop that
waits on the same rcl wait set and calls the callback directly (bench/bench_campaign.py measures
the first). A campaign's stack takes some 700 messages per simulated second, so the difference
is most of a core.

It runs what the nodes of this package use, one callback at a time on the spinning thread:
subscriptions (raw ones too), timers (on any clock, simulated time included), guard conditions,
services (the parameter services among them) and waitables (the QoS event handlers). Callbacks
must be plain functions; timers' take no argument. A node with clients, or a callback that
turns out to be a coroutine, is refused with a clear error rather than run half right.

Chosen with PERCEPTION_EXECUTOR=lean (perception.node_main); campaigns set it for their runs.
"""

import inspect
import time
from typing import List, Optional

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.guard_condition import GuardCondition
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.subscription import Subscription

#: Messages taken from one subscription per wake-up at most (its queue, as a rule, is shorter).
TAKE_AT_MOST = 10


class LeanExecutorError(RuntimeError):
    """Something this executor does not run (clients, coroutine callbacks)."""


def _finish(result, what: str) -> None:
    """Run a callback's coroutine to its end if it never waits; refuse it otherwise."""
    if not inspect.iscoroutine(result):
        return
    try:
        result.send(None)
    except StopIteration:
        return
    result.close()
    raise LeanExecutorError(f'{what}: a coroutine that waits; the lean executor runs plain '
                            'callbacks only')


def _refuse_clients(node) -> None:
    """Raise LeanExecutorError for a node with clients (its entities are generators)."""
    if any(True for _ in node.clients):
        raise LeanExecutorError(f'node {node.get_name()} has clients: the lean executor does '
                                'not run them')


class LeanExecutor:
    """Spins nodes on the calling thread; see the module's docstring for what it runs."""

    def __init__(self, *, context: Optional[rclpy.context.Context] = None):
        self._context = context if context is not None else rclpy.get_default_context()
        self._nodes: List = []
        self._guard = GuardCondition(None, None, context=self._context)
        self._is_shutdown = False
        self._wait_set = None
        self._sizes = None

    # --- what rclpy's nodes and futures call -------------------------------------------------

    def add_node(self, node) -> bool:
        """Add a node; False if it was added already."""
        if node in self._nodes:
            return False
        _refuse_clients(node)
        self._nodes.append(node)
        node.executor = self
        self.wake()
        return True

    def remove_node(self, node) -> None:
        """Stop spinning a node."""
        if node in self._nodes:
            self._nodes.remove(node)
            node.executor = None
            self.wake()

    def get_nodes(self) -> List:
        """Return the nodes spun."""
        return list(self._nodes)

    def wake(self) -> None:
        """Wake the wait (a new entity, a completed future, shutdown); any thread."""
        self._guard.trigger()

    def create_task(self, callback, *args, **kwargs):
        """Run a callback at once (what a future's done callbacks ask of an executor)."""
        _finish(callback(*args, **kwargs), 'task')

    def shutdown(self, timeout_sec: Optional[float] = None) -> bool:
        """Stop spinning; release the wait set."""
        self._is_shutdown = True
        self.wake()
        self._wait_set = None
        for node in list(self._nodes):
            self.remove_node(node)
        self._guard.destroy()
        return True

    # --- spinning ----------------------------------------------------------------------------

    def spin(self) -> None:
        """Spin until shutdown (of the executor or of the context)."""
        while not self._is_shutdown:
            self.spin_once()

    def spin_until_future_complete(self, future, timeout_sec: Optional[float] = None) -> None:
        """Spin until the future is done, the executor or the context shuts down, or a timeout."""
        future.add_done_callback(lambda _future: self.wake())
        deadline = None if timeout_sec is None or timeout_sec < 0 else \
            time.monotonic() + timeout_sec
        while not future.done() and not self._is_shutdown:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            self.spin_once(left)

    def spin_once(self, timeout_sec: Optional[float] = None) -> None:
        """Wait for work once (at most timeout_sec; None waits as long as it takes); do it."""
        if not self._context.ok():
            raise ExternalShutdownException()
        subscriptions, timers, guards, services, waitables = [], [], [self._guard], [], []
        for node in self._nodes:
            _refuse_clients(node)  # a client may be created after add_node
            subscriptions += node.subscriptions
            timers += node.timers
            guards += node.guards
            services += node.services
            waitables += node.waitables
        events = 0
        extra = [0, 0, 0, 0, 0]
        for waitable in waitables:
            n = waitable.get_num_entities()
            extra[0] += n.num_subscriptions
            extra[1] += n.num_guard_conditions
            extra[2] += n.num_timers
            extra[3] += n.num_clients
            extra[4] += n.num_services
            events += n.num_events
        sizes = (len(subscriptions) + extra[0], len(guards) + extra[1], len(timers) + extra[2],
                 extra[3], len(services) + extra[4], events)
        timeout_ns = -1 if timeout_sec is None else int(max(0.0, timeout_sec) * 1e9)
        with self._context.handle:
            if self._wait_set is None or sizes != self._sizes:
                self._wait_set = _rclpy.WaitSet(*sizes, self._context.handle)
                self._sizes = sizes
            wait_set = self._wait_set
            wait_set.clear_entities()
            for sub in subscriptions:
                wait_set.add_subscription(sub.handle)
            for timer in timers:
                wait_set.add_timer(timer.handle)
            for guard in guards:
                wait_set.add_guard_condition(guard.handle)
            for service in services:
                wait_set.add_service(service.handle)
            for waitable in waitables:
                waitable.add_to_wait_set(wait_set)
            wait_set.wait(timeout_ns)
            if self._is_shutdown:
                return
            if not self._context.ok():
                raise ExternalShutdownException()
            ready_subs = set(wait_set.get_ready_entities('subscription'))
            ready_timers = set(wait_set.get_ready_entities('timer'))
            ready_guards = set(wait_set.get_ready_entities('guard_condition'))
            ready_services = set(wait_set.get_ready_entities('service'))
            ready_waitables = [w for w in waitables if w.is_ready(wait_set)]
        for waitable in ready_waitables:
            _finish(waitable.execute(waitable.take_data()), 'waitable')
        for timer in timers:
            if timer.handle.pointer in ready_timers and timer.handle.is_timer_ready():
                try:
                    timer.handle.call_timer()
                except Exception:  # noqa: B902 - a timer cancelled meanwhile (as rclpy skips it)
                    continue
                if timer.callback is not None:
                    _finish(timer.callback(), 'timer')
        for sub in subscriptions:
            if sub.handle.pointer in ready_subs:
                self._take(sub)
        for guard in guards[1:]:
            if guard.handle.pointer in ready_guards and guard.callback is not None:
                _finish(guard.callback(), 'guard condition')
        for service in services:
            if service.handle.pointer in ready_services:
                request, header = service.handle.service_take_request(service.srv_type.Request)
                if header is None:
                    continue
                response = service.callback(request, service.srv_type.Response())
                _finish(response, 'service')
                service.send_response(response, header)

    @staticmethod
    def _take(sub) -> None:
        with_info = sub._callback_type is not Subscription.CallbackType.MessageOnly
        for _ in range(TAKE_AT_MOST):
            taken = sub.handle.take_message(sub.msg_type, sub.raw)
            if taken is None:
                return
            _finish(sub.callback(*taken) if with_info else sub.callback(taken[0]),
                    'subscription')
