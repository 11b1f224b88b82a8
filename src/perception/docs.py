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
The README's generated tables: each node's parameters and the default robot's blind zone.

The tables sit between markers in README.md (`<!-- generated: NAME -->` ... `<!-- end -->`)
and are written from the code and the YAML defaults, never by hand, so that the README cannot
drift from them: `perception docs` rewrites them, `perception docs --check` (run by the tests)
fails when they differ.
"""

import importlib
import os
import re
from typing import Dict, List

from perception.config import config_path, expanded_specs, load_defaults, ParamSpec

#: Parameter tables: marker name -> (node module, its YAML file).
PARAMETER_TABLES = {
    'camera': ('perception.nodes.camera_node', 'camera.yaml'),
    'simulator': ('perception.nodes.simulator_node', 'simulator.yaml'),
    'route_driver': ('perception.nodes.route_driver_node', 'route_driver.yaml'),
    'safety': ('perception.nodes.safety_node', 'safety.yaml'),
    'detector': ('perception.nodes.detector_node', 'detector.yaml'),
    'mapper': ('perception.nodes.mapper_node', 'mapper.yaml'),
    'telemetry': ('perception.nodes.telemetry_node', 'telemetry.yaml'),
}
#: Heights of the blind-zone table (m): below, at and above the default lidar's plane.
BLIND_ZONE_HEIGHTS = (0.05, 0.1, 0.2, 0.3, 1.0)
#: The source checkout's README (the package is installed editable from it).
README = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'README.md'))
#: Every generated section the README must have.
SECTIONS = tuple(PARAMETER_TABLES) + ('blind_zone', 'topics')
MARKER = re.compile(r'(<!-- generated: (\w+) -->\n)(.*?)(<!-- end -->)', re.S)


def _value(value) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return '[' + ', '.join(str(v) for v in value) + ']'
    return f'{value!r}'


def _range(spec: ParamSpec) -> str:
    if spec.choices:
        return ', '.join(spec.choices)
    if spec.min_value is not None and spec.max_value is not None:
        return f'{spec.min_value:g} to {spec.max_value:g}'
    return ''


def specs_of(module_name: str, defaults: Dict[str, object]) -> List[ParamSpec]:
    """Return a node module's parameter specs, and those it derives from values (sources)."""
    module = importlib.import_module(module_name)
    return expanded_specs(module.PARAMS, defaults, getattr(module, 'EXPAND', None))


def parameter_table(module_name: str, config: str) -> str:
    """Return the markdown table of a node's parameters: name, default, range, meaning."""
    defaults = load_defaults(config_path(config))
    rows = ['| parameter | default | range / values | meaning |', '| --- | --- | --- | --- |']
    for spec in specs_of(module_name, defaults):
        meaning = spec.description.replace('|', '\\|')
        rows.append(f'| `{spec.name}` | `{_value(defaults[spec.name])}` | {_range(spec)} | '
                    f'{meaning} |')
    return '\n'.join(rows) + '\n'


def blind_zone_table() -> str:
    """Return where the default robot first sees an object of each height."""
    from perception.core.robot import blind_zone, load_robot
    robot = load_robot(config_path('robot.yaml'))
    rows = ['| object height | first seen ahead of the front edge | seen by |',
            '| --- | --- | --- |']
    for height in BLIND_ZONE_HEIGHTS:
        zone = blind_zone(robot, height)
        rows.append(f'| {height:.2f} m | {zone.seen_ahead_from:.2f} m | '
                    f'{", ".join(zone.seen_by) or "nothing"} |')
    return '\n'.join(rows) + '\n'


def topic_table() -> str:
    """Return the topic table of the graph (perception.stack.TOPICS)."""
    from perception.stack import TOPICS
    rows = ['| topic | type | QoS | published by | taken by |', '| --- | --- | --- | --- | --- |']
    for topic in TOPICS:
        by = ', '.join(topic.publishers) + (f' (on a robot: {topic.elsewhere})'
                                            if topic.elsewhere else '')
        rows.append(f'| `{topic.name}` | {topic.message.replace("/msg/", "/")} | {topic.qos} | '
                    f'{by} | {", ".join(topic.subscribers) or "people, tools"} |')
    return '\n'.join(rows) + '\n'


def generate(name: str) -> str:
    """Return the content of one generated section."""
    if name == 'blind_zone':
        return blind_zone_table()
    if name == 'topics':
        return topic_table()
    if name in PARAMETER_TABLES:
        return parameter_table(*PARAMETER_TABLES[name])
    raise KeyError(f'README.md has a generated section {name!r} that nothing generates')


def render(text: str) -> str:
    """Return the README with every generated section written anew."""
    return MARKER.sub(lambda m: m.group(1) + generate(m.group(2)) + m.group(4), text)


def sections(text: str) -> List[str]:
    """Return the names of the generated sections in a text."""
    return [m.group(2) for m in MARKER.finditer(text)]


def main(args) -> int:
    """Rewrite README.md's generated sections, or with --check say whether they are current."""
    path = args.readme or README
    with open(path, encoding='utf-8') as stream:
        text = stream.read()
    new = render(text)
    missing = sorted(set(SECTIONS) - set(sections(text)))
    if args.check:
        if missing:
            print(f'{path} lacks the generated sections: {", ".join(missing)}')
        if new != text:
            print(f'{path}: generated tables are out of date; run `perception docs`')
        return 1 if missing or new != text else 0
    with open(path, 'w', encoding='utf-8') as stream:
        stream.write(new)
    print(f'{path}: {len(sections(text))} generated sections written'
          + (f'; missing: {", ".join(missing)}' if missing else ''))
    return 0
