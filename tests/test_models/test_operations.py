import pytest
import torch

from autopose_mm.models import OPERATION_NAMES, build_operation
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
    sizes = {build_operation(n, 8, 2)(x).shape[-2:]
             for n in OPERATION_NAMES if supports_stride(n, 2)}
    assert sizes == {torch.Size([7, 5])}


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
    op = build_operation('std_conv_3x3', 8, norm_cfg=dict(type='GN',
                                                          num_groups=2))
    assert isinstance(op.bn, torch.nn.GroupNorm)
