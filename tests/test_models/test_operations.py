import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpose.models.backbones.utils import channel_shuffle
from torch import nn

from autopose_mm.models import (
    OPERATION_NAMES,
    OPERATION_SPECS,
    AutoPoseDecoder,
    AutoPoseNet,
    FactorizedReduce,
    OpSpec,
    build_operation,
    load_genotype,
    register_operation,
)
from autopose_mm.models.operations import supports_stride
from autopose_mm.search import AutoPoseSearchDecoder, AutoPoseSearchNet
from autopose_mm.search.costs import analytic_macs
from autopose_mm.search.plots import op_color
from autopose_mm.search.space import (
    MixedEdges,
    derive_genotype,
    edge_candidates,
)
from autopose_mm.utils.complexity import count_macs


@pytest.mark.parametrize('name', OPERATION_NAMES)
@pytest.mark.parametrize('stride', [1, 2])
def test_operation_shapes(name, stride):
    if not supports_stride(name, stride):
        with pytest.raises(ValueError, match=f'{name}.*stride {stride}'):
            build_operation(name, 8, stride)
        return
    op = build_operation(name, 8, stride)
    x = torch.randn(2, 8, 12, 10)
    out = op(x)
    assert out.shape == (2, 8, 12 // stride, 10 // stride)
    if name == 'none':
        assert torch.count_nonzero(out) == 0
    elif name == 'skip_connect' and stride == 1:
        assert torch.equal(out, x)
    else:
        assert torch.count_nonzero(out) > 0
    out.sum().backward() if out.requires_grad else None


def test_odd_sizes_reduce_like_convolutions():
    x = torch.randn(1, 8, 13, 9)
    sizes = {
        build_operation(n, 8, 2)(x).shape[-2:]
        for n in OPERATION_NAMES if supports_stride(n, 2)
    }
    assert sizes == {torch.Size([7, 5])}


@pytest.mark.parametrize('size', [(12, 10), (13, 9)])
def test_factorized_reduce_equals_offset_strided_convs(size):
    """The definition: ReLU, 1x1 stride-2 convs of the input and of the
    input shifted by one pixel (zero-padded back), concatenated, BN."""
    torch.manual_seed(0)
    op = FactorizedReduce(6, 8)
    op.conv_2.bias = torch.nn.Parameter(torch.randn(4))  # as after BN fusion
    x = torch.randn(2, 6, *size, requires_grad=True)
    relu = F.relu(x)
    shifted = F.pad(relu[:, :, 1:, 1:], (0, 1, 0, 1))
    ref = op.bn(
        torch.cat([
            F.conv2d(relu, op.conv_1.weight, stride=2),
            F.conv2d(shifted, op.conv_2.weight, op.conv_2.bias, stride=2)
        ], 1))
    out = op(x)
    torch.testing.assert_close(out, ref)
    g = torch.randn_like(out)
    grads = torch.autograd.grad(out, [x, op.conv_1.weight], g)
    refs = torch.autograd.grad(ref, [x, op.conv_1.weight], g)
    for a, b in zip(grads, refs):
        torch.testing.assert_close(a, b)


def test_se_connect_gates_its_input():
    op = build_operation('se_connect', 4)
    x = torch.rand(1, 4, 6, 6) + 0.1
    ratio = op(x) / x
    # one gate in (0, 1) per channel, constant over space
    assert ratio.min() > 0 and ratio.max() < 1
    flat = ratio.flatten(2)
    assert torch.allclose(flat, flat[..., :1].expand_as(flat), atol=1e-6)


def test_unknown_operation_names_the_allowed_ones():
    with pytest.raises(ValueError, match='conv_5x5.*std_conv_3x3'):
        build_operation('conv_5x5', 8)


def test_norm_cfg_is_a_config_switch():
    op = build_operation(
        'std_conv_3x3', 8, norm_cfg=dict(type='GN', num_groups=2))
    assert isinstance(op.bn, torch.nn.GroupNorm)


def _sep_conv(c, s, conv_cfg, norm_cfg):
    """A depthwise-separable 3x3 convolution, the candidate added below."""
    from mmcv.cnn import build_norm_layer
    return torch.nn.Sequential(
        torch.nn.ReLU(), torch.nn.Conv2d(c, c, 3, s, 1, groups=c, bias=False),
        torch.nn.Conv2d(c, c, 1, bias=False),
        build_norm_layer(norm_cfg, c)[1])


@pytest.fixture
def sep_conv():
    """``sep_conv_3x3`` registered as a candidate operation (and taken out
    of the table again afterwards)."""
    spec = register_operation(
        OpSpec(
            'sep_conv_3x3',
            _sep_conv,
            color='#123456',
            count_macs=lambda c, h, w, s: h * w * c * (9 + c)))
    yield OPERATION_NAMES + (spec.name, )
    del OPERATION_SPECS[spec.name]


@pytest.mark.parametrize('spec, words', [
    (OpSpec('skip_connect', _sep_conv), 'already registered'),
    (OpSpec('odd', _sep_conv, kind='other'), 'kind must be one of'),
    (OpSpec('odd', _sep_conv, strides=(3, )), 'strides must be'),
    (OpSpec('odd', _sep_conv), 'needs'),
])
def test_register_operation_refuses_a_bad_spec(spec, words):
    with pytest.raises(ValueError, match=words):
        register_operation(spec)
    assert 'odd' not in OPERATION_SPECS


@pytest.mark.parametrize('stride', [1, 2])
def test_a_new_operation_is_searched_like_the_others(sep_conv, stride):
    torch.manual_seed(0)
    bank = MixedEdges(16, stride, 3, sep_conv, 2).train()
    assert set(bank.modules_of) == {'sep_conv_3x3'}
    x = torch.randn(2, 16, 9, 7)
    w = torch.softmax(torch.randn(3, len(sep_conv)), -1)
    mixed, rest = bank(x, w)
    for i in range(3):
        reference = bank.edge_op(i).train()(x, w[i])
        ours = channel_shuffle(torch.cat([mixed[:, i], rest], 1), 2)
        assert torch.allclose(ours, reference, atol=1e-5)


def test_a_new_operation_builds_counts_and_draws(sep_conv):
    genotype = load_genotype('published').to_dict()
    genotype['encoder']['normal']['edges'][0][0] = ['sep_conv_3x3', 1]
    genotype['encoder']['reduce']['edges'][0][0] = ['sep_conv_3x3', 1]
    genotype['decoder']['upsample_1_8_to_1_4']['edges'][1][0] = [
        'sep_conv_3x3', 1
    ]
    genotype['network'] = {'cells_per_scale': [1, 1, 1, 1]}
    backbone = AutoPoseNet(base_channels=16, genotype=genotype)
    neck = AutoPoseDecoder(backbone.out_channels, genotype=genotype)
    head = nn.Conv2d(32, 17, 1)

    class Net(nn.Module):

        def forward(self, x):
            return head(neck(backbone(x))[0])

    assert count_macs(Net(), (3, 64, 48)) == analytic_macs(
        load_genotype(genotype), (1, 1, 1, 1), 16, (64, 48))
    # random genotypes may draw it, at both strides
    assert 'sep_conv_3x3' in edge_candidates('reduce', 0, sep_conv)
    # the supernet mixes it and derives genotypes that may hold it
    net = AutoPoseSearchNet(
        candidates=sep_conv, arch=None, num_cells=4, base_channels=16)
    dec = AutoPoseSearchDecoder(net.out_channels, candidates=sep_conv)
    dec(net(torch.rand(1, 3, 64, 48)))[0].mean().backward()
    with torch.no_grad():
        net.arch_params.alphas['normal'][:, -1] = 5.
    derived = derive_genotype([net.arch_params, dec.arch_params])
    assert all(op == 'sep_conv_3x3' for node in derived.normal.edges
               for op, _ in node)
    assert op_color('sep_conv_3x3') == '#123456'
    assert np.isfinite(float(net.arch_params.alphas['normal'].grad.sum()))
