"""The searches as MMEngine training loops: they schedule the steps that
the search model (:class:`~autopose_mm.models.AutoPoseSearchEstimator`)
defines."""
import copy
import json
import os.path as osp
import random
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from mmpose.registry import DATASETS, LOOPS
from torch.utils.data import DataLoader

from ..models.budgets import Budget, GMACsBudget, LatencyBudget
from ..models.layout import analytic_macs


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
    :meth:`~autopose_mm.models.AutoPoseSearchEstimator.search_step`. Both
    optimisers come from
    :class:`~autopose_mm.engine.SearchOptimWrapperConstructor`.

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
            steps, which come with them) and cut the mean iteration of
            the L12-C32 search from 3.25x to 2.37x the derived network's
            training step on 2 CPU cores (``tools/analysis/benchmark.py``).
        val_begin (int): Epoch that begins validating. Defaults to 1.
        val_interval (int): Validation interval. Defaults to 1.
    """

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
        if not hasattr(module, 'search_step'):
            raise TypeError(f'{type(self).__name__} needs a search model: set '
                            f"model.type='AutoPoseSearchEstimator' (got "
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
        """The model's search step (alpha step when ``arch_batch`` is given,
        then the weight step through the runner's, possibly DDP-wrapped,
        model); returns the log variables."""
        return self._module.search_step(
            data_batch,
            arch_batch,
            self.runner.optim_wrapper,
            train_step=self.runner.model.train_step)

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

    Every iteration samples a layout (the model's
    :meth:`~autopose_mm.models.AutoPoseSearchEstimator.sample_layout`: on
    rank 0, broadcast to all ranks), then makes the alpha step (after the
    warm-up) and the weight step of :class:`CellSearchLoop` under that
    layout. Every ``controller_interval`` iterations after the warm-up the
    model's ``controller_step`` samples another layout and rewards the
    controller with the supernet's keypoint accuracy on the held-out alpha
    batch, minus a penalty per budget set: ``flops_weight * |GMACs /
    flops_target - 1|`` (analytic GMACs at the search's input size) and
    ``latency_weight * |latency / latency_target - 1|``, the latency that
    ``latency_table`` predicts for the derived network (at the table's own
    width and input size, usually those of the deployed network).

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
            every target (see :meth:`choose_layout`). Defaults to 0.05.
        **kwargs: The arguments of :class:`CellSearchLoop`.
    """

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
        self.budget_tolerance = budget_tolerance
        self.input_size: Optional[Tuple[int, int]] = None
        self.budgets = self._build_budgets(flops_target, flops_weight,
                                           latency_target, latency_table,
                                           latency_weight, latency_check)

    def _build_budgets(self, flops_target, flops_weight, latency_target,
                       latency_table, latency_weight,
                       latency_check) -> List[Budget]:
        module = self._module
        budgets: List[Budget] = []
        if flops_target:
            budgets.append(
                GMACsBudget(flops_target, module.backbone.base_channels,
                            module.head.out_channels, flops_weight))
        if (latency_target is None) != (latency_table is None):
            raise ValueError(
                'train_cfg.latency_target (ms) and train_cfg.latency_table '
                '(a file from tools/analysis/latency_table.py) go together: '
                f'got latency_target={latency_target!r}, '
                f'latency_table={latency_table!r}')
        if latency_target is not None:
            budget = LatencyBudget(latency_target, latency_table,
                                   latency_weight, latency_check)
            arch = module.arch_modules[0]
            budget.check_covers(module.controller.space.layouts,
                                arch.candidates, arch.nodes)
            budgets.append(budget)
        return budgets

    def choose_layout(self, genotype) -> Tuple[int, ...]:
        """The layout written with the cells of ``genotype``: the
        controller's most probable one; with budgets, the most probable one
        whose every cost lies within ``budget_tolerance`` of its target for
        these cells (the cells keep changing while the controller learns,
        so its favourite may have drifted off the budget), else the one
        closest to the budgets."""
        controller = self._module.controller
        if not self.budgets:
            return controller.best()

        def miss(layout) -> float:
            return max(
                abs(b.cost(genotype, layout, self.input_size) / b.target - 1)
                for b in self.budgets)

        ranked = controller.ranked()
        for layout in ranked:
            if miss(layout) <= self.budget_tolerance:
                return layout
        return min(ranked, key=miss)

    def budget_records(self, genotype) -> Dict[str, Dict]:
        """Per budget, its target and the cost of ``genotype`` (with its
        layout), for the genotype file."""
        if not self.budgets or genotype.cells_per_scale is None:
            return {}
        return {
            b.name: b.record(genotype, genotype.cells_per_scale,
                             self.input_size)
            for b in self.budgets
        }

    def search_step(self,
                    idx,
                    data_batch,
                    arch_batch=None) -> Dict[str, torch.Tensor]:
        """Alpha and weight steps under a sampled layout, then (every
        ``controller_interval`` iterations after the warm-up) a controller
        step."""
        module = self._module
        self.input_size = tuple(data_batch['inputs'][0].shape[-2:])
        with module.use_layout(module.sample_layout()):
            outputs = super().search_step(idx, data_batch, arch_batch)
        if arch_batch is not None and idx % self.controller_interval == 0:
            for _ in range(self.controller_steps):
                outputs.update(
                    module.controller_step(
                        arch_batch, self.runner.optim_wrapper['controller'],
                        self.budgets))
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
    see :func:`~autopose_mm.engine.search_eval.score_genotype`); the best
    becomes the architecture weights
    (:meth:`~autopose_mm.models.ArchParams.set_cells`), so the genotype
    export writes it. ``path_search.json`` in the work dir lists every
    candidate with its cost and score.

    With ``rerank``, the supernet only shortlists: its ``top`` best-scored
    candidates are each trained briefly as derived networks with the
    training config ``rerank['config']`` (e.g. the target network on a
    short schedule) and tested with that config's test metric, and the
    best of them is chosen. A shortlisted candidate trains with seed
    ``seed_base + 100 * search seed + its place in the shortlist``, so its
    training shares no seed with the trainings that compare the found
    cells afterwards (``tools/analysis/search_vs_random.py`` trains with
    seeds 0, 1, ...). The config's test set should be data that the later
    comparison does not test on. On the built-in sample data, a training of
    8 epochs (``configs/autopose/demo/
    proxy_screen_l6_c16_sample_coco_128x96.py``) ranks 29 genotypes with
    Kendall's tau 0.48 against the AP of their full 30-epoch trainings
    (mean of 2), where the supernet's score reached 0.1.

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
        if not all(a.sample_paths for a in self._module.arch_modules):
            raise ValueError(
                'SinglePathSearchLoop trains single paths: set '
                'sample_paths=True on the search backbone and neck')
        self.num_candidates = num_candidates
        self.score_batches = score_batches
        self.flops_target = flops_target
        self.tolerance = tolerance
        self.score = score
        self.rerank = self._check_rerank(rerank, num_candidates)

    @staticmethod
    def _check_rerank(rerank: Optional[Dict],
                      num_candidates: int) -> Optional[Dict]:
        if rerank is None:
            return None
        from mmengine.dist import get_world_size
        allowed = {'config', 'top', 'jobs', 'metric', 'seed_base'}
        unknown = set(rerank) - allowed
        if unknown:
            raise ValueError(f'train_cfg.rerank: unknown keys '
                             f'{sorted(unknown)}; allowed: {sorted(allowed)}')
        rerank = dict(
            dict(top=8, jobs=1, metric=None, seed_base=10_000), **rerank)
        if not isinstance(rerank.get('config'), str) or not osp.isfile(
                rerank['config']):
            raise FileNotFoundError(
                f'train_cfg.rerank.config must be the path of a training '
                f'config of the derived network; got {rerank.get("config")!r}')
        for key, low in (('top', 1), ('jobs', 1), ('seed_base', 0)):
            if not (isinstance(rerank[key], int) and rerank[key] >= low):
                raise ValueError(f'train_cfg.rerank.{key} must be an integer '
                                 f'>= {low}, got {rerank[key]!r}')
        if rerank['top'] > min(num_candidates, 100):
            raise ValueError(f'train_cfg.rerank.top ({rerank["top"]}) must '
                             f'be at most num_candidates ({num_candidates}) '
                             f'and at most 100')
        if get_world_size() > 1:
            raise ValueError('train_cfg.rerank trains the shortlisted '
                             'networks in this process: run the search with '
                             'one process, or leave out rerank')
        return rerank

    def end_of_epoch(self) -> None:
        if self._epoch + 1 == self._max_epochs:
            self.select()

    def _cost(self, input_size) -> Callable:
        module = self._module
        backbone = module.backbone
        bounds = (0, ) + tuple(
            backbone.reduction_indices) + (backbone.num_cells, )
        layout = [b - a for a, b in zip(bounds, bounds[1:])]

        def cost(genotype) -> float:
            return analytic_macs(genotype, layout, backbone.base_channels,
                                 input_size, module.head.out_channels) / 1e9

        return cost

    @torch.no_grad()
    def select(self) -> Dict:
        """Score the candidates and set the best as the architecture."""
        from mmengine.dist import all_reduce, is_main_process

        from ..models.random_genotype import (
            sample_genotype,
            sample_genotypes_at_cost,
        )
        from ..utils.io import atomic_write_text
        from .search_eval import score_genotype
        module = self._module
        arch = module.arch_modules
        batches = []
        for batch in self.arch_dataloader:
            batches.append(batch)
            if len(batches) == self.score_batches:
                break
        cost = self._cost(tuple(batches[0]['inputs'][0].shape[-2:]))
        seed = (self.runner.seed or 0) + 7919
        target = self.flops_target
        if target is None:
            rng = np.random.default_rng(seed)
            target = float(
                np.median([
                    cost(
                        sample_genotype(rng, arch[0].nodes,
                                        arch[0].candidates))
                    for _ in range(200)
                ]))
        candidates = sample_genotypes_at_cost(
            self.num_candidates,
            cost,
            target,
            self.tolerance,
            seed=seed,
            nodes=arch[0].nodes,
            candidates=arch[0].candidates)
        scores = torch.tensor([
            score_genotype(module, g, batches, self.score) for g in candidates
        ])
        all_reduce(scores, op='mean')  # every rank picks the same
        best = int(scores.argmax())
        reranked = None
        if self.rerank is not None:
            with torch.enable_grad():  # select() itself runs without
                best, reranked = self.rerank_shortlist(candidates, scores)
        for a in arch:
            a.set_cells(dict(candidates[best].cells))
        record = dict(
            epoch=self._epoch + 1,
            gmacs_target=target,
            tolerance=self.tolerance,
            score=self.score,
            best=best,
            candidates=[
                dict(
                    gmacs=g.extra['cost'],
                    score=float(s),
                    genotype=g.to_dict())
                for g, s in zip(candidates, scores.tolist())
            ])
        if reranked is not None:
            record['rerank'] = dict(
                config=self.rerank['config'],
                metric=reranked['metric'],
                shortlist=[
                    dict(candidate=i, seed=seed, metrics=m)
                    for i, seed, m in reranked['runs']
                ])
        if is_main_process():
            atomic_write_text(
                osp.join(self.runner.work_dir, 'path_search.json'),
                json.dumps(record, allow_nan=False))
        self.runner.logger.info(
            f'single-path search: scored {len(candidates)} genotypes of '
            f'{target:.4f} GMACs +-{self.tolerance:.0%}; best score '
            f'{float(scores[best]):.4f} (median '
            f'{float(scores.median()):.4f})')
        if reranked is not None:
            self.runner.logger.info(
                f'single-path search: of the {len(reranked["runs"])} best '
                f'scored, candidate {best} trained to the best '
                f'{reranked["metric"]}, {reranked["best"]:.4f} (median '
                f'{reranked["median"]:.4f})')
        return record

    def rerank_shortlist(self, candidates: Sequence,
                         scores: torch.Tensor) -> Tuple[int, Dict]:
        """Train the ``rerank['top']`` best-scored candidates with the
        rerank config; returns the index of the one with the best test
        metric and a summary of the trainings.

        Each finished training's metrics are written to ``result.json`` in
        its directory, so a search resumed after a kill trains only what is
        missing."""
        import hashlib

        from mmengine.config import Config

        from ..datasets import ensure_sample_data
        from ..utils.io import read_result, write_result
        from .search_eval import pick_metric, train_many
        cfg = Config.fromfile(self.rerank['config'])
        ensure_sample_data(cfg)
        order = scores.argsort(descending=True).tolist()
        shortlist = order[:self.rerank['top']]
        base = self.rerank['seed_base'] + 100 * (self.runner.seed or 0)
        jobs = [(candidates[i],
                 osp.join(self.runner.work_dir, 'rerank',
                          f'candidate_{i}'), base + place, None)
                for place, i in enumerate(shortlist)]
        identity = [
            hashlib.sha1(
                json.dumps(
                    [g.to_dict(), seed, cfg.to_dict()],
                    sort_keys=True,
                    default=str).encode()).hexdigest()
            for g, _, seed, _ in jobs
        ]
        done: Dict[int, Dict[str, float]] = {}
        for place, (_, work_dir, _, _) in enumerate(jobs):
            path = osp.join(work_dir, 'result.json')
            if osp.isfile(path):
                saved = read_result(path, identity[place])
                if saved is not None:
                    done[place] = saved
        todo = [p for p in range(len(jobs)) if p not in done]
        for n, metrics in train_many(cfg, [jobs[p] for p in todo],
                                     self.rerank['jobs']):
            place = todo[n]
            key = pick_metric(metrics, self.rerank['metric'])
            if not np.isfinite(metrics[key]):
                raise FloatingPointError(
                    f'rerank: candidate {shortlist[place]} trained to a '
                    f'non-finite {key} ({metrics[key]}); see '
                    f'{jobs[place][1]}')
            write_result(
                osp.join(jobs[place][1], 'result.json'), metrics,
                identity[place])
            done[place] = metrics
            self.runner.logger.info(
                f'rerank: {len(done)}/{len(jobs)} trained (candidate '
                f'{shortlist[place]}, seed {jobs[place][2]})')
        key = pick_metric(done[0], self.rerank['metric'])
        values = [done[p][key] for p in range(len(jobs))]
        place = int(np.argmax(values))
        return shortlist[place], dict(
            metric=key,
            best=values[place],
            median=float(np.median(values)),
            runs=[(i, jobs[p][2], done[p]) for p, i in enumerate(shortlist)])
