"""Fold BatchNorm into the preceding convolutions for inference."""
import torch
import torch.nn as nn

from ..models.operations import FactorizedReduce, ReLUConvBN


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d, start: int = 0) -> None:
    """Fold channels ``start .. start + conv.out_channels`` of ``bn`` into
    ``conv`` (which gains a bias)."""
    end = start + conv.out_channels
    scale = bn.running_var[start:end].add(bn.eps).rsqrt()
    shift = -bn.running_mean[start:end] * scale
    if bn.affine:
        scale = scale * bn.weight[start:end]
        shift = shift * bn.weight[start:end] + bn.bias[start:end]
    bias = conv.bias if conv.bias is not None else torch.zeros_like(shift)
    conv.weight.data.mul_(scale.view(-1, 1, 1, 1))
    conv.bias = nn.Parameter(bias * scale + shift)


@torch.no_grad()
def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """Fold every BN that directly follows a convolution into it, in place.

    Handles AutoPose's ``ReLUConvBN`` and ``FactorizedReduce`` (whose BN
    spans the outputs of its two convolutions) and conv-BN pairs inside
    ``nn.Sequential`` (the stem). BNs after pooling stay. Only for
    inference: the model must be in eval mode.

    Returns:
        nn.Module: ``model``, fused.
    """
    if model.training:
        raise RuntimeError('fuse_conv_bn is for inference: call .eval() '
                           'first')
    for module in list(model.modules()):
        if isinstance(module, ReLUConvBN) and isinstance(
                module.bn, nn.BatchNorm2d):
            _fold(module.conv, module.bn)
            module.bn = nn.Identity()
        elif isinstance(module, FactorizedReduce) and isinstance(
                module.bn, nn.BatchNorm2d):
            _fold(module.conv_1, module.bn)
            _fold(module.conv_2, module.bn, module.conv_1.out_channels)
            module.bn = nn.Identity()
        elif isinstance(module, nn.Sequential):
            children = list(module.named_children())
            for (_, a), (name, b) in zip(children, children[1:]):
                if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                    _fold(a, b)
                    setattr(module, name, nn.Identity())
    return model
