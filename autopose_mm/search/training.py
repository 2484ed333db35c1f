"""Running searches and trainings of derived networks with the project's
own training code (an MMEngine runner per run), in this process: what the
queued trainings of :mod:`~autopose_mm.search.study.queue` (the trained
rerank of a search, the evaluations' trainings) and the study's trials
run."""
import copy
import json
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from ..models.genotype import Genotype

__all__ = ['run_search', 'train_and_test', 'pick_metric', 'runner_for']


def pick_metric(metrics: Dict[str, float], key: Optional[str] = None) -> str:
    """The key of ``metrics`` to compare networks by: ``key`` when given,
    else COCO AP, else PCKh, else PCK."""
    for k in ([key] if key else ['coco/AP', 'PCKh', 'PCK']):
        if k in metrics:
            return k
    raise KeyError(f'metric {key!r} not among {sorted(metrics)}; name one '
                   f'of them')


def runner_for(cfg: Config, work_dir: str, seed: int, name: str) -> Runner:
    """A runner of ``cfg`` in ``work_dir`` with ``seed``, told apart from
    the other runners of this process by ``name`` and the time."""
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
    runner = runner_for(cfg, work_dir, seed, 'search')
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
                   genotype: Optional[Genotype],
                   work_dir: str,
                   seed: int,
                   layout: Optional[Sequence[int]] = None) -> Dict[str, float]:
    """Train the config's network built from ``genotype`` (and ``layout``,
    cells per scale, when given; the config's network as it is when
    ``genotype`` is None) and evaluate it with the config's test metric;
    returns the metrics."""
    cfg = copy.deepcopy(cfg)
    if genotype is not None:
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
    runner = runner_for(cfg, work_dir, seed, 'train')
    runner.train()
    metrics = runner.test()
    return {k: float(v) for k, v in metrics.items()}
