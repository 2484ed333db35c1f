"""Genotypes: the searched cells as plain, validated data.

A genotype file (JSON or YAML) looks like::

    {"name": "...", "nodes": 4,
     "encoder": {"normal": CELL, "reduce": CELL},
     "decoder": {"upsample_1_32_to_1_16": CELL,
                 "upsample_1_16_to_1_8": CELL,
                 "upsample_1_8_to_1_4": CELL}}

where a ``CELL`` is ``{"edges": [[[op, input], [op, input]], ...],
"concat": [2, 3, 4, 5]}``: node ``k`` sums the listed operations applied to
the given inputs. Input 0 and 1 are the cell's two (projected) inputs, older
first; input ``2 + j`` is node ``j``.
"""
import json
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import yaml

from ..utils.io import atomic_write_text
from .operations import OPERATION_SPECS

ENCODER_CELLS: Tuple[str, ...] = ('normal', 'reduce')
DECODER_CELLS: Tuple[str,
                     ...] = ('upsample_1_32_to_1_16', 'upsample_1_16_to_1_8',
                             'upsample_1_8_to_1_4')
CELL_TYPES: Tuple[str, ...] = ENCODER_CELLS + DECODER_CELLS
PUBLISHED_GENOTYPE = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'genotypes',
    'published.json')

Edge = Tuple[str, int]


def _fail(where: str, problem: str) -> None:
    raise ValueError(f'genotype field {where!r}: {problem}')


@dataclass(frozen=True)
class CellGenotype:
    """One searched cell.

    Args:
        edges: For every intermediate node, its incoming ``(operation,
            input index)`` pairs, whose outputs the node sums.
        concat: Indices of the states concatenated into the cell output.
    """
    edges: Tuple[Tuple[Edge, ...], ...]
    concat: Tuple[int, ...]

    @property
    def num_nodes(self) -> int:
        return len(self.edges)

    @classmethod
    def from_dict(cls, data: Any, nodes: int, where: str) -> 'CellGenotype':
        """Validate and convert ``{'edges': ..., 'concat': ...}``."""
        if not isinstance(data, Mapping):
            _fail(
                where, f'expected a mapping with "edges" and "concat", got '
                f'{type(data).__name__}')
        unknown = set(data) - {'edges', 'concat'}
        if unknown:
            _fail(
                where, f'unknown keys {sorted(unknown)}; allowed keys: '
                f'edges, concat')
        if 'edges' not in data:
            _fail(where, 'missing "edges"')
        raw_edges = data['edges']
        if not isinstance(raw_edges, Sequence) or len(raw_edges) != nodes:
            count = len(raw_edges) if isinstance(raw_edges, Sequence) else '?'
            _fail(
                f'{where}.edges', f'expected one entry per node ({nodes} '
                f'nodes), got {count}')
        edges = []
        for k, node in enumerate(raw_edges):
            node_where = f'{where}.edges[{k}]'
            if not isinstance(node, Sequence) or isinstance(node, str) or \
                    len(node) == 0:
                _fail(
                    node_where, 'expected a non-empty list of '
                    '[operation, input] pairs')
            node_edges = []
            for e, edge in enumerate(node):
                edge_where = f'{node_where}[{e}]'
                if (not isinstance(edge, Sequence) or isinstance(edge, str)
                        or len(edge) != 2):
                    _fail(edge_where, f'expected [operation, input], got '
                          f'{edge!r}')
                op, src = edge
                if op not in OPERATION_SPECS:
                    _fail(
                        edge_where, f'unknown operation {op!r}; allowed '
                        f'operations: {", ".join(OPERATION_SPECS)}')
                if isinstance(src, bool) or not isinstance(src, int) or \
                        not 0 <= src < 2 + k:
                    _fail(
                        edge_where, f'input {src!r} out of range; node '
                        f'{k} may read inputs 0..{1 + k}')
                node_edges.append((op, src))
            edges.append(tuple(node_edges))
        expected = list(range(2, 2 + nodes))
        concat = list(data.get('concat', expected))
        if concat != expected:
            _fail(
                f'{where}.concat', f'must list every intermediate node, '
                f'{expected}, got {concat}')
        return cls(tuple(edges), tuple(concat))

    def to_dict(self) -> Dict[str, list]:
        return dict(
            edges=[[list(edge) for edge in node] for node in self.edges],
            concat=list(self.concat))


