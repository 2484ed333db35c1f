import pytest
import torch
from mmpose.models.backbones.utils import channel_shuffle

from autopose_mm.models import OPERATION_NAMES, CellGenotype
from autopose_mm.search import AutoPoseSearchDecoder, AutoPoseSearchNet
from autopose_mm.search.space import (
    ArchParams,
    MixedEdges,
    derive_genotype,
    sample_cell,
)


@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('k', [1, 4])
def test_fused_edges_equal_separate_mixed_ops(stride, k):
    torch.manual_seed(0)
    bank = MixedEdges(16, stride, 3, OPERATION_NAMES, k).train()
    x = torch.randn(2, 16, 9, 7)
    w = torch.softmax(torch.randn(3, len(OPERATION_NAMES)), -1)
    mixed, rest = bank(x, w)
    for i in range(3):
        reference = bank.edge_op(i).train()(x, w[i])
        ours = mixed[:, i]
        if k > 1:
            ours = channel_shuffle(torch.cat([ours, rest], 1), k)
        assert reference.shape == (2, 16, 5 if stride == 2 else 9,
                                   4 if stride == 2 else 7)
        assert torch.allclose(ours, reference, atol=1e-5)


def test_se_connect_is_masked_on_stride_two_edges():
    arch = ArchParams(('normal', 'reduce'))
    se = OPERATION_NAMES.index('se_connect')
    reduce_w = arch.op_weights('reduce')
    assert torch.all(reduce_w[[0, 1, 2, 3, 5, 6, 9, 10], se] == 0)
    assert torch.all(reduce_w[[4, 7, 8, 11, 12, 13], se] > 0)
    assert torch.all(arch.op_weights('normal')[:, se] > 0)
    assert torch.allclose(reduce_w.sum(-1), torch.ones(14))


def test_derive_picks_strongest_non_none_edges():
    arch = ArchParams(('normal', ))
    ops = list(OPERATION_NAMES)
    with torch.no_grad():
        arch.alphas['normal'].zero_()
        arch.betas['normal'].zero_()
        alphas = arch.alphas['normal']
        alphas[:, ops.index('none')] = 10.  # never chosen
        # node 1 reads states 0, 1, 2 (edges 2, 3, 4): prefer 2 and 0
        alphas[2, ops.index('dil_conv_3x3_4')] = 3.
        alphas[4, ops.index('se_connect')] = 4.
        alphas[3, ops.index('max_pool_3x3')] = 1.
    cell = arch.derive('normal')
    assert cell.edges[1] == (('dil_conv_3x3_4', 0), ('se_connect', 2))
    assert all(op != 'none' for node in cell.edges for op, _ in node)
    # edge weights count too: a strong beta outweighs a weaker op
    with torch.no_grad():
        arch.betas['normal'][3] = 5.
    assert arch.derive('normal').edges[1][0] == ('max_pool_3x3', 1)


def test_supernet_forward_backward_and_derived_genotype():
    backbone = AutoPoseSearchNet(arch=None, num_cells=4, base_channels=16)
    neck = AutoPoseSearchDecoder(backbone.out_channels)
    out = neck(backbone(torch.rand(2, 3, 64, 48)))
    assert out[0].shape == (2, 32, 16, 12)
    out[0].mean().backward()
    for arch in (backbone.arch_params, neck.arch_params):
        for p in arch.parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0
    genotype = derive_genotype([backbone.arch_params, neck.arch_params])
    assert set(genotype.cells) == {
        'normal', 'reduce', 'upsample_1_32_to_1_16', 'upsample_1_16_to_1_8',
        'upsample_1_8_to_1_4'
    }
    # the alphas are registered once, in their owners
    names = [n for n, _ in backbone.named_parameters() if 'alphas' in n]
    assert names == ['arch_params.alphas.normal', 'arch_params.alphas.reduce']


def test_bad_partial_channels_are_explained():
    with pytest.raises(ValueError, match='partial_channels=3 must divide'):
        AutoPoseSearchNet(
            arch=None, num_cells=4, base_channels=16, partial_channels=3)
    with pytest.raises(ValueError, match='candidates must include "none"'):
        ArchParams(('normal', ), candidates=('std_conv_3x3', ))


def _random_normal_cell():
    import numpy as np

    return sample_cell('normal', np.random.default_rng(0))


def test_fixed_cells_use_one_hot_weights():
    arch = ArchParams(('normal', 'reduce'))
    cell = _random_normal_cell()
    soft_ops, soft_edges = arch.mixing_weights('normal')
    with arch.fixed(dict(normal=cell)):
        ops, edges = arch.mixing_weights('normal')
        # reduce is not fixed: still the softmax
        assert torch.equal(
            arch.mixing_weights('reduce')[0], arch.op_weights('reduce'))
    assert ops.sum() == edges.sum() == 8  # two edges per node, one op each
    start = 0
    for k, node in enumerate(cell.edges):
        for op, src in node:
            assert ops[start + src, OPERATION_NAMES.index(op)] == 1
            assert edges[start + src] == 1
        start += 2 + k
    # outside the block the softmax is back
    assert torch.equal(arch.mixing_weights('normal')[0], soft_ops)
    assert torch.equal(arch.mixing_weights('normal')[1], soft_edges)


