"""A search's picks against hand-designed networks on one accuracy-latency
plane: the library behind ``projects/search_eval/tools/front_vs_rtmpose.py``.

The picks of a comparison (``results.json`` of ``study_vs_random.py``:
each search's chosen genotype with the metric of its full trainings) and
hand-designed reference networks (configs such as RTMPose-t/s trained
with the same data, input size and schedule) are placed on one plane: the
metric of full training (mean over training seeds) against the latency
measured on one runtime at batch 1, every network timed in the same
rounds. The references are trained by
:func:`autopose_mm.search.training.train_all`, so a rerun resumes and
workers share the work.
"""
import dataclasses
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmpose.registry import MODELS

from autopose_mm.deploy.timing import (
    EstimatorForward,
    make_runner,
    time_rounds,
)
from autopose_mm.search.plots import draw_fronts
from autopose_mm.search.stats import summarize
from autopose_mm.search.study.front import pareto_front
from autopose_mm.search.training import (
    Training,
    pick_metric,
    set_epochs,
    train_all,
)
from autopose_mm.utils.complexity import count_macs, count_params
from autopose_mm.utils.io import write_json
from autopose_mm.utils.limits import limit, read_structured


def reference_name(config: str) -> str:
    """A reference network's name: its config's file name without
    ``.py``."""
    return osp.splitext(osp.basename(config))[0]


def train_references(configs: Sequence[str],
                     seeds: Sequence[int],
                     work_dir: str,
                     workers: int = 1,
                     metric: Optional[str] = None,
                     epochs: Optional[int] = None) -> Dict[str, Dict]:
    """Train each config's own network with every seed and test it.

    Args:
        configs (Sequence[str]): Config files of the reference networks.
        seeds (Sequence[int]): Training seeds.
        work_dir (str): Each training's directory is
            ``work_dir/<name>/<name>-seed<s>``.
        workers (int): Worker processes per reference.
        metric (str, optional): The metric compared (default: COCO AP).
        epochs (int, optional): Override the schedule length.

    Returns:
        dict: Per name: ``config``, ``metric``, ``values`` (per seed) and
        their ``summary``.
    """
    out = {}
    for config in configs:
        name = reference_name(config)
        cfg = Config.fromfile(config)
        set_epochs(cfg, epochs)
        trainings = [Training(f'{name}-seed{s}', None, s) for s in seeds]
        metrics = train_all(cfg, trainings, osp.join(work_dir, name), workers)
        key = pick_metric(next(iter(metrics.values())), metric)
        values = [metrics[tr.key][key] for tr in trainings]
        out[name] = dict(
            config=config,
            metric=key,
            values=values,
            summary=summarize(values))
    return out


def comparison_picks(results: Dict) -> List[Dict]:
    """The picks of a ``study_vs_random.py`` run: per search, its method,
    seed, genotype and the metric of its full trainings."""
    picks = []
    for method, rec in results['methods'].items():
        for s in rec['searches']:
            picks.append(
                dict(
                    name=f'{method}-{s["seed"]}',
                    group=method,
                    genotype=s['best']['genotype'],
                    values=list(s['final']['values']),
                    summary=summarize(s['final']['values'])))
    return picks


def read_comparison(path: str) -> Dict:
    """The ``results.json`` of a ``study_vs_random.py`` run.

    Raises:
        ValueError: Naming the file when it is not such a file.
    """
    data = read_structured(path, 'comparison results',
                           limit('genotype_bytes') * 64,
                           limit('genotype_items'))
    if not isinstance(data, dict) or not {'methods', 'metric', 'final_config'
                                          } <= set(data):
        raise ValueError(
            f'{path!r} is not the results.json of the lab\'s '
            f'tools/study_vs_random.py (it needs "methods", "metric" and '
            f'"final_config"); run that tool first')
    return data


def schedule(cfg: Config) -> Dict:
    """What makes two trainings' schedules the same: epochs, batch size,
    the optimizer with its settings but the learning rate (which a
    network family may set for itself), and the learning-rate steps."""
    optimizer = cfg.optim_wrapper.optimizer.to_dict()
    optimizer.pop('lr', None)
    return dict(
        epochs=cfg.train_cfg.max_epochs,
        batch_size=cfg.train_dataloader.batch_size,
        optimizer=optimizer,
        param_scheduler=[dict(p) for p in cfg.param_scheduler])


