"""The cell search space as Optuna parameters.

A genotype is a set of categorical choices, one family per cell type and
node: which two earlier states the node reads (``<cell>.n<k>.inputs``, a
pair such as ``"0-2"``) and which operation each chosen input passes
through (``<cell>.n<k>.op<i>``, defined per input because the operations
allowed on an edge depend on its stride). A trial suggests only the
operations of the inputs it chose, so a sampler sees the space as Optuna's
conditional parameters, and :func:`genotype_params` turns any genotype back
into the parameters that name it (to enqueue a known genotype as a trial).
"""
from itertools import combinations
from typing import Dict, Mapping, Sequence, Tuple

from ...models.genotype import CELL_TYPES, CellGenotype, Genotype
from ...models.operations import OPERATION_NAMES
from ..space.sampling import edge_candidates


def _inputs_key(cell: str, node: int) -> str:
    return f'{cell}.n{node}.inputs'


def _op_key(cell: str, node: int, source: int) -> str:
    return f'{cell}.n{node}.op{source}'


def input_pairs(node: int) -> Tuple[str, ...]:
    """The choices of node ``node``'s two distinct inputs, as ``"i-j"``."""
    return tuple(f'{i}-{j}' for i, j in combinations(range(2 + node), 2))


def suggest_genotype(trial,
                     nodes: int = 4,
                     candidates: Sequence[str] = OPERATION_NAMES,
                     name: str = 'trial') -> Genotype:
    """Let ``trial`` choose a genotype of the cell search space.

    Args:
        trial (optuna.trial.Trial): The trial that suggests the choices.
        nodes (int): Intermediate nodes per cell. Defaults to 4.
        candidates (Sequence[str]): The space's operations (``none`` is
            never chosen). Defaults to every registered operation.
        name (str): The genotype's name.

    Returns:
        Genotype: Shaped as a derived genotype (two inputs per node, all
        nodes concatenated), validated.
    """
    cells = {}
    for cell in CELL_TYPES:
        edges = []
        for k in range(nodes):
            pair = trial.suggest_categorical(
                _inputs_key(cell, k), input_pairs(k))
            node = []
            for src in (int(s) for s in pair.split('-')):
                op = trial.suggest_categorical(
                    _op_key(cell, k, src),
                    edge_candidates(cell, src, candidates))
                node.append((op, src))
            edges.append(tuple(node))
        cells[cell] = CellGenotype(tuple(edges), tuple(range(2, 2 + nodes)))
    return Genotype.from_dict(Genotype(cells, nodes, name).to_dict())


def genotype_params(genotype: Genotype) -> Dict[str, str]:
    """The parameters under which :func:`suggest_genotype` gives back
    ``genotype``.

    Raises:
        ValueError: When the genotype is not shaped as the space's (a node
            without exactly two distinct inputs).
    """
    params: Dict[str, str] = {}
    for cell, cg in genotype.cells.items():
        for k, node in enumerate(cg.edges):
            sources = [src for _, src in node]
            if len(node) != 2 or len(set(sources)) != 2:
                raise ValueError(
                    f'genotype {genotype.name!r}: {cell} node {k} reads '
                    f'{sources}; the study space needs two distinct inputs '
                    f'per node')
            ordered = sorted(node, key=lambda e: e[1])
            params[_inputs_key(cell,
                               k)] = '-'.join(str(src) for _, src in ordered)
            for op, src in ordered:
                params[_op_key(cell, k, src)] = op
    return params


def genotype_from_params(params: Mapping[str, str],
                         nodes: int = 4,
                         name: str = 'trial') -> Genotype:
    """The genotype a finished trial's ``params`` name (the inverse of
    :func:`genotype_params`)."""
    cells = {}
    for cell in CELL_TYPES:
        edges = []
        for k in range(nodes):
            pair = params[_inputs_key(cell, k)]
            edges.append(
                tuple((params[_op_key(cell, k, int(s))], int(s))
                      for s in pair.split('-')))
        cells[cell] = CellGenotype(tuple(edges), tuple(range(2, 2 + nodes)))
    return Genotype.from_dict(Genotype(cells, nodes, name).to_dict())