def test_fixed_refuses_cells_outside_the_space():
    arch = ArchParams(('reduce', ))
    edges = ((('se_connect', 0), ('std_conv_3x3', 1)), ) + tuple(
        (('std_conv_3x3', 0), ('std_conv_3x3', 1)) for _ in range(3))
    with pytest.raises(ValueError, match='se_connect.*not in this search'):
        with arch.fixed(dict(reduce=CellGenotype(edges, (2, 3, 4, 5)))):
            pass
    assert not arch._fixed  # nothing left behind


def test_supernet_under_fixed_cells_ignores_the_alphas():
    torch.manual_seed(0)
    backbone = AutoPoseSearchNet(
        arch=None, num_cells=4, base_channels=16).eval()
    x = torch.randn(1, 3, 64, 48)
    cells = dict(
        normal=_random_normal_cell(),
        reduce=backbone.arch_params.derive('reduce'))
    with backbone.arch_params.fixed(cells):
        before = backbone(x)[-1]
        with torch.no_grad():
            for p in backbone.arch_params.parameters():
                p.add_(torch.randn_like(p))
        after = backbone(x)[-1]
    assert torch.allclose(before, after)
    assert not torch.allclose(backbone(x)[-1], after)


def test_gumbel_sampling_picks_one_operation_per_edge():
    torch.manual_seed(0)
    arch = ArchParams(('normal', 'reduce'), gumbel_tau=1.0).train()
    ops, edges = arch.mixing_weights('reduce')
    assert torch.equal(ops.sum(-1), torch.ones(14))
    assert set(ops.unique().tolist()) == {0.0, 1.0}
    # never a masked operation (se_connect on a stride-2 edge)
    se = OPERATION_NAMES.index('se_connect')
    assert torch.all(ops[[0, 1, 2, 3, 5, 6, 9, 10], se] == 0)
    # the straight-through gradient reaches the alphas
    (ops * torch.randn_like(ops)).sum().backward()
    assert arch.alphas['reduce'].grad.abs().sum() > 0
    # draws differ; in eval mode the weights are the softmax again
    draws = {
        tuple(arch.mixing_weights('normal')[0].argmax(-1).tolist())
        for _ in range(5)
    }
    assert len(draws) > 1
    arch.eval()
    assert torch.equal(
        arch.mixing_weights('normal')[0], arch.op_weights('normal'))
    with pytest.raises(ValueError, match='gumbel_tau'):
        ArchParams(('normal', ), gumbel_tau=0.0)


def test_sampled_paths_are_derived_shaped_cells():
    torch.manual_seed(0)
    arch = ArchParams(('normal', 'reduce'), sample_paths=True).train()
    assert not any(p.requires_grad for p in arch.parameters())
    se = OPERATION_NAMES.index('se_connect')
    draws = set()
    for _ in range(5):
        weights = arch.cell_weights()
        for t, (ops, edges) in weights.items():
            assert ops.sum() == edges.sum() == 8  # 2 inputs, 1 op each
            assert set(ops.unique().tolist()) == {0.0, 1.0}
            assert ops[:, OPERATION_NAMES.index('none')].sum() == 0
        assert torch.all(weights['reduce'][0][[0, 1, 2, 3, 5, 6, 9, 10],
                                              se] == 0)
        draws.add(tuple(weights['normal'][0].argmax(-1).tolist()))
    assert len(draws) > 1
    cell = _random_normal_cell()
    with arch.fixed(dict(normal=cell)):
        assert torch.equal(arch.cell_weights()['normal'][0],
                           arch.one_hot('normal', cell)[0])
    arch.eval()  # outside training: the softmax, as without sampling
    assert torch.equal(arch.cell_weights()['normal'][0],
                       arch.op_weights('normal'))
    with pytest.raises(ValueError, match='only one'):
        ArchParams(('normal', ), gumbel_tau=1.0, sample_paths=True)


def test_set_cells_makes_derive_return_them():
    arch = ArchParams(('normal', 'reduce'), sample_paths=True)
    cell = _random_normal_cell()
    reduce = ArchParams(('reduce', )).derive('reduce')
    arch.set_cells(dict(normal=cell, reduce=reduce, other=cell))
    assert arch.derive('normal') == cell
    assert arch.derive('reduce') == reduce


def test_single_path_supernet_trains_the_weights_only():
    backbone = AutoPoseSearchNet(
        arch=None, num_cells=4, base_channels=16, sample_paths=True)
    neck = AutoPoseSearchDecoder(backbone.out_channels, sample_paths=True)
    neck(backbone(torch.rand(2, 3, 64, 48)))[0].mean().backward()
    assert all(p.grad is None for p in backbone.arch_params.parameters())
    grads = [
        p.grad for n, p in backbone.named_parameters()
        if 'arch_params' not in n
    ]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
