"""Random genotypes: valid, masked like the search, and at equal cost."""
import numpy as np
import pytest

from autopose_mm.models import CELL_TYPES, Genotype, load_genotype
from autopose_mm.search.costs import analytic_macs
from autopose_mm.search.space.sampling import (
    edge_candidates,
    pair_agreement,
    sample_cell,
    sample_genotype,
    sample_genotypes_at_cost,
)


def test_edge_candidates_follow_the_search_masks():
    # se_connect is not defined at stride 2: never on a reduce cell's inputs
    assert 'se_connect' not in edge_candidates('reduce', 0)
    assert 'se_connect' not in edge_candidates('reduce', 1)
    assert 'se_connect' in edge_candidates('reduce', 2)
    assert 'se_connect' in edge_candidates('normal', 0)
    for t in CELL_TYPES:
        assert 'none' not in edge_candidates(t, 0)
    assert len(edge_candidates('normal', 0)) == 8


def test_random_genotypes_are_valid_and_cover_the_space():
    rng = np.random.default_rng(0)
    seen = {t: set() for t in CELL_TYPES}
    for _ in range(60):
        g = sample_genotype(rng)
        # round trip through the validating loader
        assert Genotype.from_dict(g.to_dict()).cells == g.cells
        for t, cell in g.cells.items():
            assert cell.concat == (2, 3, 4, 5)
            for k, node in enumerate(cell.edges):
                sources = [src for _, src in node]
                assert len(set(sources)) == 2  # two distinct inputs
                assert all(0 <= s < 2 + k for s in sources)
                for op, src in node:
                    assert op in edge_candidates(t, src)
                    seen[t].add(op)
    # every allowed operation shows up in 60 draws
    assert seen['normal'] == set(edge_candidates('normal', 0))
    assert 'se_connect' in seen['reduce']  # allowed on node inputs


def test_sampling_is_reproducible():
    a = sample_cell('normal', np.random.default_rng(3))
    b = sample_cell('normal', np.random.default_rng(3))
    assert a == b


def test_cost_window_keeps_only_matching_genotypes():

    def cost(g):
        return analytic_macs(g, (2, 2, 1, 1), 16, (64, 48)) / 1e9

    target = cost(load_genotype('published'))
    picks = sample_genotypes_at_cost(5, cost, target, 0.1, seed=2)
    assert len(picks) == 5
    for g in picks:
        assert abs(cost(g) / target - 1) <= 0.1
        assert g.extra['cost'] == pytest.approx(cost(g))
    again = sample_genotypes_at_cost(5, cost, target, 0.1, seed=2)
    assert [g.cells for g in again] == [g.cells for g in picks]
    with pytest.raises(RuntimeError, match='widen the tolerance'):
        sample_genotypes_at_cost(2, cost, target * 100, 0.01, max_draws=50)


def test_pair_agreement():
    rng = np.random.default_rng(0)
    g = sample_genotype(rng)
    assert pair_agreement([g, g]) == 1.0
    assert pair_agreement([g]) is None
    other = sample_genotype(rng)
    assert 0.0 <= pair_agreement([g, other]) < 1.0
