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
Random values in place of numbers in a YAML tree, drawn reproducibly.

Anywhere a number (or any value) stands in a parsed YAML tree, a one-key mapping may stand
instead:

- ``{uniform: [low, high]}``: a number drawn uniformly from [low, high];
- ``{choice: [a, b, ...]}``: one of the values, equally likely (numbers, lists, strings);
- ``{normal: [mean, std], min: low, max: high}``: a normal draw, redrawn until within
  [min, max] (both required, so no draw is ever absurd);
- ``{var: name}``: the value of a variable of the family;
- ``{expr: 'gap_x + 0.5'}``: arithmetic (+ - * /, parentheses, min(), max(), abs()) on numbers
  and variables; comparisons (< <= > >= == !=) with and, or, not make conditions, which a
  family's constraints use.

Variables are drawn first, in the order they are written, and a variable may use the ones
before it. ``parse_tree`` checks a tree once (a bad spec raises DistributionError naming its
path); ``draw`` resolves it into plain values with a ``random.Random``. Draws depend only on
the generator's seed, never on the platform: uniform and choice use ``random()`` and
``_randbelow`` alone, and the normal is computed here from ``random()``. Drawn numbers are
rounded to ``DECIMALS`` places (a millimetre, a milli-second) so a draw written as YAML reads
back as the same values.
"""

import ast
import math
import random
from typing import Dict, List, Tuple

#: Decimal places of drawn numbers.
DECIMALS = 4
#: A bounded normal that misses its bounds this often is refused as impossible.
NORMAL_TRIES = 1000

KINDS = ('uniform', 'choice', 'normal', 'var', 'expr')
FUNCTIONS = {'min': min, 'max': max, 'abs': abs}
COMPARISONS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)


class DistributionError(ValueError):
    """A distribution or expression that cannot be drawn; the message names where it is."""


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def is_spec(node) -> bool:
    """Tell whether a YAML node is a distribution, a variable or an expression."""
    return isinstance(node, dict) and any(key in KINDS for key in node)


def _kind(node: dict, where: str) -> str:
    kinds = [key for key in node if key in KINDS]
    if len(kinds) > 1:
        raise DistributionError(f'{where}: one of {", ".join(KINDS)} per mapping, got '
                                f'{", ".join(kinds)}')
    return kinds[0]


def _pair(node, key: str, where: str) -> Tuple[float, float]:
    value = node.get(key)
    if not (isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))):
        raise DistributionError(f'{where}: {key} needs [a, b] of two numbers, got {value!r}')
    return float(value[0]), float(value[1])


def _names(expression: ast.AST, where: str) -> List[str]:
    """Check an expression's syntax tree; return the variables it uses."""
    names = []
    for node in ast.walk(expression):
        if isinstance(node, ast.Name):
            if node.id not in FUNCTIONS:
                names.append(node.id)
        elif isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS) or \
                    node.keywords:
                raise DistributionError(f'{where}: only {", ".join(FUNCTIONS)} may be called')
        elif isinstance(node, ast.Constant):
            if not _is_number(node.value):
                raise DistributionError(f'{where}: only numbers may appear, got '
                                        f'{node.value!r}')
        elif not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Load,
                                   ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd,
                                   ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.Not)
                            + COMPARISONS):
            raise DistributionError(f'{where}: {type(node).__name__} is not allowed in an '
                                    'expression')
    return names


def check_spec(node: dict, where: str, known: Tuple[str, ...]) -> None:
    """Raise DistributionError for a spec that cannot be drawn (known: variables defined)."""
    kind = _kind(node, where)
    extra = {'normal': {'min', 'max'}}.get(kind, set())
    unknown = set(node) - {kind} - extra
    if unknown:
        raise DistributionError(f'{where}: unknown key {", ".join(sorted(map(str, unknown)))} '
                                f'in a {kind} spec')
    if kind == 'uniform':
        low, high = _pair(node, 'uniform', where)
        if low > high:
            raise DistributionError(f'{where}: uniform needs low <= high, got [{low}, {high}]')
    elif kind == 'choice':
        options = node['choice']
        if not isinstance(options, list) or not options:
            raise DistributionError(f'{where}: choice needs a non-empty list, got {options!r}')
        for i, option in enumerate(options):
            check_tree(option, f'{where}.choice[{i}]', known)
    elif kind == 'normal':
        _mean, std = _pair(node, 'normal', where)
        if std < 0:
            raise DistributionError(f'{where}: normal needs std >= 0, got {std}')
        if not (_is_number(node.get('min')) and _is_number(node.get('max'))):
            raise DistributionError(f'{where}: normal needs numbers min and max (bounds)')
        if node['min'] > node['max']:
            raise DistributionError(f'{where}: normal needs min <= max')
    elif kind == 'var':
        if node['var'] not in known:
            raise DistributionError(f'{where}: unknown variable {node["var"]!r}; defined: '
                                    f'{", ".join(known) or "none"}')
    else:  # expr
        text = node['expr']
        if not isinstance(text, str):
            raise DistributionError(f'{where}: expr needs a string, got {text!r}')
        try:
            tree = ast.parse(text, mode='eval')
        except SyntaxError:
            raise DistributionError(f'{where}: cannot parse expression {text!r}') from None
        for name in _names(tree, where):
            if name not in known:
                raise DistributionError(f'{where}: unknown variable {name!r} in {text!r}; '
                                        f'defined: {", ".join(known) or "none"}')


