import pytest
import torch
import torch.nn as nn

from autopose_mm.models import AutoPoseDecoder, AutoPoseNet, load_genotype
from autopose_mm.search import AutoPoseBiLevelSearchNet
from autopose_mm.search.costs import analytic_macs
from autopose_mm.search.space import LayoutController, LayoutSpace
from autopose_mm.utils.complexity import count_macs


def test_layout_space_enumerates_and_validates():
    space = LayoutSpace(12, max_cells=6)
    assert (3, 3, 3, 3) in space.layouts and (3, 5, 7, 3) not in space.layouts
    assert all(
        sum(lay) == 12 and min(lay) >= 1 and max(lay) <= 6
        for lay in space.layouts)
    assert len(LayoutSpace(12).layouts) == 165  # C(11, 3) compositions
    assert {sum(lay) for lay in LayoutSpace([4, 6]).layouts} == {4, 6}
    with pytest.raises(ValueError, match='at least one cell'):
        LayoutSpace(3)


def _train(controller, reward_fn, steps, lr=0.1):
    opt = torch.optim.Adam(controller.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        index = controller.sample(gen)
        controller.reinforce(index, reward_fn(controller.space.layouts[index]))
        opt.step()
        opt.zero_grad()


def test_controller_finds_the_peak_of_a_synthetic_reward():
    controller = LayoutController(LayoutSpace(12, max_cells=6))
    target = (2, 4, 5, 1)

    def reward(layout):
        return -sum(abs(a - b) for a, b in zip(layout, target)) / 10

    _train(controller, reward, steps=400)
    assert controller.best() == target
    assert controller.probs().max() > 0.5


def test_controller_meets_a_compute_budget():
    genotype = load_genotype('published')
    space = LayoutSpace(list(range(4, 13)), max_cells=4)

    def gmacs(layout):
        return analytic_macs(genotype, layout, 32, (256, 192)) / 1e9

    target = gmacs((3, 3, 3, 3)) / 2
    controller = LayoutController(space)
    _train(controller, lambda lay: -abs(gmacs(lay) / target - 1), steps=400)
    assert abs(gmacs(controller.best()) / target - 1) < 0.15


def test_layout_genotype_builds_with_exact_analytic_macs():
    genotype = load_genotype('published').to_dict()
    genotype['network'] = {'cells_per_scale': [1, 4, 2, 2]}
    backbone = AutoPoseNet(arch='L12-C32', base_channels=16, genotype=genotype)
    assert backbone.num_cells == 9
    assert backbone.reduction_indices == (1, 5, 7)
    neck = AutoPoseDecoder(backbone.out_channels, genotype=genotype)
    head = nn.Conv2d(32, 17, 1)

    class Net(nn.Module):

        def forward(self, x):
            return head(neck(backbone(x))[0])

    measured = count_macs(Net(), (3, 96, 72))
    analytic = analytic_macs(
        load_genotype(genotype), (1, 4, 2, 2), 16, (96, 72))
    assert measured == analytic
    with pytest.raises(ValueError, match='network.cells_per_scale'):
        genotype['network'] = {'cells_per_scale': [0, 4, 2, 2]}
        load_genotype(genotype)


def test_bilevel_supernet_shares_cells_across_layouts():
    backbone = AutoPoseBiLevelSearchNet(
        base_channels=16, num_cells=[4, 6], max_cells=3)
    assert backbone.space.max_per_scale == (3, 3, 3, 3)
    x = torch.rand(1, 3, 64, 48)
    for layout in [(1, 1, 1, 1), (3, 1, 1, 1), (1, 1, 1, 3), (2, 2, 1, 1)]:
        with backbone.use_layout(layout):
            outs = backbone(x)
        assert [o.shape[1] for o in outs] == [32, 64, 128, 256]
        assert [o.shape[-1] for o in outs] == [12, 6, 3, 2]
    backbone.zero_grad()
    with backbone.use_layout((1, 1, 1, 1)):
        backbone(x)[-1].mean().backward()
    used = backbone.cells[0][0].preprocess1.conv.weight.grad
    unused = backbone.cells[0][1].preprocess1.conv.weight.grad
    assert used is not None and unused is None
