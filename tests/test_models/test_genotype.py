import copy
import json

import pytest

from autopose_mm.models import CELL_TYPES, Genotype, load_genotype
from autopose_mm.models.genotype import PUBLISHED_GENOTYPE


@pytest.fixture
def published_dict():
    with open(PUBLISHED_GENOTYPE) as f:
        return json.load(f)


def test_published_genotype_loads():
    g = load_genotype('published')
    assert set(g.cells) == set(CELL_TYPES)
    assert g.normal.edges[0] == (('std_conv_3x3', 1), ('std_conv_3x3', 0))
    assert g.cells['upsample_1_8_to_1_4'].edges[1] == (('avg_pool_3x3', 0),
                                                       ('se_connect', 2))
    assert all(c.concat == (2, 3, 4, 5) for c in g.cells.values())


@pytest.mark.parametrize('suffix', ['.json', '.yaml', '.yml'])
def test_round_trip(tmp_path, suffix):
    g = load_genotype('published')
    path = str(tmp_path / f'g{suffix}')
    g.dump(path)
    again = Genotype.load(path)
    assert again == g
    assert again.to_dict() == g.to_dict()
    assert load_genotype(path) == g
    assert load_genotype(g.to_dict()) == g


def _broken(data, path, value):
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize('path,value,match', [
    (('encoder', 'normal', 'edges', 0, 0, 0), 'conv_9x9',
     r"encoder.normal.edges\[0\]\[0\].*unknown operation 'conv_9x9'.*"
     r'allowed operations: none, skip_connect'),
    (('encoder', 'reduce', 'edges', 1, 0, 1), 3,
     r"encoder.reduce.edges\[1\]\[0\].*input 3 out of range.*0..2"),
    (('decoder', 'upsample_1_16_to_1_8', 'edges', 0, 1, 1), -1,
     r"upsample_1_16_to_1_8.edges\[0\]\[1\].*out of range"),
    (('encoder', 'normal', 'edges'), [[['std_conv_3x3', 0]]],
     r"encoder.normal.edges.*one entry per node \(4 nodes\), got 1"),
    (('nodes', ), 5, r"encoder.normal.edges.*\(5 nodes\), got 4"),
    (('decoder', 'upsample_1_8_to_1_4'), KeyError,
     r"decoder.upsample_1_8_to_1_4.*missing cell.*upsample_1_32_to_1_16"),
    (('encoder', ), KeyError, r"'encoder'.*normal, reduce"),
    (('encoder', 'normal', 'concat'), [2, 3],
     r"encoder.normal.concat.*\[2, 3, 4, 5\]"),
    (('encoder', 'normal', 'edges', 2, 0), 'std_conv_3x3',
     r"encoder.normal.edges\[2\]\[0\].*\[operation, input\]"),
])
def test_malformed_genotypes_name_the_field(published_dict, path, value,
                                            match):
    with pytest.raises(ValueError, match=match):
        Genotype.from_dict(_broken(published_dict, path, value))


def test_malformed_file_names_the_file(tmp_path, published_dict):
    path = tmp_path / 'bad.json'
    path.write_text(
        json.dumps(
            _broken(published_dict, ('encoder', 'normal', 'edges', 0, 0, 0),
                    'nope')))
    with pytest.raises(ValueError, match=f'{path}.*unknown operation'):
        load_genotype(str(path))
    with pytest.raises(FileNotFoundError, match='missing.json'):
        load_genotype(str(tmp_path / 'missing.json'))
