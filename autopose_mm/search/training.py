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

from ..models.genotype import Genotype, nearest

__all__ = [
    'run_search', 'train_and_test', 'pick_metric', 'runner_for',
    'check_metric', 'evaluator_metrics'
]


def pick_metric(metrics: Dict[str, float], key: Optional[str] = None) -> str:
    """The key of ``metrics`` to compare networks by: ``key`` when given,
    else COCO AP, else PCKh, else PCK."""
    for k in ([key] if key else ['coco/AP', 'PCKh', 'PCK']):
        if k in metrics:
            return k
    raise KeyError(f'metric {key!r} not among {sorted(metrics)}; name one '
                   f'of them')


# what MMPose's evaluators name their results (their metric types'
# ``prefix`` stands before CocoMetric's); the study checks its metric
# against these before it trains anything
EVALUATOR_METRICS: Dict[str, Sequence[str]] = {
    'CocoMetric': ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5',
                   'AR .75', 'AR (M)', 'AR (L)'),
    'MpiiPCKAccuracy': ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee',
                        'Ankle', 'PCKh', 'PCKh@0.1'),
    'PCKAccuracy': ('PCK', ),
    'AUC': ('AUC', ),
    'EPE': ('EPE', ),
    'NME': ('NME', ),
}


def evaluator_metrics(cfg: Config) -> Optional[List[str]]:
    """The metric keys the config's test evaluator will report, or None
    when one of its metrics is not a type this table knows."""
    evaluator = cfg.get('test_evaluator') or cfg.get('val_evaluator')
    metrics = evaluator if isinstance(evaluator,
                                      (list, tuple)) else [evaluator]
    names: List[str] = []
    for metric in metrics:
        if not isinstance(metric, dict) or \
                metric.get('type') not in EVALUATOR_METRICS:
            return None
        keys = EVALUATOR_METRICS[metric['type']]
        if metric['type'] == 'CocoMetric':
            prefix = metric.get('prefix', 'coco')
            keys = [f'{prefix}/{k}' if prefix else k for k in keys]
        names.extend(keys)
    return names


def check_metric(cfg: Config, key: Optional[str], where: str) -> str:
    """The metric a study compares networks by, checked against what the
    config's evaluator reports, before anything trains.

    Args:
        cfg (Config): The trial config.
        key (str, optional): The metric asked for (``--metric``); None for
            the default (:func:`pick_metric`'s order).
        where (str): The config's path, for the message.

    Returns:
        str: The metric key (``key`` itself when the evaluator is not
        known).

    Raises:
        KeyError: ``key`` is none of the evaluator's metrics; names the
            nearest.
    """
    names = evaluator_metrics(cfg)
    if names is None:
        return key or 'coco/AP'
    if key is None:
        for k in ('coco/AP', 'PCKh', 'PCK'):
            if k in names:
                return k
        return names[0]
    if key not in names:
        raise KeyError(
            f'--metric {key!r} (study.metric) is not a metric of the test '
            f'evaluator of {where}{nearest(key, names)}; its metrics: '
            f'{", ".join(names)}')
    return key


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
