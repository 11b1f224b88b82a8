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

"""The lean executor runs what the nodes use, as rclpy's does, and refuses what it cannot run."""

import signal
import threading
import time

import pytest
from rcl_interfaces.srv import GetParameters
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.task import Future
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String

from perception.conversions import stamp_from_ns
from perception.lean_executor import LeanExecutor, LeanExecutorError
from perception.qos import RELIABLE_QOS
from support import NodeStarter, publish_until, Spinner, wait_until

pytestmark = pytest.mark.node


class Lean:
    """A node spun by the lean executor on a thread of its own."""

    def __init__(self, node, context):
        self.node = node
        self.executor = LeanExecutor(context=context)
        self.executor.add_node(node)
        self.stop = Future()
        self.error = None
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self):
        try:
            self.executor.spin_until_future_complete(self.stop)
        except Exception as exc:  # noqa: B902 - the test reads it
            self.error = exc

    def close(self):
        self.stop.set_result(True)
        self.thread.join(10.0)
        alive = self.thread.is_alive()
        self.executor.shutdown()
        self.node.destroy_node()
        return not alive


def test_messages_timers_on_simulated_time_services_and_guards(ros_context):
    node = Node('lean', context=ros_context,
                parameter_overrides=[Parameter('use_sim_time', value=True)])
    node.declare_parameter('answer', 42)
    heard, raw, infos, ticks, guarded = [], [], [], [], []
    node.create_subscription(String, 'words', lambda m: heard.append(m.data), RELIABLE_QOS)
    node.create_subscription(String, 'words', raw.append, RELIABLE_QOS, raw=True)
    node.create_subscription(String, 'words', lambda m, i: infos.append(i), RELIABLE_QOS)
    node.create_timer(0.5, lambda: ticks.append(node.get_clock().now().nanoseconds))
    guard = node.create_guard_condition(lambda: guarded.append(threading.get_ident()))
    lean = Lean(node, ros_context)
    helper = Node('lean_helper', context=ros_context)
    words = helper.create_publisher(String, 'words', RELIABLE_QOS)
    clock = helper.create_publisher(Clock, '/clock', RELIABLE_QOS)
    client = helper.create_client(GetParameters, '/lean/get_parameters')
    spinner = Spinner(helper, ros_context)
    try:
        assert wait_until(lambda: words.get_subscription_count() == 3, 20)
        for i in range(20):
            words.publish(String(data=f'w{i}'))
            if i % 5 == 4:  # bursts within the queue's depth (10), however slow the machine
                assert wait_until(lambda: len(heard) == len(raw) == len(infos) == i + 1, 20), \
                    (i, len(heard), len(raw), len(infos))
        assert heard == [f'w{i}' for i in range(20)]  # in order, none lost
        assert all(isinstance(r, bytes) for r in raw)
        assert all(i['source_timestamp'] > 0 for i in infos)
        # Timers follow /clock: nothing before it, then a tick each time it passes another
        # half simulated second (/clock is best effort: each step is sent until it is heard).
        assert wait_until(lambda: clock.get_subscription_count() >= 1, 20)
        assert not ticks
        for k in range(1, 6):
            step = Clock(clock=stamp_from_ns(k * 500_000_000))
            assert publish_until(lambda: clock.publish(step), lambda: len(ticks) >= k), ticks
        assert ticks == [k * 500_000_000 for k in range(1, 6)]
        # A service (the parameter services every node has) answers another node's client.
        assert client.wait_for_service(20)
        request = GetParameters.Request(names=['answer'])
        future = client.call_async(request)
        assert wait_until(future.done, 20)
        assert future.result().values[0].integer_value == 42
        # A guard condition triggered from another thread runs on the spinning thread.
        guard.trigger()
        assert wait_until(lambda: guarded, 20)
        assert guarded == [lean.thread.ident]
        assert lean.error is None
    finally:
        spinner.close()
        assert lean.close(), 'the executor did not return once its future was done'


def test_spinning_ends_on_a_future_a_timeout_or_the_context_going_down(ros_context):
    node = Node('lean_ends', context=ros_context)
    executor = LeanExecutor(context=ros_context)
    executor.add_node(node)
    start = time.monotonic()
    executor.spin_until_future_complete(Future(), timeout_sec=0.5)  # nothing ever completes it
    assert time.monotonic() - start >= 0.5
    future = Future()
    threading.Timer(0.3, future.set_result, (1,)).start()
    executor.spin_until_future_complete(future)
    assert future.done()
    executor.shutdown()
    node.destroy_node()


def test_what_it_cannot_run_is_refused_clearly(ros_context):
    node = Node('lean_refuses', context=ros_context)
    node.create_client(GetParameters, '/elsewhere/get_parameters')
    executor = LeanExecutor(context=ros_context)
    with pytest.raises(LeanExecutorError, match='has clients'):
        executor.add_node(node)
    node.destroy_node()

    node = Node('lean_async', context=ros_context)
    waiting = Future()

    async def waits():
        await waiting  # never done: a plain executor loop cannot run this

    node.create_timer(0.01, waits)
    executor.add_node(node)
    with pytest.raises(LeanExecutorError, match='coroutine that waits'):
        executor.spin_until_future_complete(Future(), timeout_sec=10.0)
    executor.shutdown()
    node.destroy_node()


def test_a_node_process_runs_on_it_and_stops_cleanly(tmp_path):
    starter = NodeStarter('route_driver_node', tmp_path)
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            node = starter('-p', 'use_sim_time:=true', env={'PERCEPTION_EXECUTOR': 'lean'})
            assert wait_until(lambda: 'driving the route' in node.output(), 30), node.output()
            node.process.send_signal(signum)
            assert node.process.wait(15) == 0, node.output()
            assert 'Traceback' not in node.output(), node.output()
        node = starter(env={'PERCEPTION_EXECUTOR': 'turbo'})
        assert wait_until(lambda: 'driving the route' in node.output(), 30), node.output()
        assert "PERCEPTION_EXECUTOR='turbo' is not lean or single" in node.output()
        node.process.send_signal(signal.SIGINT)
        assert node.process.wait(15) == 0, node.output()
    finally:
        starter.kill_all()
