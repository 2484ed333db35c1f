"""The study-based search against random search given the same compute:
the library behind ``projects/search_eval/tools/study_vs_random.py``.

For each of S seeds, two searches of one cost target run on the same
trial config (candidate network, short schedule, the search's own test
set): the study (its configured sampler and pruner) and random search (the
random sampler, no pruning), each allowed the same training epochs. Each
search's best network is then trained fully with the comparison's seeds on
the comparison's own test set (the final config); the methods are compared
by those networks' metric (mean, std, a one-sided Welch test), by the
hypervolume of their fronts, and by what they spent. ``plan`` is a
:class:`StudyComparison`.
"""
import dataclasses
import json
import os.path as osp
import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope

from autopose_mm.datasets import ensure_sample_data
from autopose_mm.models.genotype import Genotype
from autopose_mm.search.plots import draw_fronts
from autopose_mm.search.stats import summarize, welch_greater
from autopose_mm.search.study import (
    hypervolume,
    resolve_targets,
    run_study,
    rung_taus,
    spec_from_config,
    write_search,
)
from autopose_mm.search.study.space import genotype_params
from autopose_mm.search.study.workers import sqlite_url
from autopose_mm.search.training import Training, pick_metric, train_all
from autopose_mm.utils.io import work_dir_lock, write_json

METHODS = ('study', 'random')


@dataclasses.dataclass(frozen=True)
class SearchComparison:
    """What a comparison of searches at equal compute runs, whatever it
    searches.

    Args:
        config (str): Trial config with a ``study`` section.
        final_config (str): Config of the picks' full trainings.
        work_dir (str): Where everything is kept (a rerun resumes).
        seeds (int): Searches per method, seeds ``first_seed`` on.
        first_seed (int): The first search seed.
        budget_epochs (int): Training epochs each search may spend.
        train_seeds (int): Full trainings per pick, seeds ``train_seed`` on.
        train_seed (int): The first training seed.
        final_epochs (int, optional): Schedule of the full trainings.
        workers (int): Worker processes.
        metric (str, optional): The metric compared.
        storage (str, optional): An Optuna storage URL for the searches.
    """
    config: str
    final_config: str
    work_dir: str
    seeds: int
    first_seed: int
    budget_epochs: int
    train_seeds: int
    train_seed: int
    final_epochs: Optional[int]
    workers: int
    metric: Optional[str]
    storage: Optional[str]


@dataclasses.dataclass(frozen=True)
class StudyComparison(SearchComparison):
    """What :func:`compare_studies` runs (``tools/study_vs_random.py``):
    a :class:`SearchComparison` of cell studies at one cost.

    Args:
        target (float, optional): Cost target; default the median cost
            of random genotypes.
        tolerance (float): The cost window, a fraction of the target.
    """
    target: Optional[float]
    tolerance: float


def storage_url(plan) -> str:
    """Where every search and training of the comparison is kept."""
    return plan.storage or sqlite_url(osp.join(plan.work_dir, 'studies.db'))


def method_spec(plan, method: str, seed: int, target: float):
    """The spec of one search: the config's study for ``'study'``, random
    sampling without pruning for ``'random'``; same budget and target."""
    overrides = dict(
        seed=seed,
        targets=[target],
        budget_epochs=plan.budget_epochs,
        tolerance=plan.tolerance,
        name=f'{method}-{seed}',
        storage=storage_url(plan))
    if method == 'random':
        overrides.update(sampler='random', pruner='none')
    return spec_from_config(plan.config,
                            osp.join(plan.work_dir, f'{method}_{seed}'),
                            **overrides)


def run_analysis(function: Callable[[Any], Dict], plan, what: str) -> Dict:
    """Run an analysis tool's ``function(plan)``: the sample data made if
    missing, the work dir locked against a second run."""
    init_default_scope('mmpose')
    ensure_sample_data(plan.config, plan.final_config)
    with work_dir_lock(plan.work_dir, what):
        return function(plan)


def target_spec(plan):
    """The config's study with the tool's cost target (the median cost of
    random genotypes when none is given) and tolerance."""
    return resolve_targets(
        spec_from_config(
            plan.config,
            plan.work_dir,
            targets=[plan.target] if plan.target else None,
            tolerance=plan.tolerance))


def final_config(plan) -> Config:
    """The config of the full trainings, with the tool's schedule
    length."""
    cfg = Config.fromfile(plan.final_config)
    if plan.final_epochs:
        cfg.train_cfg.max_epochs = plan.final_epochs
        cfg.train_cfg.val_interval = plan.final_epochs
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    return cfg