def build_estimator(config: str, genotype: Optional[Dict] = None):
    """The estimator of ``config`` (with ``genotype`` when given), as
    built for training but without any pre-trained weights."""
    cfg = Config.fromfile(config)
    if genotype is not None:
        cfg.model.genotype = genotype
    return MODELS.build(cfg.model).eval()


def measure_latency(models: Dict[str, object],
                    input_size: Sequence[int],
                    runtime: str,
                    threads: int,
                    rounds: int = 5,
                    repeats: int = 20) -> Dict[str, Dict]:
    """Batch-1 latency of every model on ``runtime``, measured in
    ``rounds`` rounds that time each model once in turn, so that a slow
    spell of the machine touches every model alike.

    Returns:
        dict: Per name: ``ms`` (the median over rounds), ``rounds`` (each
        round's median milliseconds) and ``spread`` (max - min over
        rounds).
    """
    x = torch.from_numpy(
        np.random.default_rng(0).standard_normal(
            (1, 3, *input_size)).astype('float32'))
    runners = {
        name: make_runner(EstimatorForward(model), (x, ), runtime, threads)
        for name, model in models.items()
    }
    times = time_rounds(runners, rounds, repeats)
    return {
        name:
        dict(ms=float(np.median(t)), rounds=t, spread=float(max(t) - min(t)))
        for name, t in times.items()
    }


def place(results: Dict,
          final_config: str,
          references: Dict[str, Dict],
          input_size: Sequence[int],
          runtime: str,
          threads: int,
          rounds: int = 5) -> Dict:
    """The comparison's picks (``results``, as :func:`read_comparison`
    gives them) and the references trained with its metric
    on one plane: each network's GMACs, parameters, measured latency and
    metric; the fastest reference (the goal's anchor) and the best pick at
    or below its latency."""
    picks = comparison_picks(results)
    models = {
        p['name']: build_estimator(final_config, p['genotype'])
        for p in picks
    }
    models.update({
        n: build_estimator(r['config'])
        for n, r in references.items()
    })
    latency = measure_latency(models, input_size, runtime, threads, rounds)
    shape = (3, *input_size)
    rows = [dict(p, kind='pick') for p in picks] + [
        dict(name=n, group='reference', kind='reference', **r)
        for n, r in references.items()
    ]
    for row in rows:
        model = models[row['name']]
        row.update(
            gmacs=count_macs(model, shape) / 1e9,
            params=count_params(model),
            latency=latency[row['name']])
    anchor = min((r for r in rows if r['kind'] == 'reference'),
                 key=lambda r: r['latency']['ms'])
    within = [
        r for r in rows if r['kind'] == 'pick'
        and r['latency']['ms'] <= anchor['latency']['ms']
    ]
    best = max(within, key=lambda r: r['summary']['mean'], default=None)
    return dict(
        final_config=final_config,
        metric=results['metric'],
        runtime=runtime,
        threads=threads,
        rounds=rounds,
        input_size=list(input_size),
        rows=rows,
        goal=dict(
            anchor=anchor['name'],
            anchor_ms=anchor['latency']['ms'],
            anchor_mean=anchor['summary']['mean'],
            best_pick=None if best is None else best['name'],
            best_pick_mean=None if best is None else best['summary']['mean'],
            met=bool(best is not None
                     and best['summary']['mean'] > anchor['summary']['mean'])))


