import pytest
import torch

from autopose_mm.models import (
    AutoPoseNet,
    cells_to_reductions,
    default_reduction_indices,
    reductions_to_cells,
)
from autopose_mm.utils.complexity import count_macs, count_params

# docs/architecture.md's reference figures: encoder params (M) and GMACs at
# 256x192, 384x288 and 256x256.
ENCODER_FIGURES = {
    'L12-C32': (5.16, {
        (256, 192): 0.95,
        (384, 288): 2.14,
        (256, 256): 1.27
    }),
    'L18-C48': (14.94, {
        (256, 192): 2.98,
        (384, 288): 6.70,
        (256, 256): 3.97
    }),
    'L18-C64': (26.54, {
        (256, 192): 5.29,
        (384, 288): 11.90,
        (256, 256): 7.05
    }),
}


@pytest.mark.parametrize('arch', list(ENCODER_FIGURES))
def test_preset_shapes_and_fidelity(arch):
    net = AutoPoseNet(arch=arch)
    C = net.base_channels
    params, macs = ENCODER_FIGURES[arch]
    assert count_params(net) / 1e6 == pytest.approx(params, rel=0.01)
    for (h, w), gmacs in macs.items():
        assert count_macs(net, (3, h, w)) / 1e9 == pytest.approx(
            gmacs, rel=0.01)
    net.eval()
    for h, w in macs:
        with torch.no_grad():
            outs = net(torch.rand(1, 3, h, w))
        assert [tuple(o.shape) for o in outs
                ] == [(1, C * 2**(s + 1), h // 2**(s + 2), w // 2**(s + 2))
                      for s in range(4)]
    assert net.out_channels == (2 * C, 4 * C, 8 * C, 16 * C)


def test_free_sizes_and_default_rule():
    assert default_reduction_indices(12) == (3, 6, 9)
    assert default_reduction_indices(18) == (3, 8, 15)
    assert default_reduction_indices(10) == (2, 5, 8)  # 2, 3, 3, 2 cells
    assert default_reduction_indices(4) == (1, 2, 3)
    net = AutoPoseNet(arch=None, num_cells=6, base_channels=8)
    assert net.reduction_indices == (1, 3, 5)  # 1, 2, 2, 1 cells
    outs = net(torch.rand(2, 3, 64, 48))
    assert [o.shape[1] for o in outs] == [16, 32, 64, 128]
    custom = AutoPoseNet(
        num_cells=12, base_channels=16, reduction_indices=(2, 4, 10))
    assert custom.cells.tap_indices == (1, 3, 9, 11)
    # overriding L of a preset drops the preset's reduction positions
    assert AutoPoseNet(
        arch='L12-C32', num_cells=8,
        base_channels=8).reduction_indices == (2, 4, 6)


@pytest.mark.parametrize('layout', [(3, 5, 7, 3), (1, 1, 1, 1), (2, 4, 3, 1)])
def test_cells_per_scale_and_reductions_are_inverse(layout):
    reductions = cells_to_reductions(layout)
    assert len(reductions) == 3
    assert reductions_to_cells(sum(layout), reductions) == layout
    net = AutoPoseNet(arch='L18-C48')
    assert reductions_to_cells(net.num_cells,
                               net.reduction_indices) == (3, 5, 7, 3)


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='L14-C32'), "unknown AutoPoseNet arch 'L14-C32'.*L12-C32"),
    (dict(arch=None, num_cells=3, base_channels=8), 'num_cells.*>= 4, got 3'),
    (dict(base_channels=31), 'base_channels.*even.*got 31'),
    (dict(arch=None, num_cells=12), 'base_channels.*got None'),
    (dict(reduction_indices=(3, 3, 9)), 'reduction_indices.*at least one'),
    (dict(reduction_indices=(3, 6, 12)), r'1\.\.11.*\[3, 6, 12\]'),
    (dict(genotype={'encoder': {}}), "genotype field 'encoder.normal'"),
])
def test_bad_arguments_are_explained(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AutoPoseNet(**kwargs)


def test_genotype_from_path_and_norm_eval(tmp_path):
    from autopose_mm.models import load_genotype
    path = str(tmp_path / 'g.yaml')
    load_genotype('published').dump(path)
    net = AutoPoseNet(
        arch=None, num_cells=4, base_channels=8, genotype=path, norm_eval=True)
    net.train()
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)


