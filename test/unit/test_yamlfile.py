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

"""Reading YAML files strictly, with errors that name the file and the key."""

import pytest

from perception.core.yamlfile import FieldReader, read_yaml


class Bad(ValueError):
    pass


def test_read_yaml_names_the_file(tmp_path):
    with pytest.raises(Bad, match='cannot read robot .*missing.yaml'):
        read_yaml(str(tmp_path / 'missing.yaml'), Bad, 'robot')
    broken = tmp_path / 'broken.yaml'
    broken.write_text('a: [1, 2\n')
    with pytest.raises(Bad, match='broken.yaml is not valid YAML'):
        read_yaml(str(broken), Bad)
    good = tmp_path / 'good.yaml'
    good.write_text('a: 1\n')
    assert read_yaml(str(good), Bad) == {'a': 1}


def test_fields_are_typed_and_named_by_their_path():
    reader = FieldReader({'a': 1, 'b': {'c': 'x', 'n': 3}, 'f': 2.5}, '', 'f.yaml', Bad)
    assert reader.number('a') == 1.0 and isinstance(reader.number('f'), float)
    child = reader.child('b')
    assert child.take('c', str) == 'x'
    with pytest.raises(Bad, match=r'f.yaml: b.n: must be within \[0, 2\], got 3'):
        child.integer('n', low=0, high=2)
    with pytest.raises(Bad, match='missing field b.z'):
        child.take('z', str, required=True)
    assert child.take('z', str, 'default') == 'default'
    reader.done()


@pytest.mark.parametrize('data,call,message', [
    ({'x': True}, lambda r: r.number('x'), 'expected float, got True'),
    ({'x': '1'}, lambda r: r.number('x'), "expected float, got '1'"),
    ({'x': float('nan')}, lambda r: r.number('x'), 'must be finite'),
    ({'x': 1.5}, lambda r: r.integer('x'), 'expected int'),
    ({'x': 1, 'y': 2}, lambda r: (r.number('x'), r.done()), 'unknown key y in the file'),
])
def test_wrong_fields_are_refused(data, call, message):
    with pytest.raises(Bad, match=message):
        call(FieldReader(data, '', 'f.yaml', Bad))


def test_a_non_mapping_is_refused_by_name():
    with pytest.raises(Bad, match='f.yaml: sensors must be a mapping'):
        FieldReader([1, 2], 'sensors', 'f.yaml', Bad)
