"""The whole-network space and its study: bounds, the config of a
candidate, its analytic cost, the Optuna parameters, rungs compared
within cost buckets, and a study run with a stand-in training."""
import json
import os.path as osp

import numpy as np
import optuna
import pytest
import torch
from conftest import REPO, TINY_CFG, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from autopose_mm.search.costs import LatencyTable
from autopose_mm.search.networks import (
    Network,
    NetworkSpace,
    apply_network,
    network_gmacs,
    sample_network,
    sample_networks_at_cost,
)
from autopose_mm.search.study import network as network_module
from autopose_mm.search.study import open_study, run_worker, spec_from_config
from autopose_mm.search.study import rungs as rungs_module
from autopose_mm.search.study.engine import spec_record
from autopose_mm.search.study.front import (
    FRONT_ROUNDS,
    trial_rows,
    write_search,
)
from autopose_mm.search.study.network import (
    cost_bucket,
    keeps_in_bucket,
    network_params,
    suggest_network,
)
from autopose_mm.search.study.space import genotype_params
from autopose_mm.search.training import Training, _identity
from autopose_mm.utils.complexity import count_macs

TINY_NETWORK_STUDY = osp.join(REPO, 'tests', 'configs',
                              'tiny_network_study.py')
SPACE = dict(cells_per_scale=[[1, 2]] * 4, widths=[8, 16], stages=[1, 2])
TINY_LATENCY_STUDY = osp.join(REPO, 'tests', 'configs',
                              'tiny_latency_network_study.py')
State = optuna.trial.TrialState


@pytest.mark.parametrize(
    'bad, message',
    [(dict(cells_per_scale=[[1, 2]] * 3), 'each of the 4 scales'),
     (dict(cells_per_scale=[[0, 2]] * 4), r'1 <= min <= max'),
     (dict(widths=[9]), 'even base widths'),
     (dict(widths=[1024]), 'AUTOPOSE_MAX_CHANNELS'),
     (dict(cells_per_scale=[[1, 40]] * 4), 'AUTOPOSE_MAX_CELLS'),
     (dict(stages=[3]), 'subset of \\[1, 2\\]'),
     (dict(width=[8]), "did you mean 'widths'")])
def test_space_refuses_bad_bounds(bad, message):
    with pytest.raises(ValueError, match=message):
        NetworkSpace.from_dict(dict(SPACE, **bad))