def draw_plane(report: Dict, path: str) -> None:
    """Metric against measured latency: each method's picks with the
    front over them, the references as labelled stars."""
    groups = sorted(
        {r['group']
         for r in report['rows'] if r['kind'] == 'pick'})

    def point(r):
        return dict(
            cost=r['latency']['ms'],
            value=r['summary']['mean'],
            err=r['summary']['std'])

    fronts = {
        g:
        pareto_front([
            dict(cost=r['latency']['ms'], value=r['summary']['mean'])
            for r in report['rows'] if r['group'] == g
        ])
        for g in groups
    }
    points = [
        dict(point(r), group=r['group'], label=f'{r["group"]} picks')
        for r in report['rows'] if r['kind'] == 'pick'
    ] + [
        dict(point(r), label=r['name'])
        for r in report['rows'] if r['kind'] == 'reference'
    ]
    draw_fronts(
        fronts,
        path,
        f'ms, {report["runtime"]}, {report["threads"]} threads, batch 1',
        points=points,
        metric=f'{report["metric"]}, full training (mean over seeds)')


def print_plane(report: Dict) -> None:
    print(f'\n| network | GMACs | params (M) | {report["runtime"]} ms '
          f'(spread) | {report["metric"]} mean ± std (n) |')
    print('|---|---|---|---|---|')
    for r in sorted(report['rows'], key=lambda r: r['latency']['ms']):
        s = r['summary']
        print(f'| {r["name"]} | {r["gmacs"]:.4f} | {r["params"] / 1e6:.2f} '
              f'| {r["latency"]["ms"]:.2f} ({r["latency"]["spread"]:.2f}) | '
              f'{s["mean"]:.4f} ± {s["std"]:.4f} ({s["n"]}) |')
    g = report['goal']
    verdict = 'met' if g['met'] else 'missed'
    best = ('no pick is as fast' if g['best_pick'] is None else
            f'best pick at or below it: {g["best_pick"]} '
            f'{g["best_pick_mean"]:.4f}')
    print(f'goal ({verdict}): {g["anchor"]} {g["anchor_mean"]:.4f} at '
          f'{g["anchor_ms"]:.2f} ms; {best}')


@dataclasses.dataclass(frozen=True)
class ReferenceComparison:
    """What :func:`front_vs_references` runs
    (``tools/front_vs_rtmpose.py``): the picks of ``results`` (a
    ``study_vs_random.py`` result) beside the ``references`` configs,
    trained with ``train_seeds`` seeds from ``train_seed`` (None: the
    picks' own) in ``work_dir``, timed on ``runtime`` with ``threads`` in
    ``rounds`` interleaved rounds."""
    results: str
    references: Sequence[str]
    work_dir: str
    final_config: Optional[str] = None
    train_seeds: Optional[int] = None
    train_seed: int = 0
    workers: int = 1
    runtime: str = 'openvino'
    threads: int = 2
    rounds: int = 5


def front_vs_references(plan: ReferenceComparison) -> Dict:
    """Train the references, place them beside the picks, write
    ``front_vs_rtmpose.json`` and ``.png`` into the work dir."""
    results = read_comparison(plan.results)
    final_config = plan.final_config or results['final_config']
    epochs = results.get('final_epochs')
    cfg = Config.fromfile(final_config)
    if epochs:
        cfg.train_cfg.max_epochs = epochs
    for config in plan.references:
        ref = Config.fromfile(config)
        if epochs:
            ref.train_cfg.max_epochs = epochs
        if schedule(ref) != schedule(cfg):
            raise ValueError(
                f'{config} does not train with the schedule of the picks '
                f'({final_config}, {schedule(cfg)}); give it the same '
                f'epochs, batch size, optimizer and steps (the learning '
                f'rate may differ)')
    seeds = (
        results['train_seeds'] if plan.train_seeds is None else list(
            range(plan.train_seed, plan.train_seed + plan.train_seeds)))
    references = train_references(plan.references, seeds, plan.work_dir,
                                  plan.workers, results['metric'], epochs)
    w, h = cfg.codec['input_size']
    report = place(results, final_config, references, (h, w), plan.runtime,
                   plan.threads, plan.rounds)
    report.update(results=plan.results, references=references)
    write_json(
        osp.join(plan.work_dir, 'front_vs_rtmpose.json'), report, indent=1)
    draw_plane(report, osp.join(plan.work_dir, 'front_vs_rtmpose.png'))
    print_plane(report)
    return report


__all__ = [
    'train_references', 'read_comparison', 'comparison_picks',
    'measure_latency', 'place', 'draw_plane', 'print_plane',
    'front_vs_references'
]
