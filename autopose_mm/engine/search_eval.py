"""Running searches and trainings in-process, and scoring genotypes with a
trained supernet: the pieces of the search-versus-random evaluation
(``tools/analysis/search_vs_random.py``)."""
import copy
import json
import os.path as osp
import time
from contextlib import ExitStack
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from ..models.genotype import Genotype
from ..models.search_estimator import heatmap_pck
from ..models.search_space import arch_modules

__all__ = [
    'heatmap_pck', 'score_genotype', 'run_search', 'train_and_test',
    'train_many', 'pick_metric'
]


def pick_metric(metrics: Dict[str, float], key: Optional[str] = None) -> str:
    """The key of ``metrics`` to compare networks by: ``key`` when given,
    else COCO AP, else PCKh, else PCK."""
    for k in ([key] if key else ['coco/AP', 'PCKh', 'PCK']):
        if k in metrics:
            return k
    raise KeyError(f'metric {key!r} not among {sorted(metrics)}; name one '
                   f'of them')


@torch.no_grad()
def score_genotype(model: nn.Module,
                   genotype: Genotype,
                   data_batches: Sequence[dict],
                   metric: str = 'pck') -> float:
    """The supernet's score on ``data_batches`` when its mixed cells compute
    ``genotype`` with their inherited weights (one-hot architecture
    weights); higher is better.

    Normalisation uses the statistics of each batch, since the running
    statistics of a supernet are those of the mixture; every buffer and the
    train/eval mode are restored afterwards.

    Args:
        metric (str): ``'pck'``: PCK of the heatmaps (0-1); ``'loss'``:
            minus the head's loss, which varies smoothly where few
            keypoints are within the PCK threshold yet.
    """
    if metric not in SCORE_METRICS:
        raise ValueError(f'metric must be one of {SCORE_METRICS}, got '
                         f'{metric!r}')
    module = model.module if is_model_wrapper(model) else model
    archs = arch_modules(module)
    if not archs:
        raise ValueError('score_genotype needs a supernet (a model with '
                         'ArchParams)')
    buffers = {k: v.clone() for k, v in module.named_buffers()}
    was_training = module.training
    module.train()
    try:
        with ExitStack() as stack:
            for arch in archs:
                stack.enter_context(arch.fixed(dict(genotype.cells)))
            scores = [
                heatmap_pck(module, batch)
                if metric == 'pck' else -_loss(module, batch)
                for batch in data_batches
            ]
    finally:
        for name, value in module.named_buffers():
            value.copy_(buffers[name])
        module.train(was_training)
    return sum(scores) / len(scores)


SCORE_METRICS = ('pck', 'loss')


def _loss(model: nn.Module, data_batch: dict) -> float:
    """The model's training loss on a batch (no gradients)."""
    data = model.data_preprocessor(data_batch, True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    return float(loss)


def _runner(cfg: Config, work_dir: str, seed: int, name: str) -> Runner:
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    # one process builds many runners: their loggers, message hubs and
    # visualizers are told apart by the experiment name
    cfg.experiment_name = f'{name}_{time.time_ns()}'
    cfg.launcher = 'none'
    return Runner.from_cfg(cfg)


def run_search(cfg: Config,
               work_dir: str,
               seed: int,
               num_score_batches: int = 4) -> Dict:
    """Run a search config in this process.

    Returns:
        dict: ``genotype`` (the final derived :class:`Genotype`),
        ``history`` (the parsed ``search_history.json``), ``model`` (the
        trained supernet) and ``score_batches`` (the first batches of the
        held-out alpha half, for :func:`score_genotype`).
    """
    runner = _runner(cfg, work_dir, seed, 'search')
    runner.train()
    batches: List[dict] = []
    if num_score_batches > 0:
        for batch in runner.train_loop.arch_dataloader:
            batches.append(batch)
            if len(batches) == num_score_batches:
                break
    with open(osp.join(work_dir, 'search_history.json')) as f:
        history = json.load(f)
    model = runner.model
    return dict(
        genotype=Genotype.load(osp.join(work_dir, 'genotype.json')),
        history=history,
        model=model.module if is_model_wrapper(model) else model,
        score_batches=batches)


def train_and_test(cfg: Config,
                   genotype: Genotype,
                   work_dir: str,
                   seed: int,
                   layout: Optional[Sequence[int]] = None) -> Dict[str, float]:
    """Train the config's network built from ``genotype`` (and ``layout``,
    cells per scale, when given) and evaluate it with the config's test
    metric; returns the metrics."""
    cfg = copy.deepcopy(cfg)
    data = genotype.to_dict()
    if layout is not None:
        data['network'] = dict(cells_per_scale=list(layout))
        cfg.model.backbone.update(
            arch=None, num_cells=None, reduction_indices=None)
    cfg.model.genotype = data
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=-1, save_last=False)
    runner = _runner(cfg, work_dir, seed, 'train')
    runner.train()
    metrics = runner.test()
    return {k: float(v) for k, v in metrics.items()}


def _train_job(cfg: dict, genotype: dict, work_dir: str, seed: int,
               layout: Optional[Sequence[int]]) -> Dict[str, float]:
    from mmengine.registry import init_default_scope

    import autopose_mm  # noqa: F401  (registers the modules)
    init_default_scope('mmpose')
    return train_and_test(
        Config(cfg), Genotype.from_dict(genotype), work_dir, seed, layout)


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def train_many(cfg: Config,
               jobs: Sequence[Tuple[Genotype, str, int,
                                    Optional[Sequence[int]]]],
               workers: int = 1) -> Iterator[Tuple[int, Dict[str, float]]]:
    """:func:`train_and_test` for each ``(genotype, work_dir, seed,
    layout)`` in ``jobs``; yields ``(index, metrics)`` as each finishes.

    With ``workers > 1`` they run in that many fresh processes that share
    the CPU's cores equally: for small networks, which keep one core busier
    than they keep several, this gets more trainings done per hour.
    Otherwise they run one after the other in this process.
    """
    if workers <= 1:
        for i, (genotype, work_dir, seed, layout) in enumerate(jobs):
            yield i, train_and_test(cfg, genotype, work_dir, seed, layout)
        return
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context('spawn'),
            initializer=_init_worker,
            initargs=(threads, )) as pool:
        futures = {}
        for i, (g, work_dir, seed, layout) in enumerate(jobs):
            future = pool.submit(_train_job, cfg.to_dict(), g.to_dict(),
                                 work_dir, seed, layout)
            futures[future] = i
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            # a failed training stops the rest: those not started yet are
            # dropped, the running ones end before the error is raised
            for future in futures:
                future.cancel()
            raise
