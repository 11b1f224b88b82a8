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
The simulated warehouse (MuJoCo): scenarios, world, sensors, ground truth and datasets.

ROS-free; perception.nodes.simulator_node publishes it as a robot's drivers would.
"""

import os

# Render headless (Mesa's EGL on machines without a GPU). MuJoCo reads this when it is first
# imported, which the modules of this package do after this line runs.
os.environ.setdefault('MUJOCO_GL', 'egl')
