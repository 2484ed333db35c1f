import pytest
import torch
import torch.nn.functional as F

from autopose_mm.models import (
    OPERATION_NAMES,
    FactorizedReduce,
    build_operation,
)
from autopose_mm.models.operations import supports_stride


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
