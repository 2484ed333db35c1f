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
import difflib
import json
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import yaml

from ..utils.io import atomic_write_text
from ..utils.limits import check_bounded, limit, read_structured
from .operations import OPERATION_SPECS

ENCODER_CELLS: Tuple[str, ...] = ('normal', 'reduce')
DECODER_CELLS: Tuple[str,
                     ...] = ('upsample_1_32_to_1_16', 'upsample_1_16_to_1_8',
                             'upsample_1_8_to_1_4')
CELL_TYPES: Tuple[str, ...] = ENCODER_CELLS + DECODER_CELLS
# the cell types that halve the resolution
REDUCTION_CELLS: Tuple[str, ...] = ('reduce', )
PUBLISHED_GENOTYPE = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'genotypes',
    'published.json')

# what a genotype file may hold at its top level: the network, and what a
# search records about how it found it
NETWORK_FIELDS: Tuple[str,
                      ...] = ('name', 'nodes', 'network', 'encoder', 'decoder')
RECORD_FIELDS: Tuple[str, ...] = ('about', 'epoch', 'cost', 'budgets')

Edge = Tuple[str, int]


def edge_stride(reduction: bool, source: int) -> int:
    """The stride of a cell's edge: 2 on the edges of a reduction cell
    that read the cell's two inputs (states 0 and 1), else 1."""
    return 2 if reduction and source < 2 else 1


def _fail(where: str, problem: str) -> None:
    raise ValueError(f'genotype field {where!r}: {problem}')


def nearest(key: Any, known: Iterable[str]) -> str:
    """``'; did you mean 'x'?'`` for the known key closest to ``key``
    (ignoring case), or ``''``."""
    known = list(known)
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(
        str(key).lower(), list(lowered), n=1, cutoff=0.6)
    return f'; did you mean {lowered[close[0]]!r}?' if close else ''


def _refuse_unknown(where: str, data: Mapping, known: Sequence[str],
                    what: str) -> None:
    for key in data:
        if key not in known:
            _fail(
                f'{where}.{key}' if where != '<root>' else str(key),
                f'unknown {what}{nearest(key, known)} (allowed: '
                f'{", ".join(known)})')


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
    def from_dict(cls,
                  data: Any,
                  nodes: int,
                  where: str,
                  reduction: bool = False) -> 'CellGenotype':
        """Validate and convert ``{'edges': ..., 'concat': ...}``.

        Args:
            data: The cell as plain data.
            nodes (int): Intermediate nodes the cell must have.
            where (str): The cell's field, for messages.
            reduction (bool): A reduction cell, whose edges from its two
                inputs run at stride 2 (an operation must be defined there).
        """
        if not isinstance(data, Mapping):
            _fail(
                where, f'expected a mapping with "edges" and "concat", got '
                f'{type(data).__name__}')
        _refuse_unknown(where, data, ('edges', 'concat'), 'key')
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
                if not isinstance(op, str) or op not in OPERATION_SPECS:
                    hint = nearest(op, OPERATION_SPECS) if isinstance(
                        op, str) else ''
                    _fail(
                        edge_where, f'unknown operation {op!r}{hint} '
                        f'(allowed operations: {", ".join(OPERATION_SPECS)})')
                if isinstance(src, bool) or not isinstance(src, int) or \
                        not 0 <= src < 2 + k:
                    _fail(
                        edge_where, f'input {src!r} out of range; node '
                        f'{k} may read inputs 0..{1 + k}')
                stride = edge_stride(reduction, src)
                if stride not in OPERATION_SPECS[op].strides:
                    _fail(
                        edge_where, f'operation {op!r} is not defined at '
                        f'stride {stride}, which an edge from input {src} of '
                        f'a reduction cell has; strides of {op!r}: '
                        f'{list(OPERATION_SPECS[op].strides)}')
                node_edges.append((op, src))
            edges.append(tuple(node_edges))
        expected = list(range(2, 2 + nodes))
        concat = data.get('concat', expected)
        if not isinstance(concat, Sequence) or isinstance(concat, str):
            _fail(f'{where}.concat', f'expected the list {expected}, got '
                  f'{concat!r}')
        concat = list(concat)
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
        _refuse_unknown('<root>', data, NETWORK_FIELDS + RECORD_FIELDS,
                        'top-level field')
        name = data.get('name', '')
        if not isinstance(name, str) or len(name) > 256:
            _fail(
                'name', f'expected a string of at most 256 characters, '
                f'got {type(name).__name__}')
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
            _refuse_unknown(group, section, names, 'cell')
            for cell in names:
                if cell not in section:
                    _fail(
                        f'{group}.{cell}', f'missing cell; {group} needs '
                        f'the cells {", ".join(names)}')
                cells[cell] = CellGenotype.from_dict(
                    section[cell],
                    nodes,
                    f'{group}.{cell}',
                    reduction=cell == 'reduce')
        layout = None
        if 'network' in data:
            network = data['network']
            if not isinstance(network, Mapping):
                _fail('network', 'expected {"cells_per_scale": [n1, n2, n3, '
                      'n4]}')
            _refuse_unknown('network', network, ('cells_per_scale', ), 'key')
            if 'cells_per_scale' not in network:
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
        extra = {k: v for k, v in data.items() if k in RECORD_FIELDS}
        check_bounded(
            extra, 'genotype record fields '
            f'({", ".join(RECORD_FIELDS)})', limit('genotype_items'),
            limit('nesting'))
        return cls(cells, nodes, name, extra, layout)

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
        data = read_structured(
            path,
            'genotype file',
            limit('genotype_bytes'),
            limit('genotype_items'),
            bytes_limit='genotype_bytes')
        try:
            return cls.from_dict(data)
        except ValueError as e:
            raise ValueError(f'genotype file {path!r}: {e}') from None

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
    text = json.dumps(data, indent=2, allow_nan=False)
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
