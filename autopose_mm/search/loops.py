"""The searches as MMEngine training loops. A loop only pairs the data
loaders, seeds the epochs and schedules the steps that the search model
(:mod:`autopose_mm.search.algorithms`) defines; the single-path loop ends
with the selection stage (:mod:`autopose_mm.search.selection`)."""
import copy
import json
import os.path as osp
import random
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from mmpose.registry import DATASETS, LOOPS
from torch.utils.data import DataLoader

from ..utils.io import atomic_write_text
from .selection import check_rerank, select_cells


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
    that every ``arch_interval``-th iteration makes one alpha step (on a
    batch of the second half, with the ``arch`` optimiser), and every
    iteration one weight step (on a batch of the first half, with the
    ``weights`` optimiser): the model's
    :meth:`~autopose_mm.search.AutoPoseSearchEstimator.arch_step`, then its
    ``train_step`` through the runner's model wrapper. Both optimisers come
    from :class:`~autopose_mm.search.SearchOptimWrapperConstructor`.

    Each epoch starts from random states seeded by ``seed + epoch``, so an
    epoch repeated after ``--resume`` replays exactly.

    Args:
        runner (Runner): The runner.
        dataloader (dict): The train dataloader config; its dataset is built
            once and split.
        max_epochs (int): Total epochs.
        warmup_epochs (int): Epochs that train the weights only.
        arch_interval (int): Iterations per alpha step after the warm-up.
            Defaults to 1 (every iteration, the published setting); 2
            halves the alpha steps (and the bi-level search's controller
            steps, which come with them); docs/benchmarks.md measures
            what that saves.
        val_begin (int): Epoch that begins validating. Defaults to 1.
        val_interval (int): Validation interval. Defaults to 1.
    """

    model_type = 'AutoPoseSearchEstimator'
    model_needs = 'arch_step'

    def __init__(self,
                 runner,
                 dataloader: Union[Dict, DataLoader],
                 max_epochs: int,
                 warmup_epochs: int = 0,
                 arch_interval: int = 1,
                 val_begin: int = 1,
                 val_interval: int = 1,
                 dynamic_intervals: Optional[Sequence] = None) -> None:
        if not isinstance(dataloader, dict):
            raise TypeError('CellSearchLoop needs the train dataloader as a '
                            'config dict, to split its dataset')
        module = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not hasattr(module, self.model_needs):
            raise TypeError(f'{type(self).__name__} needs a search model: set '
                            f"model.type='{self.model_type}' (got "
                            f'{type(module).__name__})')
        if not 0 <= warmup_epochs <= max_epochs:
            raise ValueError(f'warmup_epochs must be in 0..max_epochs '
                             f'({max_epochs}), got {warmup_epochs}')
        if not (isinstance(arch_interval, int) and arch_interval >= 1):
            raise ValueError(f'train_cfg.arch_interval is the number of '
                             f'iterations per alpha step, an integer >= 1; '
                             f'got {arch_interval!r}')
        dataset_cfg = dataloader['dataset']
        dataset = DATASETS.build(dataset_cfg) if isinstance(
            dataset_cfg, dict) else dataset_cfg
        weight_set, arch_set = split_in_halves(dataset)
        cfg = {k: v for k, v in dataloader.items() if k != 'dataset'}
        super().__init__(runner, dict(copy.deepcopy(cfg),
                                      dataset=weight_set), max_epochs,
                         val_begin, val_interval, dynamic_intervals)
        randomness = runner.cfg.get('randomness') or {}
        self.arch_dataloader = runner.build_dataloader(
            dict(copy.deepcopy(cfg), dataset=arch_set),
            seed=runner.seed,
            diff_rank_seed=randomness.get('diff_rank_seed', False))
        self.warmup_epochs = warmup_epochs
        self.arch_interval = arch_interval

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
            if arch_iter is not None and idx % self.arch_interval == 0:
                try:
                    arch_batch = next(arch_iter)
                except StopIteration:  # the alpha half ran out first
                    arch_iter = iter(self.arch_dataloader)
                    arch_batch = next(arch_iter)
            self.run_iter(idx, data_batch, arch_batch)
        self.end_of_epoch()
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def end_of_epoch(self) -> None:
        """Called after an epoch's iterations, before the epoch's hooks
        (which export the genotype); nothing here."""

    @property
    def _module(self):
        """The search model, unwrapped from DDP."""
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def search_step(self,
                    idx,
                    data_batch,
                    arch_batch=None) -> Dict[str, torch.Tensor]:
        """The model's alpha step (when ``arch_batch`` is given), then its
        weight step through the runner's (possibly DDP-wrapped) model;
        returns the log variables."""
        module, optim = self._module, self.runner.optim_wrapper
        outputs = {}
        if arch_batch is not None:
            outputs.update(module.arch_step(arch_batch, optim['arch']))
        module.zero_grad(set_to_none=True)  # the alpha step's leftovers
        outputs.update(
            self.runner.model.train_step(
                data_batch, optim_wrapper=optim['weights']))
        return outputs

    def check_finite(self, idx: int, outputs: Dict) -> None:
        """Stop the search at the first non-finite loss, reward or
        architecture weight, before anything derived from it is written.

        Raises:
            FloatingPointError: Naming the epoch, the iteration and the
                quantity.
        """
        where = f'epoch {self._epoch + 1}, iteration {idx + 1}'
        for name, value in outputs.items():
            if not torch.isfinite(torch.as_tensor(value)).all():
                raise FloatingPointError(
                    f'search diverged at {where}: {name} = {float(value)}. '
                    f'Nothing was written for this epoch; lower the learning '
                    f'rates (optim_wrapper.weights / optim_wrapper.arch) and '
                    f'resume from the last checkpoint')
        for arch in self._module.arch_modules:
            for name, p in arch.named_parameters():
                if not torch.isfinite(p).all():
                    raise FloatingPointError(
                        f'search diverged at {where}: architecture weights '
                        f'{name} are not finite. Nothing was written for this '
                        f'epoch; lower optim_wrapper.arch\'s learning rate '
                        f'and resume from the last checkpoint')

    def run_iter(self, idx, data_batch, arch_batch=None) -> None:
        self.runner.call_hook(
            'before_train_iter', batch_idx=idx, data_batch=data_batch)
        outputs = self.search_step(idx, data_batch, arch_batch)
        self.check_finite(idx, outputs)
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
        self._iter += 1


@LOOPS.register_module()
class BiLevelSearchLoop(CellSearchLoop):
    """AutoPose's bi-level search: the cells by gradient, the network level
    by reinforcement learning, alternating in one loop.

    Every iteration samples a layout (the model's ``sample_layout``: on
    rank 0, broadcast to all ranks), then makes the alpha step (after the
    warm-up) and the weight step of :class:`CellSearchLoop` under that
    layout. Every ``controller_interval`` iterations after the warm-up the
    model's ``controller_step`` samples another layout and rewards the
    controller with the supernet's keypoint accuracy on the held-out alpha
    batch, minus a penalty per budget set: ``flops_weight * |GMACs /
    flops_target - 1|`` (analytic GMACs at the search's input size) and
    ``latency_weight * |latency / latency_target - 1|``, the latency that
    ``latency_table`` predicts for the derived network (at the table's own
    width and input size, usually those of the deployed network). The
    budgets belong to the model (:meth:`~autopose_mm.search.
    AutoPoseBiLevelSearchEstimator.set_budgets`), which also chooses the
    written layout with them.

    Args:
        controller_interval (int): Iterations between controller steps.
        controller_steps (int): Controller steps each time (each samples
            and rewards its own layout on the same held-out batch; they
            cost a forward pass each, and a budgeted policy converges in
            fewer epochs with several). Defaults to 1.
        flops_target (float, optional): Compute budget in GMACs.
        flops_weight (float): Weight of the compute penalty.
        latency_target (float, optional): Latency budget in milliseconds;
            needs ``latency_table``.
        latency_table (str, optional): A lookup table written by
            ``tools/analysis/latency_table.py`` for the target device and
            runtime.
        latency_weight (float): Weight of the latency penalty.
        latency_check (str): What to do with a table measured on another
            device or library versions: ``'warn'`` (default), ``'error'``
            or ``'ignore'``.
        budget_tolerance (float): With budgets, the written layout is the
            controller's most probable one within this relative distance of
            every target (see :meth:`~autopose_mm.search.
            AutoPoseBiLevelSearchEstimator.choose_layout`). Defaults to
            0.05.
        **kwargs: The arguments of :class:`CellSearchLoop`.
    """

    model_type = 'AutoPoseBiLevelSearchEstimator'
    model_needs = 'controller_step'

    def __init__(self,
                 runner,
                 dataloader,
                 max_epochs: int,
                 controller_interval: int = 1,
                 controller_steps: int = 1,
                 flops_target: Optional[float] = None,
                 flops_weight: float = 1.0,
                 latency_target: Optional[float] = None,
                 latency_table: Optional[str] = None,
                 latency_weight: float = 1.0,
                 latency_check: str = 'warn',
                 budget_tolerance: float = 0.05,
                 **kwargs) -> None:
        super().__init__(runner, dataloader, max_epochs, **kwargs)
        self.controller_interval = controller_interval
        self.controller_steps = controller_steps
        self._module.set_budgets(flops_target, flops_weight, latency_target,
                                 latency_table, latency_weight, latency_check,
                                 budget_tolerance)

    def search_step(self,
                    idx,
                    data_batch,
                    arch_batch=None) -> Dict[str, torch.Tensor]:
        """Alpha and weight steps under a sampled layout, then (every
        ``controller_interval`` iterations after the warm-up) a controller
        step."""
        module = self._module
        with module.use_layout(module.sample_layout(data_batch)):
            outputs = super().search_step(idx, data_batch, arch_batch)
        if arch_batch is not None and idx % self.controller_interval == 0:
            for _ in range(self.controller_steps):
                outputs.update(
                    module.controller_step(
                        arch_batch, self.runner.optim_wrapper['controller']))
        return outputs


@LOOPS.register_module()
class SinglePathSearchLoop(CellSearchLoop):
    """Single-path one-shot search: train the supernet's shared weights on
    random derived-shaped cells, then pick the cells by scoring them with
    those weights.

    Every iteration is a weight step on a batch of the first half, the
    supernet running one random cell per cell type (``sample_paths=True``
    on the search backbone and neck, which this loop requires). After the
    last epoch, ``num_candidates`` random genotypes whose derived network
    costs within ``tolerance`` of ``flops_target`` GMACs (analytic; the
    supernet's depth and width at the search's input size) are scored by
    the supernet computing each of them (one-hot architecture weights, BN
    with batch statistics) on ``score_batches`` batches of the held-out
    half (``score``: ``'loss'``, minus the heatmap loss, or ``'pck'``;
    see :func:`~autopose_mm.search.selection.select_cells`); the model
    takes the best (:meth:`~autopose_mm.search.
    AutoPoseSinglePathSearchEstimator.choose`), so the genotype export
    writes it. ``path_search.json`` in the work dir lists every candidate
    with its cost and score.

    With ``rerank``, the supernet only shortlists: its ``top`` best-scored
    candidates are each trained briefly as derived networks with the
    training config ``rerank['config']`` (e.g. the target network on a
    short schedule) and tested with that config's test metric, and the
    best of them is chosen (see
    :func:`~autopose_mm.search.selection.rerank_shortlist` for the seeds;
    the config's test set should be data that a later comparison does not
    test on). The research project beside the package
    (``projects/search_eval``) reports how well each signal ranks.

    Args:
        num_candidates (int): Genotypes scored. Defaults to 64.
        score_batches (int): Held-out batches per score. Defaults to 4.
        flops_target (float, optional): Cost in GMACs; defaults to the
            median cost of random genotypes of the space.
        tolerance (float): Relative width of the cost window.
        score (str): ``'loss'`` (default) or ``'pck'``.
        rerank (dict, optional): ``config`` (path of a training config of
            the derived network, required), ``top`` (shortlisted
            candidates, default 8), ``jobs`` (trainings at once, each in
            its own process, default 1), ``metric`` (the test metric's key;
            default COCO AP, else PCKh, else PCK) and ``seed_base``
            (default 10000).
        **kwargs: The arguments of :class:`CellSearchLoop` (no
            ``warmup_epochs``: there are no alpha steps).
    """

    model_type = 'AutoPoseSinglePathSearchEstimator'
    model_needs = 'choose'

    def __init__(self,
                 runner,
                 dataloader,
                 max_epochs: int,
                 num_candidates: int = 64,
                 score_batches: int = 4,
                 flops_target: Optional[float] = None,
                 tolerance: float = 0.1,
                 score: str = 'loss',
                 rerank: Optional[Dict] = None,
                 **kwargs) -> None:
        if kwargs.pop('warmup_epochs', max_epochs) != max_epochs:
            raise ValueError('SinglePathSearchLoop has no alpha steps: '
                             'leave out warmup_epochs')
        super().__init__(
            runner, dataloader, max_epochs, warmup_epochs=max_epochs, **kwargs)
        self.num_candidates = num_candidates
        self.score_batches = score_batches
        self.flops_target = flops_target
        self.tolerance = tolerance
        self.score = score
        self.rerank = check_rerank(rerank, num_candidates)

    def end_of_epoch(self) -> None:
        if self._epoch + 1 == self._max_epochs:
            self.select()

    def select(self) -> Dict:
        """Run the selection stage and hand its choice to the model;
        returns the record written to ``path_search.json``."""
        batches = []
        for batch in self.arch_dataloader:
            batches.append(batch)
            if len(batches) == self.score_batches:
                break
        chosen, record = select_cells(
            self._module,
            batches,
            self.num_candidates,
            self.runner.seed or 0,
            self.runner.work_dir,
            self.runner.logger.info,
            flops_target=self.flops_target,
            tolerance=self.tolerance,
            score=self.score,
            rerank=self.rerank)
        self._module.choose(chosen)
        record = dict(epoch=self._epoch + 1, **record)
        if is_main_process():
            atomic_write_text(
                osp.join(self.runner.work_dir, 'path_search.json'),
                json.dumps(record, allow_nan=False))
        return record
