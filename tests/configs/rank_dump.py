"""A test-only hook that saves every rank's final model state."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS


@HOOKS.register_module()
class DumpRankStateHook(Hook):
    """Write ``rank_<r>.pth`` with the model's state dict after the run."""

    def after_run(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        torch.save(state, osp.join(runner.work_dir, f'rank_{get_rank()}.pth'))
