"""The spread of networks at one cost against the noise of training them:
the summary's figures, and the draw of whole networks or cells."""
import math

import numpy as np
import pytest
from conftest import TINY_CFG
from mmengine.config import Config
from search_eval.spread import SpreadPlan, _draw, spread_summary

from autopose_mm.search.networks import network_gmacs


def test_spread_summary_separates_networks_from_noise():
    per_network = {
        'a': [0.30, 0.32],
        'b': [0.40, 0.38],
        'c': [0.50, 0.52],
        'd': [0.20, 0.22],
    }
    s = spread_summary(per_network, seconds=7200.)
    means = [0.31, 0.39, 0.51, 0.21]
    assert s['networks'] == 4 and s['trainings'] == 8
    assert s['std_of_means'] == pytest.approx(np.std(means, ddof=1))
    assert s['range_of_means'] == pytest.approx(0.30)
    # each pair differs by 0.02: the pooled std is 0.02 / sqrt(2)
    assert s['training_noise'] == pytest.approx(0.02 / math.sqrt(2))
    assert s['spread_over_noise'] == pytest.approx(s['std_of_means'] /
                                                   s['training_noise'])
    # both trainings rank the four networks alike
    assert s['tau_between_trainings'] == pytest.approx(1.)
    assert s['tau_per_cpu_hour'] == pytest.approx(0.5)


def test_spread_summary_of_unrepeated_trainings_has_no_noise():
    s = spread_summary({'a': [0.3], 'b': [0.4], 'c': [0.5]}, seconds=10.)
    assert s['training_noise'] is None and s['spread_over_noise'] is None
    assert s['tau_between_trainings'] is None


@pytest.mark.parametrize('space', [None, 'whole'])
def test_the_draw_holds_networks_of_one_cost(space):
    cfg = Config.fromfile(TINY_CFG)
    whole = dict(cells_per_scale=[[1, 2]] * 4, widths=[8, 16], stages=[1])
    plan = SpreadPlan(
        'unused',
        'unused',
        space=whole if space else None,
        candidates=3,
        tolerance=0.3)
    target, networks = _draw(plan, cfg)
    cost = network_gmacs(cfg)
    assert len(networks) == 3
    assert all(0.7 * target <= cost(n) <= 1.3 * target for n in networks)
    if space is None:
        # cells only: the config's own layout and width
        assert len({(n.layout, n.width, n.stages) for n in networks}) == 1
