import pytest
import torch
from mmpose.models.backbones.utils import channel_shuffle

from autopose_mm.models import (OPERATION_NAMES, ArchParams,
                                AutoPoseSearchDecoder, AutoPoseSearchNet,
                                MixedEdges, derive_genotype)


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
        AutoPoseSearchNet(arch=None, num_cells=4, base_channels=16,
                          partial_channels=3)
    with pytest.raises(ValueError, match='candidates must include "none"'):
        ArchParams(('normal', ), candidates=('std_conv_3x3', ))
