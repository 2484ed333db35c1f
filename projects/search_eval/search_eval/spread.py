"""Can a benchmark tell networks apart? The accuracy spread of random
networks at one cost against the noise of training them.

:func:`measure_spread` draws random networks of a space (the whole-network
space of ``autopose_mm.search.networks``, or cells only in the config's
own layout) within one cost window, trains each ``repeats`` times with the
config's schedule through the resumable training path, and reports the
spread of their mean metric (std and range), the training noise (the
pooled std of repeated trainings of the same network), Kendall's tau
between the first two trainings (the benchmark's reproducibility) and
what it cost.
"""
import dataclasses
import json
import os.path as osp
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmengine.config import Config

from autopose_mm.models import load_genotype
from autopose_mm.search.costs.config import config_layout, config_width
from autopose_mm.search.networks import (
    Network,
    NetworkSpace,
    network_gmacs,
    sample_networks_at_cost,
)
from autopose_mm.search.space.sampling import sample_genotypes_at_cost
from autopose_mm.search.stats import kendall_tau, seed_std
from autopose_mm.search.training import (
    Training,
    pick_metric,
    set_epochs,
    train_all,
)
from autopose_mm.utils.io import write_json

__all__ = ['SpreadPlan', 'measure_spread', 'spread_summary']


@dataclasses.dataclass
class SpreadPlan:
    """One spread measurement.

    Args:
        config (str): The training config (schedule, data, metric).
        work_dir (str): Where the trainings and ``spread.json`` go.
        space (dict, optional): A network space (``study.space``); None
            draws cells only, in the config's layout and width.
        target (float, optional): Cost (GMACs) of the window; default the
            config's own network's cost.
        tolerance (float): The window is ``target * (1 +- tolerance)``.
        candidates (int): Random networks to draw.
        repeats (int): Trainings of each (seeds ``seed`` onwards).
        seed (int): Seed of the draws and the first training seed.
        workers (int): Training processes sharing the cores.
        metric (str, optional): Metric key (COCO AP by default).
        epochs (int, optional): Schedule length instead of the config's.
    """
    config: str
    work_dir: str
    space: Optional[Dict] = None
    target: Optional[float] = None
    tolerance: float = 0.1
    candidates: int = 20
    repeats: int = 2
    seed: int = 0
    workers: int = 1
    metric: Optional[str] = None
    epochs: Optional[int] = None


def _draw(plan: SpreadPlan, cfg: Config) -> Tuple[float, List[Network]]:
    """The candidates, as whole networks (cells only: the config's layout
    and width around random cells)."""
    cost = network_gmacs(cfg)
    own = _own_network(cfg)
    target = plan.target or cost(own)
    if plan.space is not None:
        return target, sample_networks_at_cost(
            plan.candidates, NetworkSpace.from_dict(plan.space), cost, target,
            plan.tolerance, plan.seed)

    def in_own_network(g) -> Network:
        return Network(
            dataclasses.replace(g, cells_per_scale=own.layout), own.width,
            own.stages)

    genotypes = sample_genotypes_at_cost(plan.candidates,
                                         lambda g: cost(in_own_network(g)),
                                         target, plan.tolerance, plan.seed)
    return target, [in_own_network(g) for g in genotypes]


def _own_network(cfg: Config) -> Network:
    """The config's own network (its cells, layout, width, stages)."""
    g = load_genotype(cfg.model.get('genotype', 'published'))
    g = dataclasses.replace(g, cells_per_scale=tuple(config_layout(cfg)))
    return Network(g, config_width(cfg),
                   int(cfg.model.neck.get('num_stages', 1)))


def spread_summary(per_network: Dict[str, List[float]],
                   seconds: float) -> Dict:
    """The spread of the networks' mean metric, the training noise, the
    reproducibility (tau between the first two trainings) and the cost.

    Args:
        per_network (dict): Each network's metric per training.
        seconds (float): The trainings' CPU seconds in all.
    """
    runs = list(per_network.values())
    means = np.array([np.mean(v) for v in runs])
    noise = seed_std(runs)
    pairs = [v[:2] for v in runs if len(v) >= 2]
    tau = kendall_tau(*zip(*pairs)) if len(pairs) >= 3 else None
    spread = float(means.std(ddof=1)) if means.size > 1 else 0.
    return dict(
        networks=len(runs),
        trainings=sum(len(v) for v in runs),
        std_of_means=spread,
        range_of_means=float(np.ptp(means)),
        # one training's noise, and the spread of a network's single
        # training around the others' (what a search sees)
        training_noise=noise,
        spread_over_noise=None if not noise else spread / noise,
        tau_between_trainings=tau,
        seconds=float(seconds),
        tau_per_cpu_hour=None if tau is None else tau / (seconds / 3600.))


def measure_spread(plan: SpreadPlan) -> Dict:
    """Draw, train and summarise (see the module); writes
    ``<work_dir>/spread.json`` and returns it."""
    cfg = set_epochs(Config.fromfile(plan.config), plan.epochs)
    target, networks = _draw(plan, cfg)
    trainings = [
        Training(
            f'{n.genotype.name}-seed{s}',
            n.genotype,
            s,
            width=n.width,
            stages=n.stages) for n in networks
        for s in range(plan.seed, plan.seed + plan.repeats)
    ]
    print(
        f'{len(networks)} networks at {target:.4g} GMACs '
        f'+-{plan.tolerance:.0%}, {plan.repeats} trainings each '
        f'({plan.config})',
        flush=True)
    started = time.monotonic()
    metrics = train_all(
        cfg, trainings, osp.join(plan.work_dir, 'trainings'), plan.workers,
        lambda key, m: print(
            f'trained {key}: {m[pick_metric(m, plan.metric)]:.4f}', flush=True
        ))
    key = pick_metric(next(iter(metrics.values())), plan.metric)
    seconds = 0.
    for tr in trainings:
        with open(
                osp.join(plan.work_dir, 'trainings', tr.key,
                         'metrics.json')) as f:
            seconds += float(json.load(f)['seconds'])
    per_network = {
        n.genotype.name: [
            metrics[f'{n.genotype.name}-seed{s}'][key]
            for s in range(plan.seed, plan.seed + plan.repeats)
        ]
        for n in networks
    }
    out = dict(
        plan=dataclasses.asdict(plan),
        metric=key,
        target=target,
        wall_seconds=time.monotonic() - started,
        summary=spread_summary(per_network, seconds),
        networks=[
            dict(
                name=n.genotype.name,
                network=n.describe(),
                metrics=per_network[n.genotype.name],
                **n.to_dict()) for n in networks
        ])
    write_json(osp.join(plan.work_dir, 'spread.json'), out, indent=1)
    return out