def compare_studies(plan: StudyComparison) -> Dict:
    """Run both searches per seed, train their picks, compare; writes
    ``results.json`` and ``study_vs_random.png`` into the work dir."""
    base = target_spec(plan)
    target = base.targets[0]
    seeds = list(range(plan.first_seed, plan.first_seed + plan.seeds))
    searches: Dict[str, List[Dict]] = {m: [] for m in METHODS}
    # wall time of this invocation (a resumed run counts only what it ran)
    started = time.monotonic()
    for seed in seeds:
        for method in METHODS:
            spec = method_spec(plan, method, seed, target)
            print(
                f'\n== {method} search, seed {seed}: {spec.sampler} '
                f'sampler, {spec.pruner} pruner, {spec.budget_epochs} '
                f'epochs, target {target:.4g} {spec.cost_unit} ==',
                flush=True)
            run_study(spec, plan.workers)
            report = write_search(spec)
            rec = report['studies'][0]
            searches[method].append(
                dict(
                    seed=seed,
                    best=rec['best'],
                    epochs=rec['epochs'],
                    seconds=rec['seconds'],
                    trials=rec['trials'],
                    outside_window=rec['outside_window'],
                    rung_taus=rec['rung_taus'],
                    front=report['front'],
                    rows=rec['rows']))
    wall = dict(searches=time.monotonic() - started)
    train_seeds = list(
        range(plan.train_seed, plan.train_seed + plan.train_seeds))
    # a genotype picked by several searches (a study's first trials are
    # random, as random search's are) is trained once per seed, under the
    # name of the first search that picked it
    owner: Dict[str, str] = {}
    trainings = []
    for m in METHODS:
        for s in searches[m]:
            genotype = Genotype.from_dict(s['best']['genotype'])
            identity = json.dumps(genotype_params(genotype), sort_keys=True)
            name = f'{m}-{s["seed"]}'
            s['trained_as'] = owner.setdefault(identity, name)
            if s['trained_as'] == name:
                trainings += [
                    Training(f'{name}-seed{ts}', genotype, ts)
                    for ts in train_seeds
                ]
    print(
        f'\n== {len(trainings)} full trainings of the chosen networks '
        f'({plan.final_config}) ==',
        flush=True)
    cfg = final_config(plan)
    started = time.monotonic()
    metrics = train_all(
        cfg, trainings, osp.join(plan.work_dir, 'final'), plan.workers,
        lambda key, m: print(
            f'trained {key}: {pick_metric(m, plan.metric)}'
            f' {m[pick_metric(m, plan.metric)]:.4f}',
            flush=True))
    wall['trainings'] = time.monotonic() - started
    key = pick_metric(next(iter(metrics.values())), plan.metric)
    ref_cost = target * (1 + plan.tolerance)
    for m in METHODS:
        for s in searches[m]:
            values = [
                metrics[f'{s["trained_as"]}-seed{ts}'][key]
                for ts in train_seeds
            ]
            s['final'] = dict(
                values=values,
                mean=float(np.mean(values)),
                cost=s['best']['cost'])
            s['hypervolume'] = hypervolume(s['rows'], ref_cost)
    finals = {m: [s['final']['mean'] for s in searches[m]] for m in METHODS}
    results = dict(
        config=plan.config,
        final_config=plan.final_config,
        final_epochs=plan.final_epochs,
        target=target,
        cost_unit=base.cost_unit,
        tolerance=plan.tolerance,
        budget_epochs=plan.budget_epochs,
        metric=key,
        train_seeds=train_seeds,
        trainings=len(trainings),
        wall_seconds={
            k: round(v, 1)
            for k, v in wall.items()
        },
        methods={
            m:
            dict(
                final=summarize(finals[m]),
                hypervolume=summarize([s['hypervolume'] for s in searches[m]]),
                epochs=summarize([s['epochs'] for s in searches[m]]),
                seconds=summarize([s['seconds'] for s in searches[m]]),
                searches=[{
                    k: v
                    for k, v in s.items() if k != 'rows'
                } for s in searches[m]])
            for m in METHODS
        },
        welch_p=welch_greater(finals['study'], finals['random']),
        pooled_rung_taus=rung_taus(
            [r for m in METHODS for s in searches[m] for r in s['rows']]),
        hypervolume_welch_p=welch_greater(
            [s['hypervolume'] for s in searches['study']],
            [s['hypervolume'] for s in searches['random']]))
    write_json(osp.join(plan.work_dir, 'results.json'), results, indent=1)
    draw_comparison(results, searches,
                    osp.join(plan.work_dir, 'study_vs_random.png'))
    print_comparison(results)
    return results


def draw_comparison(results: Dict, searches: Dict, path: str) -> None:
    """The first seed's fronts of both methods over their trials, and every
    search's pick trained fully (mean and std over its trainings), in its
    method's colour."""
    fronts = {m: searches[m][0]['front'] for m in METHODS}
    trials = {m: searches[m][0]['rows'] for m in METHODS}
    points = []
    for m in METHODS:
        for s in searches[m]:
            points.append(
                dict(
                    group=m,
                    label=f'{m} search\'s picks, trained fully',
                    cost=s['final']['cost'],
                    value=s['final']['mean'],
                    err=float(np.std(s['final']['values']))))
    draw_fronts(
        fronts, path, results['cost_unit'], trials, points,
        f'{results["metric"]} (fronts: short training; stars: '
        f'full)')


def print_comparison(results: Dict) -> None:
    key = results['metric']
    print(f'\n| method | searches | chosen network, full training ({key}) '
          f'mean ± std | hypervolume | epochs spent | seconds |')
    print('|---|---|---|---|---|---|')
    for m in METHODS:
        r = results['methods'][m]
        print(f'| {m} | {r["final"]["n"]} | {r["final"]["mean"]:.4f} ± '
              f'{r["final"]["std"]:.4f} | {r["hypervolume"]["mean"]:.5f} | '
              f'{r["epochs"]["mean"]:.1f} | {r["seconds"]["mean"]:.0f} |')
    p = results['welch_p']
    print(f'study > random, one-sided Welch p = '
          f'{"n/a" if p is None else f"{p:.3f}"}')
    taus = ', '.join(
        f'{k} epochs: {"n/a" if v["tau"] is None else round(v["tau"], 2)}'
        f' (n={v["n"]})' for k, v in results['pooled_rung_taus'].items())
    print(f'Kendall tau of each rung against the last, over every candidate '
          f'trained to the end by either method: {taus or "n/a"}')
    wall = results['wall_seconds']
    print(f'wall time: searches {wall["searches"] / 60:.1f} min, '
          f'{results["trainings"]} full trainings '
          f'{wall["trainings"] / 60:.1f} min')


__all__ = [
    'compare_studies', 'method_spec', 'print_comparison', 'draw_comparison'
]
