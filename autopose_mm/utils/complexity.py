"""Parameter and multiply-accumulate counts of convolution and linear layers.

The published AutoPose tables count "GFLOPs" as multiply-accumulates of the
convolution and linear layers only (batch 1); :func:`count_macs` counts the
same way.
"""
from typing import Sequence

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(module: nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


def count_macs(module: nn.Module,
               input_shape: Sequence[int],
               device: str = 'cpu') -> int:
    """Multiply-accumulates of the conv and linear layers for one input.

    Counted by torch's ``FlopCounterMode`` on one forward pass, so
    functional convolutions (as in the supernet's fused mixed operations)
    count as well; element-wise operations, pooling and normalisation do not.

    Args:
        module (nn.Module): A network called as ``module(x)``, or an MMPose
            estimator, whose tensor forward (``_forward``) is used.
        input_shape (Sequence[int]): ``(C, H, W)`` of one image.
        device (str): Where to run the counting pass.

    Returns:
        int: Multiply-accumulates for a batch of one.
    """
    counted = {
        torch.ops.aten.convolution, torch.ops.aten._convolution,
        torch.ops.aten.mm, torch.ops.aten.addmm, torch.ops.aten.bmm
    }
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            forward = getattr(module, '_forward', module)
            forward(torch.zeros(1, *input_shape, device=device))
    finally:
        module.train(was_training)
    flops = sum(v for op, v in counter.get_flop_counts()['Global'].items()
                if op in counted)
    return flops // 2
