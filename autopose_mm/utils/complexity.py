"""Parameter and multiply-accumulate counts of convolution and linear layers.

The published AutoPose tables count "GFLOPs" as multiply-accumulates of the
convolution and linear layers only (batch 1); :func:`count_macs` counts the
same way, by running one forward pass with hooks.
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn


def count_params(module: nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


def count_macs(module: nn.Module,
               input_shape: Sequence[int],
               device: str = 'cpu') -> int:
    """Multiply-accumulates of the conv and linear layers for one input.

    Args:
        module (nn.Module): A network called as ``module(x)``, or an MMPose
            estimator, whose tensor forward (``_forward``) is used.
        input_shape (Sequence[int]): ``(C, H, W)`` of one image.
        device (str): Where to run the counting pass.

    Returns:
        int: Multiply-accumulates for a batch of one.
    """
    total = 0

    def conv_hook(m: nn.Conv2d, inputs: Tuple, output: torch.Tensor) -> None:
        nonlocal total
        per_out = (m.in_channels // m.groups) * m.kernel_size[0] * \
            m.kernel_size[1]
        total += output.numel() * per_out

    def linear_hook(m: nn.Linear, inputs: Tuple,
                    output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() * m.in_features

    handles = []
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            forward = getattr(module, '_forward', module)
            forward(torch.zeros(1, *input_shape, device=device))
    finally:
        for h in handles:
            h.remove()
        module.train(was_training)
    return total
