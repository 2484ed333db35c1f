"""The whole-network study against random search: the picks at fixed
costs and the published layouts scaled to them (the tool end to end:
``test_study_tools.py``)."""
import os.path as osp

import pytest
from conftest import REPO, TINY_CFG
from mmengine.config import Config
from search_eval.networks import (
    REFERENCE_LAYOUTS,
    NetworkComparison,
    compare_networks,
    fixed_costs,
    network_method_spec,
    picks_at_costs,
    reference_networks,
)

from autopose_mm.search.networks import network_gmacs

TINY_NETWORK_STUDY = osp.join(REPO, 'tests', 'configs',
                              'tiny_network_study.py')


def plan(**kwargs):
    fields = dict(
        config=TINY_NETWORK_STUDY,
        final_config=TINY_CFG,
        work_dir='unused',
        seeds=1,
        first_seed=0,
        budget_epochs=2,
        train_seeds=1,
        train_seed=0,
        final_epochs=None,
        workers=1,
        costs=None,
        final_dir=None,
        metric=None,
        storage=None)
    fields.update(kwargs)
    return NetworkComparison(**fields)


def test_picks_are_the_most_accurate_under_each_cost():
    rows = [
        dict(cost=0.02, value=0.30),
        dict(cost=0.03, value=0.25),
        dict(cost=0.05, value=0.40),
        dict(cost=0.09, value=0.35),
    ]
    picks = picks_at_costs(rows, [0.01, 0.03, 0.06, 0.1])
    assert picks[0] is None
    assert picks[1] is rows[0]
    assert picks[2] is rows[2] and picks[3] is rows[2]


def test_fixed_costs_are_log_spaced_in_the_range_or_refused():
    costs = fixed_costs(plan(), [0.01, 0.1])
    assert costs == pytest.approx([0.01 * 10**f for f in (0.25, 0.5, 0.75)])
    assert fixed_costs(plan(costs=[0.05, 0.02]), [0.01, 0.1]) == [0.02, 0.05]
    with pytest.raises(ValueError, match='within the study\'s cost_range'):
        fixed_costs(plan(costs=[0.2]), [0.01, 0.1])


def test_references_are_the_published_layouts_at_the_widest_width_under():
    cost = network_gmacs(Config.fromfile(TINY_CFG))
    costs = [0.002, 0.01]
    refs = reference_networks(cost, costs)
    assert set(refs) == {
        f'{name}@{c:.4g}'
        for name in REFERENCE_LAYOUTS
        for c in costs
    }
    for key, (network, value) in refs.items():
        name, at = key.split('@')
        assert network.layout == REFERENCE_LAYOUTS[name]
        assert network.stages == 1 and network.width % 2 == 0
        assert value == pytest.approx(cost(network))
        assert value <= float(at)
        # the next width up costs more than the fixed cost
        wider = type(network)(network.genotype, network.width + 2, 1)
        assert cost(wider) > float(at)
    with pytest.raises(ValueError, match='narrowest width'):
        reference_networks(cost, [1e-6])


def test_the_judged_comparison_needs_the_study_and_random_search():
    with pytest.raises(ValueError, match='compare other samplers with'):
        compare_networks(plan(methods=('nsga2', 'random')))


def test_startup_trials_change_the_model_based_searches_only(tmp_path):
    fewer = plan(work_dir=str(tmp_path), startup_trials=4)
    study = network_method_spec(fewer, 'study', 1)
    assert study.startup_trials == 4 and study.name == 'study-startup4-1'
    nsga2 = network_method_spec(fewer, 'nsga2', 1)
    assert nsga2.name == 'nsga2-startup4-1'
    # random search stays the search it was, so that its runs are reused
    default = network_method_spec(plan(work_dir=str(tmp_path)), 'random', 1)
    random = network_method_spec(fewer, 'random', 1)
    assert random.name == default.name == 'random-1'
    assert random.startup_trials == default.startup_trials == 10
