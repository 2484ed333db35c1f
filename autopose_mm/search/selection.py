"""Choosing cells without gradients: random genotypes at equal cost, each
scored by a trained supernet computing it, and optionally a shortlist
trained briefly and ranked by its test metric. This is the stage that ends a
single-path search (:class:`~autopose_mm.search.SinglePathSearchLoop`); it
returns the chosen genotype and a record of every candidate."""
import os.path as osp
from contextlib import ExitStack
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dist import all_reduce, get_world_size
from mmengine.model import is_model_wrapper

from ..datasets import ensure_sample_data
from ..models.genotype import Genotype
from ..models.plan import reductions_to_cells
from .algorithms import heatmap_pck
from .costs import analytic_macs
from .space import arch_modules, sample_genotype, sample_genotypes_at_cost
from .training import Training, pick_metric, train_all

SCORE_METRICS = ('pck', 'loss')
RERANK_KEYS = ('config', 'top', 'jobs', 'metric', 'seed_base')


def _loss(model: nn.Module, data_batch: dict) -> float:
    """The model's training loss on a batch (no gradients)."""
    data = model.data_preprocessor(data_batch, True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    return float(loss)


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


def check_rerank(rerank: Optional[Dict],
                 num_candidates: int) -> Optional[Dict]:
    """Validate ``train_cfg.rerank`` and fill in its defaults."""
    if rerank is None:
        return None
    unknown = set(rerank) - set(RERANK_KEYS)
    if unknown:
        raise ValueError(f'train_cfg.rerank: unknown keys '
                         f'{sorted(unknown)}; allowed: {sorted(RERANK_KEYS)}')
    rerank = dict(dict(top=8, jobs=1, metric=None, seed_base=10_000), **rerank)
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


def gmacs_of(module: nn.Module,
             input_size: Tuple[int, int]) -> Callable[[Genotype], float]:
    """The analytic GMACs of a genotype's network at the supernet's depth,
    reductions and width, at ``input_size``."""
    backbone = module.backbone
    layout = reductions_to_cells(backbone.num_cells,
                                 backbone.reduction_indices)

    def cost(genotype: Genotype) -> float:
        return analytic_macs(genotype, layout, backbone.base_channels,
                             input_size, module.head.out_channels) / 1e9

    return cost


def rerank_shortlist(cfg_path: str, rerank: Dict, candidates: Sequence,
                     scores: torch.Tensor, work_dir: str, search_seed: int,
                     log: Callable[[str], None]) -> Tuple[int, Dict]:
    """Train the ``rerank['top']`` best-scored candidates with the rerank
    config; returns the index of the one with the best test metric and a
    summary of the trainings.

    A shortlisted candidate trains with seed ``seed_base + 100 * search
    seed + its place in the shortlist``, so its training shares no seed
    with the trainings that compare the found cells afterwards. Each
    training has its directory in ``<work_dir>/rerank``
    (:func:`~autopose_mm.search.training.train_all`, ``rerank['jobs']``
    worker processes), so a search resumed after a kill trains only what
    is missing."""
    cfg = Config.fromfile(cfg_path)
    ensure_sample_data(cfg)
    order = scores.argsort(descending=True).tolist()
    shortlist = order[:rerank['top']]
    base = rerank['seed_base'] + 100 * search_seed
    trainings = [
        Training(f'candidate_{i}', candidates[i], base + place)
        for place, i in enumerate(shortlist)
    ]
    count = [0]

    def done(key: str, metrics: Dict) -> None:
        count[0] += 1
        log(f'rerank: {count[0]}/{len(trainings)} trained ({key})')

    rerank_dir = osp.join(work_dir, 'rerank')
    results = train_all(cfg, trainings, rerank_dir, rerank['jobs'], done)
    runs = [results[tr.key] for tr in trainings]
    key = pick_metric(runs[0], rerank['metric'])
    values = [m[key] for m in runs]
    place = int(np.argmax(values))
    return shortlist[place], dict(
        metric=key,
        best=values[place],
        median=float(np.median(values)),
        runs=[(i, base + p, runs[p]) for p, i in enumerate(shortlist)])


@torch.no_grad()
def select_cells(module: nn.Module,
                 batches: List[dict],
                 num_candidates: int,
                 search_seed: int,
                 work_dir: str,
                 log: Callable[[str], None],
                 flops_target: Optional[float] = None,
                 tolerance: float = 0.1,
                 score: str = 'loss',
                 rerank: Optional[Dict] = None) -> Tuple[Genotype, Dict]:
    """Sample ``num_candidates`` random genotypes whose derived network
    costs within ``tolerance`` of ``flops_target`` GMACs (the median cost of
    random genotypes when None), score each with the trained supernet on
    ``batches`` (:func:`score_genotype`), and with ``rerank`` train the
    best-scored briefly (:func:`rerank_shortlist`).

    Returns:
        tuple: The chosen :class:`Genotype` (the best-scored, or the best
        trained) and the record of every candidate with its cost and score
        (and, reranked, the shortlist's trainings).
    """
    arch = arch_modules(module)
    cost = gmacs_of(module, tuple(batches[0]['inputs'][0].shape[-2:]))
    seed = search_seed + 7919
    target = flops_target
    if target is None:
        rng = np.random.default_rng(seed)
        target = float(
            np.median([
                cost(sample_genotype(rng, arch[0].nodes, arch[0].candidates))
                for _ in range(200)
            ]))
    candidates = sample_genotypes_at_cost(
        num_candidates,
        cost,
        target,
        tolerance,
        seed=seed,
        nodes=arch[0].nodes,
        candidates=arch[0].candidates)
    scores = torch.tensor(
        [score_genotype(module, g, batches, score) for g in candidates])
    all_reduce(scores, op='mean')  # every rank picks the same
    best = int(scores.argmax())
    reranked = None
    if rerank is not None:
        with torch.enable_grad():  # the selection itself runs without
            best, reranked = rerank_shortlist(rerank['config'], rerank,
                                              candidates, scores, work_dir,
                                              search_seed, log)
    record = dict(
        gmacs_target=target,
        tolerance=tolerance,
        score=score,
        best=best,
        candidates=[
            dict(gmacs=g.extra['cost'], score=float(s), genotype=g.to_dict())
            for g, s in zip(candidates, scores.tolist())
        ])
    if reranked is not None:
        record['rerank'] = dict(
            config=rerank['config'],
            metric=reranked['metric'],
            shortlist=[
                dict(candidate=i, seed=seed, metrics=m)
                for i, seed, m in reranked['runs']
            ])
    log(f'single-path search: scored {len(candidates)} genotypes of '
        f'{target:.4f} GMACs +-{tolerance:.0%}; best score '
        f'{float(scores[best]):.4f} (median {float(scores.median()):.4f})')
    if reranked is not None:
        log(f'single-path search: of the {len(reranked["runs"])} best '
            f'scored, candidate {best} trained to the best '
            f'{reranked["metric"]}, {reranked["best"]:.4f} (median '
            f'{reranked["median"]:.4f})')
    return candidates[best], record
