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

"""Reading YAML files with errors that say which file and why."""

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