@dataclass(frozen=True)
class Genotype:
    """The searched cells of an AutoPose network.

    Args:
        cells: Cell genotypes keyed by cell type (:data:`CELL_TYPES`).
        nodes: Intermediate nodes per cell.
        name: A free-form name.
        extra: Other top-level fields, kept as they are when saved.
        cells_per_scale: The network level, optional: how many encoder cells
            each of the four scales gets (saved as
            ``"network": {"cells_per_scale": [...]}``).
    """
    cells: Mapping[str, CellGenotype]
    nodes: int = 4
    name: str = ''
    extra: Mapping[str, Any] = field(default_factory=dict)
    cells_per_scale: Optional[Tuple[int, ...]] = None

    @property
    def normal(self) -> CellGenotype:
        return self.cells['normal']

    @property
    def reduce(self) -> CellGenotype:
        return self.cells['reduce']

    @classmethod
    def from_dict(cls, data: Any) -> 'Genotype':
        """Validate a genotype given as plain data and convert it."""
        if not isinstance(data, Mapping):
            _fail('<root>', f'expected a mapping, got {type(data).__name__}')
        nodes = data.get('nodes', 4)
        if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
            _fail('nodes', f'expected a positive integer, got {nodes!r}')
        cells = {}
        for group, names in (('encoder', ENCODER_CELLS), ('decoder',
                                                          DECODER_CELLS)):
            section = data.get(group)
            if not isinstance(section, Mapping):
                _fail(
                    group, f'missing or not a mapping; expected the cells '
                    f'{", ".join(names)}')
            unknown = set(section) - set(names)
            if unknown:
                _fail(
                    group, f'unknown cells {sorted(unknown)}; allowed '
                    f'cells: {", ".join(names)}')
            for name in names:
                if name not in section:
                    _fail(
                        f'{group}.{name}', f'missing cell; {group} needs '
                        f'the cells {", ".join(names)}')
                cells[name] = CellGenotype.from_dict(section[name], nodes,
                                                     f'{group}.{name}')
        layout = None
        if 'network' in data:
            network = data['network']
            if not isinstance(network, Mapping) or set(network) != {
                    'cells_per_scale'
            }:
                _fail('network', 'expected {"cells_per_scale": [n1, n2, n3, '
                      'n4]}')
            layout = network['cells_per_scale']
            if (not isinstance(layout, Sequence) or len(layout) != 4 or any(
                    isinstance(n, bool) or not isinstance(n, int) or n < 1
                    for n in layout)):
                _fail(
                    'network.cells_per_scale', f'expected 4 positive '
                    f'integers (cells at 1/4, 1/8, 1/16, 1/32), got '
                    f'{layout!r}')
            layout = tuple(layout)
        extra = {
            k: v
            for k, v in data.items()
            if k not in ('name', 'nodes', 'encoder', 'decoder', 'network')
        }
        return cls(cells, nodes, str(data.get('name', '')), extra, layout)

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = dict(name=self.name, nodes=self.nodes)
        out.update(self.extra)
        if self.cells_per_scale is not None:
            out['network'] = dict(cells_per_scale=list(self.cells_per_scale))
        out['encoder'] = {n: self.cells[n].to_dict() for n in ENCODER_CELLS}
        out['decoder'] = {n: self.cells[n].to_dict() for n in DECODER_CELLS}
        return out

    @classmethod
    def load(cls, path: str) -> 'Genotype':
        """Read a genotype from a ``.json``, ``.yaml`` or ``.yml`` file."""
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'genotype file {path!r} does not exist; pass a JSON/YAML '
                f'genotype file, a dict, or "published"')
        with open(path) as f:
            text = f.read()
        try:
            if path.endswith(('.yaml', '.yml')):
                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(
                f'genotype file {path!r} is not valid JSON: {e.msg} (line '
                f'{e.lineno}, column {e.colno})') from None
        except yaml.YAMLError as e:
            mark = getattr(e, 'problem_mark', None)
            at = (f' (line {mark.line + 1}, column {mark.column + 1})'
                  if mark is not None else '')
            raise ValueError(
                f'genotype file {path!r} is not valid YAML: '
                f'{getattr(e, "problem", None) or e}{at}') from None
        try:
            return cls.from_dict(data)
        except ValueError as e:
            raise ValueError(f'{path}: {e}') from None

    def dump(self, path: str) -> None:
        """Write the genotype atomically as JSON or YAML (by extension)."""
        data = self.to_dict()
        if path.endswith(('.yaml', '.yml')):
            text = yaml.safe_dump(data, sort_keys=False)
        else:
            text = _compact_json(data)
        atomic_write_text(path, text)


def _compact_json(data: Dict[str, Any]) -> str:
    """JSON with one line per node: ``[["std_conv_3x3", 1], ...]``."""
    text = json.dumps(data, indent=2)
    # [\n "op",\n 1\n] -> ["op", 1]
    text = re.sub(r'\[\s+("[a-z0-9_]+"),\s+(\d+)\s+\]', r'[\1, \2]', text)
    # a node's edge list on one line
    text = re.sub(r'\[\s+(\["[^\]]+\](?:,\s+\["[^\]]+\])*)\s+\]',
                  lambda m: '[' + re.sub(r',\s+', ', ', m.group(1)) + ']',
                  text)
    # short lists of numbers (concat) on one line
    return re.sub(r'\[\s+(\d+(?:,\s+\d+)*)\s+\]',
                  lambda m: '[' + re.sub(r',\s+', ', ', m.group(1)) + ']',
                  text)


GenotypeLike = Union[str, Mapping, Genotype]


def load_genotype(genotype: Optional[GenotypeLike] = 'published') -> Genotype:
    """Turn a path, a dict, ``'published'`` or a :class:`Genotype` into a
    validated :class:`Genotype`."""
    if genotype is None or genotype == 'published':
        return Genotype.load(PUBLISHED_GENOTYPE)
    if isinstance(genotype, Genotype):
        return genotype
    if isinstance(genotype, str):
        return Genotype.load(genotype)
    if isinstance(genotype, Mapping):
        return Genotype.from_dict(dict(genotype))
    raise TypeError(f'genotype must be a path, a dict or a Genotype, got '
                    f'{type(genotype).__name__}')


__all__: List[str] = [
    'CellGenotype', 'Genotype', 'load_genotype', 'ENCODER_CELLS',
    'DECODER_CELLS', 'CELL_TYPES', 'PUBLISHED_GENOTYPE'
]
