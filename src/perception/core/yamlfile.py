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

"""Reading YAML files with errors that say which file, which key and why."""

import math
from typing import Type

import yaml


def read_yaml(path: str, error: Type[Exception], what: str = 'file'):
    """Parse a YAML file; raise `error` naming the file when it cannot be read or parsed."""
    try:
        with open(path, encoding='utf-8') as stream:
            return yaml.safe_load(stream)
    except OSError as exc:
        raise error(f'cannot read {what} {path}: {exc.strerror}') from None
    except yaml.YAMLError as exc:
        raise error(f'{path} is not valid YAML: {exc}') from None


class FieldReader:
    """
    Takes typed fields out of a parsed YAML mapping, for strict loaders.

    Errors name the file and the dotted path of the key; done() refuses keys nobody took, so a
    misspelt key is an error rather than a silent default.
    """

    def __init__(self, data, where: str, source: str, error: Type[Exception] = ValueError,
                 what: str = 'the file'):
        self.source = source
        self.where = where
        self.error_type = error
        self.what = what
        if not isinstance(data, dict):
            raise error(f'{source}: {where or what} must be a mapping')
        self.data = dict(data)

    def name(self, key: str) -> str:
        """Return the dotted path of a key for messages."""
        return f'{self.where}.{key}' if self.where else key

    def error(self, key: str, message: str) -> Exception:
        """Return an error about one key."""
        return self.error_type(f'{self.source}: {self.name(key)}: {message}')

    def child(self, key: str, required: bool = False) -> 'FieldReader':
        """Return a reader of the mapping under key (empty when absent and not required)."""
        return FieldReader(self.take(key, dict, {}, required), self.name(key), self.source,
                           self.error_type, self.what)

    def take(self, key: str, kind, default=None, required: bool = False):
        """Remove and return a field of the given type; default when absent."""
        if key not in self.data:
            if required:
                raise self.error_type(f'{self.source}: missing field {self.name(key)}')
            return default
        value = self.data.pop(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.error(key, f'expected {getattr(kind, "__name__", kind)}, got {value!r}')
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(key, f'must be finite, got {value!r}')
        return value

    def number(self, key: str, default=None, required: bool = False, low=None, high=None):
        """Take a finite number within [low, high]."""
        value = self.take(key, float, default, required)
        if value is not None and ((low is not None and value < low) or
                                  (high is not None and value > high)):
            raise self.error(key, f'must be within [{low}, {high}], got {value}')
        return value

    def integer(self, key: str, default=None, required: bool = False, low=None, high=None):
        """Take an integer within [low, high]."""
        value = self.take(key, int, default, required)
        if value is not None and ((low is not None and value < low) or
                                  (high is not None and value > high)):
            raise self.error(key, f'must be within [{low}, {high}], got {value}')
        return value

    def done(self) -> None:
        """Refuse any key that was not taken."""
        if self.data:
            unknown = ', '.join(sorted(map(str, self.data)))
            raise self.error_type(f'{self.source}: unknown key {unknown} in '
                                  f'{self.where or self.what}')