@pytest.mark.parametrize('stages', [1, 2])
def test_a_network_builds_from_the_config_and_costs_what_it_counts(stages):
    init_default_scope('mmpose')
    cfg = Config.fromfile(TINY_CFG)
    rng = np.random.default_rng(stages)
    space = NetworkSpace.from_dict(dict(SPACE, stages=[stages]))
    cost = network_gmacs(cfg)
    for _ in range(2):
        network = sample_network(rng, space)
        model_cfg = apply_network(cfg, network).model
        model = MODELS.build(model_cfg).eval()
        assert model.backbone.base_channels == network.width
        assert model.neck.num_stages == stages
        assert type(model.head).__name__ == ('CPMHead'
                                             if stages == 2 else 'HeatmapHead')
        assert sum(network.layout) == len(model.backbone.cells.cells)
        w, h = cfg.codec['input_size']
        with torch.no_grad():
            out = model._forward(torch.zeros(1, 3, h, w))
        heatmaps = out[-1] if isinstance(out, (list, tuple)) else out
        assert heatmaps.shape[-2:] == (h // 4, w // 4)
        # the analytic cost is the counted one, refinement stage included
        assert cost(network) == pytest.approx(
            count_macs(model, (3, h, w)) / 1e9, rel=1e-9)


def test_networks_at_a_cost_fall_in_its_window():
    cfg = Config.fromfile(TINY_CFG)
    space = NetworkSpace.from_dict(SPACE)
    cost = network_gmacs(cfg)
    target = cost(sample_network(np.random.default_rng(0), space))
    nets = sample_networks_at_cost(4, space, cost, target, 0.2, seed=1)
    assert len(nets) == 4
    assert all(0.8 * target <= cost(n) <= 1.2 * target for n in nets)
    with pytest.raises(RuntimeError, match='random networks cost within'):
        sample_networks_at_cost(2, space, cost, 1e-9, 0.1, max_draws=20)


def test_network_parameters_round_trip():
    rng = np.random.default_rng(0)
    space = NetworkSpace.from_dict(SPACE)
    for i in range(10):
        network = sample_network(rng, space)
        params = dict(
            network_params(network), **genotype_params(network.genotype))
        back = suggest_network(optuna.trial.FixedTrial(params), space)
        assert (back.layout, back.width, back.stages) == \
            (network.layout, network.width, network.stages)
        assert back.genotype.cells_per_scale == network.layout
        assert Network.from_dict(back.to_dict()) == back


def test_cost_buckets_are_log_spaced():
    assert cost_bucket(1., 1., 100., 2) == 0
    assert cost_bucket(9.9, 1., 100., 2) == 0
    assert cost_bucket(10.1, 1., 100., 2) == 1
    assert cost_bucket(100., 1., 100., 2) == 1
    assert cost_bucket(0.5, 1., 100., 2) == 0  # clipped


def test_rungs_compare_trials_of_one_bucket_only():
    study = optuna.create_study(directions=['maximize', 'minimize'])
    for number, (bucket, value) in enumerate([(0, 0.9), (0, 0.5), (1, 0.1),
                                              (1, 0.2), (0, 0.7)]):
        study.add_trial(
            optuna.trial.create_trial(
                state=State.PRUNED,
                user_attrs=dict(bucket=bucket, rungs={'1': value})))
    # bucket 1 holds 0.1 and 0.2: 0.15 is in the better half of three
    # (one is kept), but not first
    assert not keeps_in_bucket(study, 99, 1, 1, 0.15, 2)
    assert keeps_in_bucket(study, 99, 1, 1, 0.3, 2)
    # bucket 0 holds 0.9, 0.5, 0.7: 0.8 is second of four, two are kept
    assert keeps_in_bucket(study, 99, 0, 1, 0.8, 2)
    assert not keeps_in_bucket(study, 99, 0, 1, 0.6, 2)
    # the first trial of a bucket at a rung goes on
    assert keeps_in_bucket(study, 99, 2, 1, 0.0, 2)
    assert keeps_in_bucket(study, 99, 0, 2, 0.0, 2)


def fake_rungs(cfg,
               genotype,
               work_dir,
               seed,
               rungs,
               report,
               metric=None,
               signal='train_loss',
               on_rung=None):
    # the metric grows with the width the config builds and the epochs
    width = cfg.model.backbone.base_channels
    for epochs in rungs:
        on_rung({str(epochs): dict(train_loss=1. / epochs)})
        report(epochs, width / 100 + 0.01 * epochs + seed % 7 * 1e-3)
    return dict(epochs=rungs[-1], seconds=0.)


def test_a_network_study_returns_metric_and_cost(tmp_path, monkeypatch):
    monkeypatch.setattr(rungs_module, 'train_rungs', fake_rungs)
    spec = spec_from_config(
        TINY_NETWORK_STUDY, str(tmp_path / 'study'), budget_epochs=24)
    run_worker(spec)
    study = open_study(spec, None, 2)
    assert study.directions == [
        optuna.study.StudyDirection.MAXIMIZE,
        optuna.study.StudyDirection.MINIMIZE
    ]
    trials = study.get_trials()
    done = [t for t in trials if t.state == State.COMPLETE]
    pruned = [t for t in trials if t.state == State.PRUNED]
    assert done and pruned
    for t in done:
        network = Network.from_dict(t.user_attrs['network'])
        assert t.values[1] == pytest.approx(t.user_attrs['cost'])
        assert t.values[0] == pytest.approx(t.user_attrs['rungs']['2'])
        assert t.params['network.width'] == network.width
        low, high = spec.cost_range
        assert low <= t.values[1] <= high
    # a pruned trial stopped at the first rung, behind the trials of its
    # bucket that reached it
    trained = [t for t in pruned if not t.user_attrs.get('outside')]
    assert all(t.user_attrs['epochs'] == 1 for t in trained)
    rows = trial_rows(study)
    assert {r['trial'] for r in rows} == {t.number for t in done}
    assert all('C=' in r['describe'] for r in rows)


@pytest.mark.parametrize(
    'settings, message',
    [(dict(cost_range=[]), r'needs study.cost_range=\[low, high\]'),
     (dict(cost_range=[2, 1]), 'needs study.cost_range'),
     (dict(targets=[1.0]), 'study.targets are for cells-only studies'),
     (dict(pruner='hyperband'), 'prunes by rungs within cost buckets'),
     (dict(enqueue=['published']), 'study.enqueue is for cells-only'),
     (dict(space=dict(SPACE, widths=[7])), 'even base widths')])
def test_a_network_study_refuses_bad_settings(tmp_path, settings, message):
    with pytest.raises(ValueError, match=message):
        spec_from_config(TINY_NETWORK_STUDY, str(tmp_path), **settings)


def test_latency_tables_must_cover_the_space(tmp_path):
    spec = spec_from_config(
        TINY_NETWORK_STUDY, str(tmp_path), latency_table='table.json')
    space = NetworkSpace.from_dict(spec.space)
    cfg = spec.trial_cfg()
    with pytest.raises(ValueError, match='predicts stage-1 networks'):
        network_module.network_cost_function(spec, space, cfg)
    one_stage = NetworkSpace.from_dict(dict(spec.space, stages=[1]))
    with pytest.raises(ValueError, match='give one table per width'):
        network_module.network_cost_function(spec, one_stage, cfg)
    spec.latency_table = {8: 'table.json'}
    with pytest.raises(ValueError, match=r'no table for width\(s\) \[16\]'):
        network_module.network_cost_function(spec, one_stage, cfg)
    # a table of another width and input size than the network's
    table = osp.join(REPO, 'tests', 'data', 'latency',
                     'onnxruntime_c32_256x192.json')
    spec.latency_table = {8: table}
    narrow = NetworkSpace.from_dict(dict(spec.space, stages=[1], widths=[8]))
    with pytest.raises(ValueError, match='was measured for'):
        network_module.network_cost_function(spec, narrow, cfg)


def test_a_latency_study_measures_its_front(tmp_path, monkeypatch):
    """A whole-network study over a latency range, its cost predicted by a
    table the tool built for its space at the deployed input size (96x72,
    the trials train at 64x48): the front's networks are measured on the
    table's runtime in interleaved rounds, beside the prediction."""
    table = str(tmp_path / 'table.json')
    args = ('--config', TINY_LATENCY_STUDY, '--runtime', 'eager', '--repeats',
            '2', '--rounds', '1', '--calibrate', '2', '--validate', '0',
            '--input-size', '96', '72', '--out', table)
    run_tool('analysis/latency_table.py', *args, cwd=REPO)
    monkeypatch.setattr(rungs_module, 'train_rungs', fake_rungs)
    # the table's input size is not the trial network's: refused, naming
    # the setting that says the study is deployed at it
    spec = spec_from_config(
        TINY_LATENCY_STUDY,
        str(tmp_path / 'refused'),
        budget_epochs=8,
        latency_table={8: table})
    with pytest.raises(ValueError, match=r'study\.deploy_input_size'):
        run_worker(spec)
    # a study without the setting keeps the record it had before it existed
    assert 'deploy_input_size' not in spec_record(spec, None, 2)
    spec = spec_from_config(
        TINY_LATENCY_STUDY,
        str(tmp_path / 'study'),
        budget_epochs=8,
        latency_table={8: table},
        deploy_input_size=(96, 72))
    run_worker(spec)
    write_search(spec)
    with open(osp.join(spec.work_dir, 'pareto.json')) as f:
        report = json.load(f)
    front = report['front']
    assert front
    assert report['studies'][0]['spec']['deploy_input_size'] == [96, 72]
    tables = LatencyTable.load(table)
    assert tables.setting['input_size'] == [96, 72]
    for row in front:
        network = Network.from_dict(row['network'])
        assert row['cost'] == pytest.approx(tables.predict(network.genotype))
        assert len(row['measured_ms_rounds']) == FRONT_ROUNDS
        assert row['measured_ms'] == pytest.approx(
            min(row['measured_ms_rounds']))
        assert row['measured_ms'] > 0
        assert row['predicted_over_measured'] == pytest.approx(
            row['cost'] / row['measured_ms'])


def test_the_deployed_input_size_is_checked():
    for bad in ([256], [256, 0], '256x192', [256.0, 192], [True, 192]):
        with pytest.raises(ValueError, match=r'deploy_input_size must be'):
            spec_from_config(
                TINY_LATENCY_STUDY,
                'unused',
                latency_table={8: 'table.json'},
                deploy_input_size=bad)
    with pytest.raises(ValueError, match=r'give study\.latency_table'):
        spec_from_config(
            TINY_LATENCY_STUDY, 'unused', deploy_input_size=[256, 192])


def test_a_whole_network_training_has_its_own_identity():
    g = sample_network(
        np.random.default_rng(0), NetworkSpace.from_dict(SPACE)).genotype
    plain = _identity('cfg', Training('a', g, 0))
    assert _identity('cfg', Training('a', g, 0, width=8, stages=1)) != plain
    assert _identity('cfg', Training('a', g, 0, width=8, stages=2)) != \
        _identity('cfg', Training('a', g, 0, width=8, stages=1))
