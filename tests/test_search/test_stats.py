"""The statistics of the search-versus-random evaluation."""
import math

import pytest

from autopose_mm.search.stats import (
    history_movement,
    kendall_tau,
    max_over_uniform,
    normalized_entropy,
    rank_among,
    seed_std,
    summarize,
    welch_greater,
)


def test_summarize():
    s = summarize([1.0, 2.0, 3.0])
    assert s == dict(n=3, mean=2.0, std=1.0, best=3.0, worst=1.0)
    assert summarize([5.0])['std'] == 0.0
    with pytest.raises(ValueError):
        summarize([])


def test_welch_greater_against_a_hand_computation():
    a, b = [3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 2.0]
    # t = (4 - 2) / sqrt(1/3 + (2/3)/4) = 2.828..., Welch df = 3.86...
    p = welch_greater(a, b)
    assert 0.02 < p < 0.03
    assert welch_greater(b, a) == pytest.approx(1 - p)
    assert welch_greater([1.0], b) is None
    assert welch_greater([1.0, 1.0], [1.0, 1.0]) is None


def test_seed_std_pools_within_item_variances():
    # item 1: variance 1 (1 dof); item 2: values 2, 4, 6, variance 4
    # (2 dof); a single value adds nothing: sqrt((1 + 2 * 4) / 3)
    assert seed_std([[1.0, 1.0 + math.sqrt(2)], [2.0, 4.0, 6.0],
                     [9.0]]) == pytest.approx(math.sqrt((1 + 8) / 3))
    assert seed_std([[0.3, 0.3], [0.5, 0.5]]) == 0.0
    assert seed_std([[0.3], [0.5]]) is None


def test_kendall_tau():
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # one discordant pair of six: (5 - 1) / 6
    assert kendall_tau([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(4 / 6)
    assert kendall_tau([1, 2], [1, 2]) is None
    assert kendall_tau([1, 1, 1], [1, 2, 3]) is None
    with pytest.raises(ValueError):
        kendall_tau([1, 2, 3], [1, 2])


def test_rank_and_entropy():
    assert rank_among(0.5, [0.1, 0.6, 0.7]) == 3
    assert rank_among(0.9, [0.1, 0.6, 0.7]) == 1
    assert normalized_entropy([0.25] * 4) == pytest.approx(1.0)
    # masked (zero) entries do not count
    assert normalized_entropy([0.5, 0.5, 0.0]) == pytest.approx(1.0)
    assert normalized_entropy([1.0, 0.0]) == 0.0
    p = [0.7, 0.1, 0.1, 0.1]
    h = -(0.7 * math.log(0.7) + 0.3 * math.log(0.1)) / math.log(4)
    assert normalized_entropy(p) == pytest.approx(h)
    assert max_over_uniform(p) == pytest.approx(2.8)
    assert max_over_uniform([0.5, 0.5, 0.0]) == pytest.approx(1.0)


def test_history_movement():
    history = dict(epochs=[
        dict(
            epoch=1, cells=dict(normal=dict(alphas=[[0.5, 0.5], [0.5, 0.5]]))),
        dict(
            epoch=2,
            cells=dict(normal=dict(alphas=[[0.75, 0.25], [0.5, 0.5]]))),
    ])
    rows = history_movement(history)
    assert [r['epoch'] for r in rows] == [1, 2]
    assert rows[0]['cells']['normal']['entropy'] == pytest.approx(1.0)
    assert rows[1]['cells']['normal']['max_over_uniform'] == pytest.approx(
        (1.5 + 1.0) / 2)
    assert rows[1]['cells']['normal']['entropy'] < 1.0
