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
Scenario families: a scenario with random values in place of numbers, drawn by seed.

A family file (config/families/*.yaml) has a name, a description, variables (drawn first, in
order), constraints on them, and a scenario whose values may be distributions, variables or
expressions (perception.core.distributions). draw_scenario(family, seed) gives one concrete
scenario, the same for the same (family, seed) on every machine. Each draw is checked as any
scenario file is; a draw that breaks a constraint or makes an impossible layout is drawn again
(and counted), and a family that finds no valid draw in `max_tries` tries is refused with
FamilyError.
"""

from dataclasses import dataclass
import os
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from perception.core import distributions
from perception.core.distributions import DistributionError
from perception.core.yamlfile import FieldReader, read_yaml
from perception.sim.scenario import parse_scenario, Scenario, ScenarioError

#: Tries per seed before a family is called impossible.
MAX_TRIES = 50
#: Seed used by the draws' generator: a family's draws depend on nothing else.
DRAW_KEY = 'perception-family-v1'


class FamilyError(ValueError):
    """A family that cannot be drawn: a bad spec, or no valid draw in the tries allowed."""


@dataclass(frozen=True)
class Family:
    """A scenario family as read from its file."""

    name: str
    description: str
    variables: dict
    constraints: Tuple[str, ...]
    template: dict
    max_tries: int
    source: str


@dataclass(frozen=True)
class Draw:
    """One concrete scenario of a family."""

    family: str
    seed: int
    scenario: Scenario
    data: dict  # the scenario as YAML data: what a scenario file of it holds
    values: Dict[str, object]  # the variables drawn
    redraws: int  # draws refused before this one
    refusals: Tuple[str, ...]  # why each was refused


def parse_family(data, source: str = '<family>') -> Family:
    """Build a Family from parsed YAML, checking every spec once."""
    top = FieldReader(data, '', source, FamilyError, 'the family')
    name = top.take('family', str, required=True)
    description = top.take('description', str, '')
    variables = top.take('variables', dict, {})
    constraints = top.take('constraints', list, [])
    max_tries = top.integer('max_tries', MAX_TRIES, low=1, high=10000)
    template = top.take('scenario', dict, required=True)
    top.done()
    try:
        known = distributions.check_variables(variables)
        for i, text in enumerate(constraints):
            distributions.check_expression(text, f'constraints[{i}]', known)
        distributions.check_tree(template, 'scenario', known)
    except DistributionError as exc:
        raise FamilyError(f'{source}: {exc}') from None
    return Family(name, description, variables, tuple(constraints), template, max_tries, source)


def load_family(path: str) -> Family:
    """Read and check a family file."""
    return parse_family(read_yaml(path, FamilyError, 'family'), path)


def family_path(name_or_path: str, families_dir: str) -> str:
    """Resolve a family name (config/families/<name>.yaml) or a path."""
    if os.path.sep in name_or_path or name_or_path.endswith('.yaml'):
        return name_or_path
    return os.path.join(families_dir, f'{name_or_path}.yaml')


def list_families(families_dir: str) -> List[str]:
    """Names of the families shipped in a directory."""
    return sorted(f[:-5] for f in os.listdir(families_dir) if f.endswith('.yaml'))


def run_name(family: str, seed: int) -> str:
    """Return the scenario name of a draw: the family and the seed."""
    return f'{family}-s{seed}'


def draw_scenario(family: Family, seed: int,
                  robot_footprint: Optional[Sequence[float]] = None) -> Draw:
    """
    Draw the concrete scenario of a seed; FamilyError when no try gives a valid one.

    Try k of seed s draws from a generator keyed by (family name, s, k): a refused try never
    shifts the draws of other seeds.
    """
    refusals: List[str] = []
    for attempt in range(family.max_tries):
        rng = distributions.generator(DRAW_KEY, family.name, seed, attempt)
        try:
            values = distributions.draw_variables(family.variables, rng)
            broken = [text for text in family.constraints
                      if not distributions.evaluate(text, values, 'constraints')]
            if broken:
                refusals.append(f'constraint {broken[0]!r} does not hold')
                continue
            data = distributions.draw(family.template, rng, values, 'scenario')
        except DistributionError as exc:
            refusals.append(str(exc))
            continue
        data = {'name': run_name(family.name, seed),
                'description': data.pop('description', family.description), **data}
        source = f'{family.source} (seed {seed})'
        try:
            scenario = parse_scenario(data, source, robot_footprint)
        except ScenarioError as exc:
            refusals.append(str(exc))
            continue
        return Draw(family.name, seed, scenario, data, values, attempt, tuple(refusals))
    raise FamilyError(f'{family.source}: no valid draw for seed {seed} in {family.max_tries} '
                      f'tries; the last was refused: {refusals[-1]}')


def write_scenario(draw: Draw, path: str) -> None:
    """Write a draw as a scenario file that load_scenario reads back as the same scenario."""
    header = (f'# Seed {draw.seed} of scenario family {draw.family}, drawn after '
              f'{draw.redraws} refused tries.\n# Variables: '
              + ', '.join(f'{k}={v}' for k, v in draw.values.items()) + '\n')
    with open(path, 'w', encoding='utf-8') as stream:
        stream.write(header)
        yaml.safe_dump(draw.data, stream, sort_keys=False, default_flow_style=None)
