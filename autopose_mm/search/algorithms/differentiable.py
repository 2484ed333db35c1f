"""The differentiable cell search (first-order DARTS / PC-DARTS): the
architecture weights step by gradient on held-out batches."""
from typing import Dict, List, Optional

import torch.nn as nn
from mmengine.dist import all_reduce
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmpose.registry import MODELS
from torch import Tensor

from .base import SearchEstimator


@MODELS.register_module()
class AutoPoseSearchEstimator(SearchEstimator):
    """The differentiable search model. Its steps:

    - :meth:`arch_step`: one first-order step of the architecture weights;
    - the weight step, MMEngine's ``train_step`` (through the runner's
      model wrapper, so that weight gradients are synchronised);
    - :meth:`search_step`: both, for one process (what the benchmark
      times); :class:`~autopose_mm.search.CellSearchLoop` schedules the same
      two steps.
    """

    def arch_step(self, data: dict,
                  optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One first-order step of the architecture weights on ``data``.

        Back-propagation computes the gradients of the architecture weights
        only (``backward(inputs=...)`` skips the weight gradients). This
        runs on the bare module, not through DDP, whose reducer expects
        gradients for every weight; the alpha gradients are averaged over
        the ranks here instead, so all ranks keep identical alphas.

        Returns:
            dict: The losses (log variables), prefixed ``arch_``.
        """
        params: List[nn.Parameter] = [
            p for group in optim_wrapper.optimizer.param_groups
            for p in group['params']
        ]
        self.zero_grad(set_to_none=True)
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self(**data, mode='loss')
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.backward(loss, inputs=params)
        for p in params:
            if p.grad is not None:
                all_reduce(p.grad, op='mean')
        optim_wrapper.step()
        optim_wrapper.zero_grad()
        return {f'arch_{k}': v for k, v in log_vars.items()}

    def search_step(self, data: dict, arch_data: Optional[dict],
                    optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """One search iteration in this process: the alpha step on
        ``arch_data`` (when given: after the warm-up) with
        ``optim_wrapper['arch']``, then the weight step on ``data`` with
        ``optim_wrapper['weights']``.

        Returns:
            dict: The log variables, those of the alpha step prefixed
            ``arch_``.
        """
        outputs = {}
        if arch_data is not None:
            outputs.update(self.arch_step(arch_data, optim_wrapper['arch']))
        self.zero_grad(set_to_none=True)  # the alpha step's leftovers
        outputs.update(
            self.train_step(data, optim_wrapper=optim_wrapper['weights']))
        return outputs
