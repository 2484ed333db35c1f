"""Random architectures of the cell search space: the baseline a search has
to beat.

A random cell is drawn the way a derived cell is shaped: every node reads
two distinct earlier states, each through one operation drawn uniformly
from the candidates other than ``none`` that are defined at that edge's
stride (so ``se_connect`` never sits on the stride-2 edges of a reduction
cell). :func:`sample_genotypes_at_cost` keeps only the genotypes whose
derived network costs about as much as a given one, so that a comparison
with searched cells is one at equal cost.
"""
from typing import Callable, List, Optional, Sequence, Tuple, TypeVar

import numpy as np

from ...models.genotype import (
    CELL_TYPES,
    REDUCTION_CELLS,
    CellGenotype,
    Genotype,
    edge_stride,
)
from ...models.operations import OPERATION_NAMES, supports_stride

T = TypeVar('T')


def edge_candidates(
        cell_type: str,
        source: int,
        candidates: Sequence[str] = OPERATION_NAMES) -> Tuple[str, ...]:
    """The operations an edge from ``source`` may carry in a derived cell of
    ``cell_type``: the candidates other than ``none`` defined at its
    stride."""
    stride = edge_stride(cell_type in REDUCTION_CELLS, source)
    return tuple(op for op in candidates
                 if op != 'none' and supports_stride(op, stride))


def sample_cell(cell_type: str,
                rng: np.random.Generator,
                nodes: int = 4,
                candidates: Sequence[str] = OPERATION_NAMES,
                edges_per_node: int = 2) -> CellGenotype:
    """One random cell of ``cell_type``.

    Args:
        cell_type (str): One of :data:`CELL_TYPES`.
        rng (np.random.Generator): The source of randomness.
        nodes (int): Intermediate nodes. Defaults to 4.
        candidates (Sequence[str]): The search space's candidates.
        edges_per_node (int): Distinct inputs per node. Defaults to 2.

    Returns:
        CellGenotype: The cell, concatenating all its nodes.
    """
    edges = []
    for k in range(nodes):
        sources = sorted(
            rng.choice(2 + k, size=edges_per_node, replace=False).tolist())
        node = []
        for src in sources:
            ops = edge_candidates(cell_type, src, candidates)
            node.append((ops[int(rng.integers(len(ops)))], int(src)))
        edges.append(tuple(node))
    return CellGenotype(tuple(edges), tuple(range(2, 2 + nodes)))


def sample_genotype(rng: np.random.Generator,
                    nodes: int = 4,
                    candidates: Sequence[str] = OPERATION_NAMES,
                    name: str = 'random') -> Genotype:
    """A random genotype: every cell type drawn by :func:`sample_cell`."""
    cells = {t: sample_cell(t, rng, nodes, candidates) for t in CELL_TYPES}
    return Genotype.from_dict(Genotype(cells, nodes, name).to_dict())


def sample_genotypes_at_cost(count: int,
                             cost: Callable[[Genotype], float],
                             target: float,
                             tolerance: float = 0.1,
                             seed: int = 0,
                             nodes: int = 4,
                             candidates: Sequence[str] = OPERATION_NAMES,
                             max_draws: int = 100000) -> List[Genotype]:
    """``count`` random genotypes whose ``cost`` lies within
    ``target * (1 +- tolerance)``.

    Args:
        count (int): How many to return.
        cost (Callable): Cost of a genotype, e.g. its network's GMACs.
        target (float): The cost to match.
        tolerance (float): Relative width of the window. Defaults to 0.1.
        seed (int): Seed of the draws; the same seed gives the same list.
        nodes (int): Intermediate nodes per cell.
        candidates (Sequence[str]): The search space's candidates.
        max_draws (int): Draws to try before giving up.

    Returns:
        list[Genotype]: Named ``random-<i>``, with their cost in
        ``extra['cost']``.

    Raises:
        RuntimeError: When fewer than ``count`` of ``max_draws`` draws fall
            in the window.
    """
    return [
        Genotype(g.cells, nodes, f'random-{i}', dict(cost=c))
        for i, (g, c) in enumerate(
            draw_at_cost(
                count, lambda rng, i: sample_genotype(rng, nodes, candidates),
                cost, target, tolerance, seed, max_draws, 'genotypes'))
    ]


def draw_at_cost(count: int, draw: Callable[[np.random.Generator, int],
                                            T], cost: Callable[[T], float],
                 target: float, tolerance: float, seed: int, max_draws: int,
                 what: str) -> List[Tuple[T, float]]:
    """``count`` random draws whose ``cost`` lies within ``target * (1 +-
    tolerance)``, with their costs: ``draw(rng, i)`` makes a candidate that
    would be the ``i``-th kept, from one generator seeded with ``seed``, so
    the same seed gives the same list.

    Raises:
        RuntimeError: When fewer than ``count`` of ``max_draws`` draws fall
            in the window (naming ``what`` was drawn).
    """
    rng = np.random.default_rng(seed)
    low, high = target * (1 - tolerance), target * (1 + tolerance)
    out: List[Tuple[T, float]] = []
    for _ in range(max_draws):
        if len(out) == count:
            break
        item = draw(rng, len(out))
        c = float(cost(item))
        if low <= c <= high:
            out.append((item, c))
    if len(out) < count:
        raise RuntimeError(
            f'only {len(out)} of {max_draws} random {what} cost within '
            f'{low:.4g}..{high:.4g}; widen the tolerance ({tolerance}), '
            f'choose a target nearer the space\'s middle or lower the '
            f'count ({count})')
    return out


def genotype_pairs(genotype: Genotype) -> set:
    """The chosen ``(cell type, node, input, operation)`` of a genotype."""
    return {(t, k, src, op)
            for t, cell in genotype.cells.items()
            for k, node in enumerate(cell.edges)
            for op, src in node}


def pair_agreement(genotypes: Sequence[Genotype]) -> Optional[float]:
    """Mean pairwise Jaccard overlap of :func:`genotype_pairs`; 1 when all
    genotypes are equal, ``None`` for fewer than two."""
    sets = [genotype_pairs(g) for g in genotypes]
    scores = [
        len(a & b) / len(a | b) for i, a in enumerate(sets)
        for b in sets[i + 1:]
    ]
    return float(np.mean(scores)) if scores else None
