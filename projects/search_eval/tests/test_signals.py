"""Signals that rank candidates: their tau against the full training, the
zero-cost proxies, and the rung log a trial keeps."""
import os

import numpy as np
import pytest
from conftest import TINY_CFG
from mmengine.config import Config
from mmengine.registry import init_default_scope
from search_eval import zero_cost
from search_eval.signals import (
    pair_table,
    rung_signals,
    signal_table,
    supernet_signals,
    tau_interval,
)

from autopose_mm.search.space.sampling import sample_genotype


def test_signal_table_ranks_against_the_full_training():
    full = [0.1, 0.3, 0.2, 0.5, 0.4]
    candidates = [
        dict(
            full=f,
            signals=dict(
                same=dict(value=f * 2, seconds=1.),
                reverse=dict(value=-f, seconds=3.),
                constant=dict(value=1., seconds=0.))) for f in full
    ]
    table = signal_table(candidates)
    assert table['same']['tau'] == pytest.approx(1.)
    assert table['same']['interval'] == [pytest.approx(1.), pytest.approx(1.)]
    assert table['reverse']['tau'] == pytest.approx(-1.)
    assert table['reverse']['seconds'] == pytest.approx(3.)
    assert table['constant']['tau'] is None
    assert table['constant']['interval'] is None
    assert table['same']['n'] == 5
    # against another signal instead of the full training
    short = signal_table(candidates, reference='reverse')
    assert 'reverse' not in short
    assert short['same']['tau'] == pytest.approx(-1.)


def test_supernet_signals_need_a_single_path_search_config(tmp_path):
    with pytest.raises(ValueError, match='tiny_coco.py.*SinglePathSearchLoop'):
        supernet_signals(TINY_CFG, [], str(tmp_path), 0)
    assert not os.listdir(tmp_path)


def test_a_diverged_supernet_writes_no_scores(tmp_path, monkeypatch):
    from search_eval import signals
    path_search = os.path.join(
        os.path.dirname(TINY_CFG), 'tiny_path_search.py')
    monkeypatch.setattr(signals, 'run_search',
                        lambda *a: dict(model=None, score_batches=[]))
    monkeypatch.setattr(signals, 'score_genotype', lambda *a: float('nan'))
    genotype = sample_genotype(np.random.default_rng(0))
    with pytest.raises(FloatingPointError, match='tiny_path_search.py'):
        supernet_signals(path_search, [genotype], str(tmp_path), 0)
    assert not os.listdir(tmp_path)  # no supernet_e2/scores.json


def test_a_pair_of_signals_ranks_by_their_mean_rank():
    # the full result is the sum of a and b: each ranks it in part, their
    # mean rank exactly
    a = [0, 1, 2, 3, 4, 5, 6, 7]
    b = [7, 0, 6, 1, 5, 2, 4, 3]
    candidates = [
        dict(
            full=i + j,
            signals=dict(
                a=dict(value=i, seconds=1.),
                b=dict(value=j, seconds=2.),
                c=dict(value=-j, seconds=0.))) for i, j in zip(a, b)
    ]
    table = pair_table(candidates)
    single = signal_table(candidates)
    # two tests of one training cost the longer one
    for c in candidates:
        c['signals'] = {
            'metric@1': dict(value=c['full'], seconds=5.),
            'metric@2': dict(value=c['full'], seconds=9.)
        }
    assert pair_table(candidates)['metric@1+metric@2']['seconds'] == 9.
    assert set(table) == {'a+b', 'a+c', 'b+c'}
    assert table['a+b']['seconds'] == pytest.approx(3.)
    assert table['a+b']['tau'] == pytest.approx(1.)
    assert max(single['a']['tau'], single['b']['tau']) < 0.6
    assert table['b+c']['tau'] is None  # opposite ranks cancel


def test_tau_interval_holds_the_tau():
    x = [0.1, 0.5, 0.2, 0.9, 0.4, 0.3, 0.8, 0.7]
    y = [0.2, 0.4, 0.1, 0.8, 0.6, 0.3, 0.9, 0.5]
    lo, hi = tau_interval(x, y)
    assert -1 <= lo < 0.64 < hi <= 1  # tau of these pairs is 0.64


def test_rung_signals_from_a_rung_log():
    row = dict(
        rung_log={
            '1':
            dict(
                train_loss=0.5, train_seconds=2., metric=0.1, test_seconds=1.),
            '2':
            dict(
                train_loss=0.4, train_seconds=4., metric=0.2, test_seconds=1.5)
        })
    s = rung_signals(row)
    assert s['loss@2'] == dict(value=-0.4, seconds=4.)
    assert s['metric@1'] == dict(value=0.1, seconds=3.)
    assert s['metric@2'] == dict(value=0.2, seconds=5.5)


def test_zero_cost_proxies_on_the_tiny_network(sample_workspace):
    init_default_scope('mmpose')
    cfg = Config.fromfile(TINY_CFG)
    cwd = os.getcwd()
    os.chdir(sample_workspace)
    try:
        batches = zero_cost.train_batches(cfg, 2)
        again = zero_cost.train_batches(cfg, 2)
        with pytest.raises(ValueError, match='fewer than 99 batches'):
            zero_cost.train_batches(cfg, 99)
    finally:
        os.chdir(cwd)
    rng = np.random.default_rng(0)
    genotypes = [sample_genotype(rng) for _ in range(2)]
    scores = [zero_cost.proxies(cfg, g, batches) for g in genotypes]
    for s in scores:
        assert set(s) == {'params', 'synflow', 'zico'}
        for v in s.values():
            assert np.isfinite(v['value']) and v['seconds'] >= 0
    # the scores tell the two candidates apart
    assert scores[0]['synflow']['value'] != scores[1]['synflow']['value']
    assert scores[0]['zico']['value'] != scores[1]['zico']['value']
    # the same candidate, seed and batches score the same
    again = zero_cost.proxies(cfg, genotypes[0], again)
    for name in ('synflow', 'zico'):
        assert again[name]['value'] == pytest.approx(scores[0][name]['value'])
    with pytest.raises(ValueError, match='two or more batches'):
        zero_cost.zico(
            zero_cost.build_candidate(cfg, genotypes[0]), batches[:1])
