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
Scenario campaigns: many randomized runs of a scenario family, statistics with confidence.

perception.campaign.runner draws and runs them (locally or on Ray), perception.campaign.report
writes their figures. Campaigns run on a workstation or a cluster, never on a robot: Ray is a
dependency of this package alone.
"""
