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

"""Publishing diagnostic_msgs/DiagnosticArray on /diagnostics, the way diagnostic_updater does."""

from dataclasses import dataclass, field
from typing import Dict, List

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from perception.qos import RELIABLE_QOS

OK, WARN, ERROR, STALE = (DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR,
                          DiagnosticStatus.STALE)


@dataclass
class Status:
    """One line of a diagnostics report: a task, its level, a message and key values."""

    task: str
    level: bytes
    message: str
    values: Dict[str, object] = field(default_factory=dict)


class DiagnosticsPublisher:
    """Publishes a node's statuses as '<node name>: <task>', like diagnostic_updater."""

    def __init__(self, node, hardware_id: str = ''):
        self._node = node
        self.hardware_id = hardware_id
        self._pub = node.create_publisher(DiagnosticArray, '/diagnostics', RELIABLE_QOS)

    def publish(self, statuses: List[Status]) -> None:
        """Publish a report stamped now."""
        msg = DiagnosticArray()
        msg.header.stamp = self._node.get_clock().now().to_msg()
        for status in statuses:
            item = DiagnosticStatus()
            item.level = status.level
            item.name = f'{self._node.get_name()}: {status.task}'
            item.message = status.message
            item.hardware_id = self.hardware_id
            item.values = [KeyValue(key=k, value=_format(v)) for k, v in status.values.items()]
            msg.status.append(item)
        self._pub.publish(msg)


def _format(value) -> str:
    if isinstance(value, float):
        return f'{value:.3f}'
    return str(value)
