"""Running searches and trainings of candidate networks with the project's
own training code (an MMEngine runner per run).

:func:`train_candidate` is the one way a candidate is trained and tested;
:func:`train_all` runs a fixed list of them (the trained rerank of a
search, the trainings that judge one), each in a directory of its own that
ends with a strict ``metrics.json``, so a rerun trains only what has not
finished.
"""
import copy
import dataclasses
import hashlib
import json
import math
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from ..models.genotype import Genotype, nearest
from ..utils.io import write_json
from ..utils.processes import spawn_workers
from .costs.config import config_width
from .networks import Network, apply_network

__all__ = [
    'run_search', 'train_candidate', 'pick_metric', 'runner_for',
    'check_metric', 'evaluator_metrics', 'Training', 'train_all',
    'config_identity', 'set_epochs'
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
            f'study.metric {key!r} is not a metric of the test '
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


def set_epochs(cfg: Config, epochs: Optional[int]) -> Config:
    """Shorten or lengthen the config's schedule to ``epochs`` (its test
    and checkpoint at the end); ``None`` leaves it."""
    if epochs:
        cfg.train_cfg.max_epochs = int(epochs)
        if cfg.train_cfg.get('val_interval') is not None:
            cfg.train_cfg.val_interval = int(epochs)
    return cfg


def train_candidate(cfg: Config,
                    genotype: Optional[Genotype],
                    work_dir: str,
                    seed: int,
                    layout: Optional[Sequence[int]] = None,
                    epochs: Optional[int] = None,
                    width: Optional[int] = None,
                    stages: Optional[int] = None) -> Dict[str, float]:
    """Train the config's network built from ``genotype`` and test it with
    the config's test data and metric.

    Args:
        cfg (Config): The training config (not changed).
        genotype (Genotype, optional): The cells (and, when it has them,
            the cells per scale); None trains the config's own network
            (e.g. a hand-designed reference).
        work_dir (str): The runner's work dir.
        seed (int): The training seed.
        layout (Sequence[int], optional): Cells per scale, replacing the
            config's layout.
        epochs (int, optional): Schedule length instead of the config's.
        width (int, optional): Base width C; with ``stages``, the whole
            network of :func:`~autopose_mm.search.networks.apply_network`
            (the genotype must then have, or ``layout`` give, its cells
            per scale).
        stages (int, optional): 1 or 2 stages; defaults to 1 when
            ``width`` is given.

    Returns:
        dict: The test metrics.
    """
    cfg = set_epochs(copy.deepcopy(cfg), epochs)
    if width is not None or stages is not None:
        if layout is not None:
            genotype = dataclasses.replace(
                genotype, cells_per_scale=tuple(layout))
        cfg = apply_network(
            cfg, Network(genotype, int(width or config_width(cfg)), stages
                         or 1))
    elif genotype is not None:
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


@dataclasses.dataclass(frozen=True)
class Training:
    """One training of :func:`train_all`: ``key`` names it and its
    directory; ``layout`` (cells per scale) overrides the config's; with
    ``genotype=None`` the config's own network is trained."""
    key: str
    genotype: Optional[Genotype]
    seed: int
    layout: Optional[Tuple[int, ...]] = None
    width: Optional[int] = None
    stages: Optional[int] = None


def config_identity(cfg: Config) -> str:
    """A digest of everything a config sets (of its text, so that the
    same config at another path digests alike): the one fingerprint of a
    config, for studies and trainings."""
    return hashlib.sha1(cfg.pretty_text.encode()).hexdigest()


def _identity(config: str, tr: Training) -> str:
    what = dict(
        config=config,
        genotype=None if tr.genotype is None else tr.genotype.to_dict(),
        seed=int(tr.seed),
        layout=None if tr.layout is None else [int(n) for n in tr.layout])
    # a whole network's width and stages (absent for cells only, so that
    # the identities of cells-only trainings stay as they were)
    if tr.width is not None or tr.stages is not None:
        what.update(width=tr.width, stages=tr.stages)
    text = json.dumps(what, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


def _finished(run_dir: str, identity: str) -> Optional[Dict[str, float]]:
    """The metrics of a finished training in ``run_dir``, or None.

    Raises:
        ValueError: ``run_dir`` holds the training of another config,
            genotype, seed or layout.
    """
    path = osp.join(run_dir, 'metrics.json')
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            record = json.load(f)
        stored, metrics = record['identity'], record['metrics']
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(
            f'{path} is not a training record ({e}); delete it to train '
            f'that run again') from e
    if stored != identity:
        raise ValueError(
            f'{path} is the result of another training (another config, '
            f'genotype, seed or layout); use another work dir for this one')
    return {k: float(v) for k, v in metrics.items()}


def _train_one(cfg: Config, tr: Training, run_dir: str,
               identity: str) -> Dict[str, float]:
    started = time.monotonic()
    metrics = train_candidate(
        cfg,
        tr.genotype,
        run_dir,
        tr.seed,
        tr.layout,
        width=tr.width,
        stages=tr.stages)
    bad = [k for k, v in metrics.items() if not math.isfinite(v)]
    if bad:
        raise FloatingPointError(
            f'training {tr.key}: non-finite {", ".join(bad)} '
            f'({metrics[bad[0]]}); see {run_dir}')
    write_json(
        osp.join(run_dir, 'metrics.json'),
        dict(
            identity=identity,
            key=tr.key,
            seed=tr.seed,
            seconds=time.monotonic() - started,
            metrics=metrics))
    return metrics


def _worker(cfg_dict: Dict, trainings: List[Training], work_dir: str,
            config: str, threads: int) -> None:
    torch.set_num_threads(threads)
    init_default_scope('mmpose')
    cfg = Config(cfg_dict)
    for tr in trainings:
        run_dir = osp.join(work_dir, tr.key)
        identity = _identity(config, tr)
        if _finished(run_dir, identity) is None:
            _train_one(cfg, tr, run_dir, identity)


def train_all(
    cfg: Config,
    trainings: Sequence[Training],
    work_dir: str,
    workers: int = 1,
    on_done: Optional[Callable[[str, Dict[str, float]], None]] = None,
) -> Dict[str, Dict[str, float]]:
    """Train and test every training with ``cfg``, each in
    ``work_dir/<key>``, which ends with its ``metrics.json``; a rerun
    reuses the finished ones.

    Args:
        cfg (Config): The training config.
        trainings (Sequence[Training]): What to train (unique keys).
        work_dir (str): The parent of the trainings' directories.
        workers (int): Processes sharing this machine's cores; 1 trains in
            this process.
        on_done (Callable, optional): ``on_done(key, metrics)`` for every
            training as it finishes, including those finished before.

    Returns:
        dict: The metrics by key, in the order of ``trainings``.

    Raises:
        FloatingPointError: A training tested to a non-finite metric (no
            ``metrics.json`` is written for it).
        ValueError: Two trainings share a key, or a directory holds the
            result of another training.
    """
    keys = [tr.key for tr in trainings]
    if len(set(keys)) != len(keys):
        raise ValueError(f'training keys repeat: {keys}')
    config = config_identity(cfg)
    identities = {tr.key: _identity(config, tr) for tr in trainings}
    done: Dict[str, Dict[str, float]] = {}

    def collect() -> None:
        for tr in trainings:
            if tr.key not in done:
                metrics = _finished(
                    osp.join(work_dir, tr.key), identities[tr.key])
                if metrics is not None:
                    done[tr.key] = metrics
                    if on_done is not None:
                        on_done(tr.key, metrics)

    collect()
    todo = [tr for tr in trainings if tr.key not in done]
    if todo and workers <= 1:
        for tr in todo:
            _train_one(cfg, tr, osp.join(work_dir, tr.key), identities[tr.key])
            collect()
    elif todo:
        shares = [todo[i::workers] for i in range(min(workers, len(todo)))]
        spawn_workers(
            _worker,
            [(cfg.to_dict(), share, work_dir, config) for share in shares],
            poll=(collect, 2.0))
        collect()
    return {key: done[key] for key in keys}
