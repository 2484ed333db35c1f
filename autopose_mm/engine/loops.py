"""The differentiable cell search as an MMEngine training loop."""
import copy
import random
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.dist import all_reduce
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from mmpose.registry import DATASETS, LOOPS
from torch.utils.data import DataLoader


def split_in_halves(dataset: BaseDataset):
    """Split a dataset deterministically: first half, second half.

    Consecutive samples mostly come from the same image, so contiguous
    halves keep the two sets' images apart.
    """
    n = len(dataset)
    if n < 2:
        raise ValueError(f'the search needs at least 2 training samples to '
                         f'split between weights and alphas, got {n}')
    half = n // 2
    return (dataset.get_subset(list(range(half))),
            dataset.get_subset(list(range(half, n))))


@LOOPS.register_module()
class CellSearchLoop(EpochBasedTrainLoop):
    """First-order alternating optimisation of weights and alphas.

    The training set is split in two halves: the network weights train on
    the first, the architecture weights (alphas and betas) on the second.
    For the first ``warmup_epochs`` epochs only the weights train; after
    that every iteration makes one alpha step (on a batch of the second
    half, with the ``arch`` optimiser) and one weight step (on a batch of the
    first half, with the ``weights`` optimiser). Both optimisers come from
    :class:`~autopose_mm.engine.SearchOptimWrapperConstructor`.

    Each epoch starts from random states seeded by ``seed + epoch``, so an
    epoch repeated after ``--resume`` replays exactly.

    Args:
        runner (Runner): The runner.
        dataloader (dict): The train dataloader config; its dataset is built
            once and split.
        max_epochs (int): Total epochs.
        warmup_epochs (int): Epochs that train the weights only.
        val_begin (int): Epoch that begins validating. Defaults to 1.
        val_interval (int): Validation interval. Defaults to 1.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[Dict, DataLoader],
                 max_epochs: int,
                 warmup_epochs: int = 0,
                 val_begin: int = 1,
                 val_interval: int = 1,
                 dynamic_intervals: Optional[Sequence] = None) -> None:
        if not isinstance(dataloader, dict):
            raise TypeError('CellSearchLoop needs the train dataloader as a '
                            'config dict, to split its dataset')
        if not 0 <= warmup_epochs <= max_epochs:
            raise ValueError(f'warmup_epochs must be in 0..max_epochs '
                             f'({max_epochs}), got {warmup_epochs}')
        dataset_cfg = dataloader['dataset']
        dataset = DATASETS.build(dataset_cfg) if isinstance(
            dataset_cfg, dict) else dataset_cfg
        weight_set, arch_set = split_in_halves(dataset)
        cfg = {k: v for k, v in dataloader.items() if k != 'dataset'}
        super().__init__(runner, dict(copy.deepcopy(cfg), dataset=weight_set),
                         max_epochs, val_begin, val_interval,
                         dynamic_intervals)
        self.arch_dataloader = runner.build_dataloader(
            dict(copy.deepcopy(cfg), dataset=arch_set),
            seed=runner.seed,
            diff_rank_seed=runner._randomness_cfg.get('diff_rank_seed', False))
        self.warmup_epochs = warmup_epochs

    @property
    def searching(self) -> bool:
        """Whether the current epoch updates the alphas."""
        return self._epoch >= self.warmup_epochs

    def _reseed(self) -> None:
        if self.runner.seed is None:
            return
        seed = (self.runner.seed + self._epoch) % 2**31
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)

    def run_epoch(self) -> None:
        self._reseed()
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        arch_iter = None
        if self.searching:
            sampler = self.arch_dataloader.sampler
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(self._epoch)
            arch_iter = iter(self.arch_dataloader)
        for idx, data_batch in enumerate(self.dataloader):
            arch_batch = None
            if arch_iter is not None:
                try:
                    arch_batch = next(arch_iter)
                except StopIteration:  # the alpha half ran out first
                    arch_iter = iter(self.arch_dataloader)
                    arch_batch = next(arch_iter)
            self.run_iter(idx, data_batch, arch_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def _step(self, data_batch, optim_wrapper) -> Dict[str, torch.Tensor]:
        """One weight update: MMEngine's ``train_step`` (through DDP when
        distributed). Gradients left by the alpha step are cleared first."""
        self.runner.model.zero_grad(set_to_none=True)
        return self.runner.model.train_step(
            data_batch, optim_wrapper=optim_wrapper)

    def _arch_step(self, data_batch,
                   optim_wrapper) -> Dict[str, torch.Tensor]:
        """One alpha update (first order).

        Back-propagation computes the gradients of the architecture weights
        only (``backward(inputs=...)`` skips the weight gradients, about a
        sixth of a step). The forward bypasses DDP, whose reducer expects
        gradients for every weight; the alpha gradients are averaged over
        the ranks here instead, so all ranks keep identical alphas.
        """
        model = self.runner.model
        module = model.module if is_model_wrapper(model) else model
        params = [
            p for group in optim_wrapper.optimizer.param_groups
            for p in group['params']
        ]
        module.zero_grad(set_to_none=True)
        with optim_wrapper.optim_context(module):
            data = module.data_preprocessor(data_batch, True)
            losses = module._run_forward(data, mode='loss')
        loss, log_vars = module.parse_losses(losses)
        optim_wrapper.backward(loss, inputs=params)
        for p in params:
            all_reduce(p.grad, op='mean')
        optim_wrapper.step()
        optim_wrapper.zero_grad()
        return log_vars

    def run_iter(self, idx, data_batch, arch_batch=None) -> None:
        self.runner.call_hook(
            'before_train_iter', batch_idx=idx, data_batch=data_batch)
        wrappers = self.runner.optim_wrapper
        outputs = {}
        if arch_batch is not None:
            arch_out = self._arch_step(arch_batch, wrappers['arch'])
            outputs.update({f'arch_{k}': v for k, v in arch_out.items()})
        outputs.update(self._step(data_batch, wrappers['weights']))
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
        self._iter += 1