@pytest.mark.parametrize('cell', ['normal', 'reduce'])
def test_fused_convolutions_equal_separate_ones(cell):
    import copy

    from autopose_mm.models import CellGraph, load_genotype
    torch.manual_seed(0)
    graph = CellGraph(
        getattr(load_genotype('published'), cell),
        8,
        reduction=cell == 'reduce')
    assert any(graph.fused)  # the published cells share inputs
    separate = copy.deepcopy(graph)
    separate.fused = [[] for _ in separate.fused]
    x0, x1 = torch.randn(2, 8, 6, 6), torch.randn(2, 8, 6, 6)
    a, b = graph(x0, x1), separate(x0, x1)
    assert torch.allclose(a, b, atol=1e-5)
    r = torch.randn_like(a)
    grads_a = torch.autograd.grad((a * r).sum(), list(graph.parameters()))
    grads_b = torch.autograd.grad((b * r).sum(), list(separate.parameters()))
    for ga, gb in zip(grads_a, grads_b):
        assert (ga - gb).abs().max() <= 1e-4 * gb.abs().max()
    for ba, bb in zip(graph.buffers(), separate.buffers()):
        assert torch.allclose(ba.float(), bb.float())


@pytest.mark.parametrize('training', [True, False])
def test_cell_stack_shares_projections_of_one_output(training):
    """A cell's output feeds the next two cells' projections; the stack runs
    them as one convolution and must equal running each cell on its own."""
    import copy

    torch.manual_seed(0)
    stack = AutoPoseNet(arch=None, num_cells=6, base_channels=8).cells
    # reductions at 1, 3, 5: not into the cell after a reduction
    assert [i for i, s in enumerate(stack.shares_next) if s] == [0, 2, 4]
    separate = copy.deepcopy(stack)
    stack.train(training)
    separate.train(training)
    s0, s1 = torch.randn(2, 16, 16, 12), torch.randn(2, 16, 16, 12)
    taps = stack(s0, s1)
    expected, x0, x1 = [], s0, s1
    for i, cell in enumerate(separate.cells):
        x0, x1 = x1, cell(x0, x1)
        if i in separate.tap_indices:
            expected.append(x1)
    r = [torch.randn_like(t) for t in taps]
    grads = torch.autograd.grad(
        sum((t * w).sum() for t, w in zip(taps, r)), list(stack.parameters()))
    ref_grads = torch.autograd.grad(
        sum((t * w).sum() for t, w in zip(expected, r)),
        list(separate.parameters()))
    for a, b in zip(taps, expected):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    for ga, gb in zip(grads, ref_grads):
        assert (ga - gb).abs().max() <= 1e-4 * gb.abs().max() + 1e-7
    for ba, bb in zip(stack.buffers(), separate.buffers()):
        torch.testing.assert_close(ba, bb)


def test_bn_fused_into_convs_gives_the_same_inference():
    from autopose_mm.deploy.fusion import fuse_conv_bn
    torch.manual_seed(0)
    net = AutoPoseNet(arch=None, num_cells=4, base_channels=8)
    net.train()
    net(torch.rand(4, 3, 64, 48))  # non-trivial running statistics
    net.eval()
    x = torch.rand(2, 3, 64, 48)
    with torch.no_grad():
        expected = net(x)
        fused = fuse_conv_bn(net)
        # only the BNs after pooling stay
        from autopose_mm.models import PoolBN
        pool_bns = {id(m.bn) for m in fused.modules() if isinstance(m, PoolBN)}
        assert all(
            id(m) in pool_bns for m in fused.modules()
            if isinstance(m, torch.nn.BatchNorm2d))
        for a, b in zip(fused(x), expected):
            assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)
