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

"""The running sim stack against the topic graph of perception.stack (and the README)."""

import os
import signal
import subprocess
import time

import pytest
from rclpy.node import Node
import yaml

from perception import stack
from perception.launcher import stack_environment
from support import perception_command, wait_until

pytestmark = [pytest.mark.sim, pytest.mark.slow]


def graph(node, topic):
    """Return {our node: type} of the publishers and of the subscribers of a topic."""
    name = topic.name if topic.name.startswith('/') else '/' + topic.name
    ours = set(stack.STACKS['sim'])
    return tuple({i.node_name: i.topic_type for i in infos if i.node_name in ours}
                 for infos in (node.get_publishers_info_by_topic(name),
                               node.get_subscriptions_info_by_topic(name)))


def test_the_sim_stack_publishes_and_takes_what_the_graph_says(ros_context, tmp_path):
    params = tmp_path / 'params.yaml'
    params.write_text(yaml.safe_dump({
        '/**/simulator': {'ros__parameters': {'scenario': 'aisle_clear', 'duration_s': 300.0}},
        '/**/route_driver': {'ros__parameters': {'scenario': 'aisle_clear'}}}))
    log = open(tmp_path / 'stack.log', 'w+b')
    process = subprocess.Popen(perception_command('launch', 'sim', '--use-sim-time',
                                                  '--params-file', str(params),
                                                  '--duration', '240'),
                               env=stack_environment(), stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    node = Node('graph_probe', context=ros_context)
    sim = set(stack.STACKS['sim'])
    try:
        def expected(topic):
            return ({n: topic.message for n in topic.publishers if n in sim},
                    {n: topic.message for n in topic.subscribers if n in sim})

        # Every node has come up once each topic shows what the graph says.
        assert wait_until(lambda: all(graph(node, t) == expected(t) for t in stack.TOPICS),
                          120), {t.name: (graph(node, t), expected(t)) for t in stack.TOPICS
                                 if graph(node, t) != expected(t)}
        time.sleep(2.0)  # nothing more turns up later
        mismatched = {t.name: graph(node, t) for t in stack.TOPICS if graph(node, t) !=
                      expected(t)}
        assert not mismatched, mismatched
        # And our nodes use no topic the graph does not name.
        named = {t.name if t.name.startswith('/') else '/' + t.name for t in stack.TOPICS}
        ignored = ('/rosout', '/parameter_events')
        extra = {name for name, _ in node.get_topic_names_and_types()
                 if name not in named and not name.endswith(ignored) and
                 any(i.node_name in sim for i in node.get_publishers_info_by_topic(name) +
                     node.get_subscriptions_info_by_topic(name))}
        assert not extra, extra
    finally:
        node.destroy_node()
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
