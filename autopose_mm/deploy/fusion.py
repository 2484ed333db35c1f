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


class StridedReduce(nn.Module):
    """A :class:`FactorizedReduce` with BN folded, as one convolution for
    inference: ReLU, then a 2x2 stride-2 convolution whose first output
    half reads only the top-left pixel of each 2x2 block (the even pixels)
    and the second half only the bottom-right one (the odd pixels). Same
    function, with one ReLU and one convolution instead of four strided
    slices, two ReLUs, two convolutions and a concatenation (the 2x2
    kernel has 4x the multiply-adds of the two 1x1 ones, which are small).

    Args:
        reduce (FactorizedReduce): The module to replace; its BN must be
            folded already.
    """

    def __init__(self, reduce: FactorizedReduce) -> None:
        super().__init__()
        conv_1, conv_2 = reduce.conv_1, reduce.conv_2
        half, cin = conv_1.out_channels, conv_1.in_channels
        self.conv = nn.Conv2d(cin, 2 * half, 2, stride=2)
        weight = torch.zeros(2 * half, cin, 2, 2)
        weight[:half, :, 0, 0] = conv_1.weight[:, :, 0, 0]
        weight[half:, :, 1, 1] = conv_2.weight[:, :, 0, 0]
        self.conv.weight.data.copy_(weight)
        bias = [
            c.bias if c.bias is not None else torch.zeros(half)
            for c in (conv_1, conv_2)
        ]
        self.conv.bias.data.copy_(torch.cat(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = torch.relu(x)
        if h % 2 or w % 2:  # the odd pixels past the edge are zeros
            x = nn.functional.pad(x, (0, w % 2, 0, h % 2))
        return self.conv(x)


@torch.no_grad()
def reduce_as_one_conv(model: nn.Module) -> nn.Module:
    """Replace every BN-folded :class:`FactorizedReduce` in ``model`` by a
    :class:`StridedReduce`, in place (inference only).

    Returns:
        nn.Module: ``model``.
    """
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, FactorizedReduce) and isinstance(
                    child.bn, nn.Identity):
                setattr(module, name, StridedReduce(child))
    return model