def check_tree(node, where: str, known: Tuple[str, ...] = ()) -> None:
    """Check every spec in a YAML tree; raise DistributionError naming the first bad one."""
    if is_spec(node):
        check_spec(node, where, known)
    elif isinstance(node, dict):
        for key, value in node.items():
            check_tree(value, f'{where}.{key}' if where else str(key), known)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            check_tree(value, f'{where}[{i}]', known)


def check_variables(variables: dict, where: str = 'variables') -> Tuple[str, ...]:
    """Check a family's variables in order; return their names."""
    if not isinstance(variables, dict):
        raise DistributionError(f'{where} must be a mapping of names to values')
    known: Tuple[str, ...] = ()
    for name, spec in variables.items():
        if not (isinstance(name, str) and name.isidentifier() and name not in FUNCTIONS):
            raise DistributionError(f'{where}: {name!r} cannot name a variable')
        check_tree(spec, f'{where}.{name}', known)
        known += (name,)
    return known


def _round(value):
    return round(value, DECIMALS) if isinstance(value, float) else value


def _normal(rng: random.Random) -> float:
    """Return a standard normal draw from uniform ones (Box-Muller), the same everywhere."""
    u1 = 1.0 - rng.random()  # in (0, 1]: log is finite
    u2 = rng.random()
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def _evaluate(node: ast.AST, values: Dict[str, object]):
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, values)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        if isinstance(node.op, ast.Not):
            return not operand
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BoolOp):
        results = (_evaluate(v, values) for v in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, values)
        for op, right_node in zip(node.ops, node.comparators):
            right = _evaluate(right_node, values)
            if not _compare(op, left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](*(_evaluate(a, values) for a in node.args))
    left, right = _evaluate(node.left, values), _evaluate(node.right, values)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    return left / right


def _compare(op: ast.AST, left, right) -> bool:
    return {ast.Lt: left < right, ast.LtE: left <= right, ast.Gt: left > right,
            ast.GtE: left >= right, ast.Eq: left == right, ast.NotEq: left != right}[type(op)]


def check_expression(text, where: str, known: Tuple[str, ...]) -> None:
    """Check an expression (a family's constraint); raise DistributionError if bad."""
    check_spec({'expr': text}, where, known)


def evaluate(text: str, values: Dict[str, object], where: str = ''):
    """Return the value of a checked expression with the variables' values."""
    return _draw_spec({'expr': text}, random.Random(0), values, where)


def _draw_spec(node: dict, rng: random.Random, values: Dict[str, object], where: str):
    kind = _kind(node, where)
    if kind == 'uniform':
        low, high = node['uniform']
        return _round(low + (high - low) * rng.random())
    if kind == 'choice':
        options = node['choice']
        return draw(options[rng.randrange(len(options))], rng, values, where)
    if kind == 'normal':
        mean, std = node['normal']
        for _ in range(NORMAL_TRIES):
            value = mean + std * _normal(rng)
            if node['min'] <= value <= node['max']:
                return _round(value)
        raise DistributionError(f'{where}: normal {mean} +- {std} fell outside '
                                f'[{node["min"]}, {node["max"]}] {NORMAL_TRIES} times')
    if kind == 'var':
        return values[node['var']]
    try:
        result = _evaluate(ast.parse(node['expr'], mode='eval'), values)
    except (ZeroDivisionError, TypeError) as exc:
        raise DistributionError(f'{where}: {node["expr"]!r}: {exc}') from None
    if isinstance(result, bool):
        return result
    return _round(float(result)) if _is_number(result) else result


def draw(node, rng: random.Random, values: Dict[str, object], where: str = ''):
    """Return a copy of a checked YAML tree with every spec replaced by a drawn value."""
    if is_spec(node):
        return _draw_spec(node, rng, values, where)
    if isinstance(node, dict):
        return {k: draw(v, rng, values, f'{where}.{k}' if where else str(k))
                for k, v in node.items()}
    if isinstance(node, list):
        return [draw(v, rng, values, f'{where}[{i}]') for i, v in enumerate(node)]
    return node


def draw_variables(variables: dict, rng: random.Random) -> Dict[str, object]:
    """Draw a family's checked variables in order; return name -> value."""
    values: Dict[str, object] = {}
    for name, spec in variables.items():
        values[name] = draw(spec, rng, values, f'variables.{name}')
    return values


def generator(*key) -> random.Random:
    """
    Return a random generator seeded by a key of strings and integers.

    Seeding from a string hashes it with SHA-512 in every CPython since 3.2, so the same key
    gives the same draws on every machine.
    """
    return random.Random(':'.join(str(k) for k in key))
