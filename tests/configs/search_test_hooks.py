"""Test-only hooks for the search: kill a run mid-epoch, and save every
rank's final weights and derived genotype."""
import os
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS

from autopose_mm.search.space import arch_modules, derive_genotype


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """End the process abruptly inside an epoch, as a crash or kill would."""

    def __init__(self, epoch: int, batch_idx: int) -> None:
        self.epoch = epoch
        self.batch_idx = batch_idx

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if runner.epoch == self.epoch and batch_idx == self.batch_idx:
            os._exit(3)


@HOOKS.register_module()
class DumpRankSearchHook(Hook):
    """Write ``rank_<r>.pth``: the model state and the derived genotype."""

    def after_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        controller = getattr(model.backbone, 'controller', None)
        genotype = derive_genotype(
            arch_modules(model),
            cells_per_scale=controller.best()
            if controller else None).to_dict()
        torch.save(
            dict(state=state, genotype=genotype),
            osp.join(runner.work_dir, f'rank_{get_rank()}.pth'))
