"""Searched cells (and layouts) against random ones of equal cost, trained
and evaluated identically: the library behind
``projects/search_eval/tools/search_vs_random.py``.

``plan`` below is a :class:`SearchComparison`; the lab's docs/log.md
describes the settings and the runs.
"""
import dataclasses
import hashlib
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional

import numpy as np
from mmengine.config import Config

from autopose_mm.models import Genotype, load_genotype
from autopose_mm.search.costs import config_gmacs
from autopose_mm.search.selection import score_genotype
from autopose_mm.search.space import (
    LayoutSpace,
    pair_agreement,
    sample_genotypes_at_cost,
)
from autopose_mm.search.stats import kendall_tau
from autopose_mm.search.training import (
    Training,
    pick_metric,
    run_search,
    train_all,
)
from autopose_mm.utils.io import atomic_write_text

from .progress import Progress
from .report import draw, entropy_rows, group_stats, print_table


@dataclasses.dataclass(frozen=True)
class SearchComparison:
    """What :func:`compare` runs (``tools/search_vs_random.py``): the
    cell searches of ``search_config`` (``seeds`` from ``first_seed``,
    ``search_epochs``, scored on ``score_batches`` batches by ``score``)
    and, with ``bilevel_config``, the bi-level searches
    (``bilevel_seeds``), against ``num_random`` random genotypes
    (``random_seed``; ``random_layouts`` layouts) of equal cost within
    ``tolerance``, plus the published genotype unless ``no_published`` and
    the ``genotypes`` files given; every network trained with
    ``train_config`` (``train_epochs``) ``train_seeds`` times from
    ``train_seed``, ``jobs`` at a time, compared by ``metric``."""
    search_config: str
    train_config: str
    work_dir: str
    profile: str
    seeds: int
    first_seed: int
    search_epochs: Optional[int]
    score_batches: int
    score: str
    bilevel_config: Optional[str]
    bilevel_seeds: int
    num_random: int
    random_seed: int
    random_layouts: Optional[int]
    tolerance: float
    no_published: bool
    genotypes: Optional[List[str]]
    train_epochs: Optional[int]
    train_seed: int
    train_seeds: int
    jobs: int
    metric: Optional[str]


def network_cost(cfg) -> Callable:
    """GMACs of the config's stage-1 network, per genotype (and layout)."""
    return config_gmacs(cfg)


def load_cfg(path: str, epochs: Optional[int], search: bool):
    cfg = Config.fromfile(path)
    if epochs:
        cfg.train_cfg.max_epochs = epochs
        if search and 'warmup_epochs' in cfg.train_cfg:
            cfg.train_cfg.warmup_epochs = epochs // 2
    if search:
        cfg.custom_hooks = [
            dict(h, plot=False) if h.get('type') == 'GenotypeExportHook' else h
            for h in cfg.get('custom_hooks', [])
        ]
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    return cfg


def run_searches(plan, cfg, progress: Progress) -> List[Dict]:
    """The S searches; keeps the first one's supernet for scoring."""
    out = []
    for seed in range(plan.first_seed, plan.first_seed + plan.seeds):
        progress.step(f'cell search, seed {seed}', 'search')
        out.append(
            run_search(cfg, osp.join(plan.work_dir, f'search_{seed}'), seed,
                       plan.score_batches))
        if seed != plan.first_seed:  # only the first supernet scores
            out[-1].pop('model'), out[-1].pop('score_batches')
    return out


def train_entries(plan, cfg, entries: List[Dict], progress: Progress) -> None:
    """Train and test every entry's network once per training seed (each
    in its directory under ``<work_dir>/train``, ``--jobs`` worker
    processes); adds ``seed_metrics`` (one dict per seed) and ``metrics``
    (their mean)."""
    seeds = train_seeds(plan)
    trainings, owner = [], {}
    for e in entries:
        e['seed_metrics'] = [None] * len(seeds)
        for seed in seeds:
            # the run's identity: what is trained, and how
            digest = hashlib.sha1(
                json.dumps(
                    [e['genotype_obj'].to_dict(),
                     e.get('layout'), seed],
                    sort_keys=True).encode()).hexdigest()[:10]
            key = f'{e["name"]}-{digest}'
            trainings.append(
                Training(
                    key, e['genotype_obj'], seed,
                    None if e.get('layout') is None else tuple(e['layout'])))
            owner[key] = (e, seed)
    before = set(finished_keys(plan))
    progress.begin('training')

    def done(key: str, metrics: Dict[str, float]) -> None:
        e, seed = owner[key]
        e['seed_metrics'][seeds.index(seed)] = metrics
        what = (f'training {e["name"]} ({e["gmacs"]:.3f} GMACs), training '
                f'seed {seed}')
        if key in before:
            progress.step(what + ', done before', 'training', skipped=True)
        else:
            progress.step(what + ', finished', 'training', finished=True)

    todo = len([t for t in trainings if t.key not in before])
    if todo:
        print(f'\n{todo} trainings to run, {plan.jobs} at a time', flush=True)
    train_all(cfg, trainings, osp.join(plan.work_dir, 'train'), plan.jobs,
              done)
    for e in entries:
        e['metrics'] = {
            k: float(np.mean([m[k] for m in e['seed_metrics']]))
            for k in e['seed_metrics'][0]
        }


def finished_keys(plan) -> List[str]:
    """The trainings an earlier run of this work dir finished."""
    train_dir = osp.join(plan.work_dir, 'train')
    if not osp.isdir(train_dir):
        return []
    return [
        key for key in sorted(os.listdir(train_dir))
        if osp.isfile(osp.join(train_dir, key, 'metrics.json'))
    ]


def train_seeds(plan) -> List[int]:
    return list(range(plan.train_seed, plan.train_seed + plan.train_seeds))


def searched_genotypes(plan, progress: Progress) -> Dict:
    """The searched genotypes with their histories, and the first
    supernet with its held-out batches (``None`` for ``--genotypes``)."""
    if plan.genotypes:
        histories = []
        for path in plan.genotypes:
            history = osp.join(osp.dirname(path), 'search_history.json')
            if osp.isfile(history):
                with open(history) as f:
                    histories.append(json.load(f))
        return dict(
            genotypes=[Genotype.load(p) for p in plan.genotypes],
            histories=histories,
            supernet=None,
            batches=None)
    search_cfg = load_cfg(plan.search_config, plan.search_epochs, True)
    searches = run_searches(plan, search_cfg, progress)
    return dict(
        genotypes=[s['genotype'] for s in searches],
        histories=[s['history'] for s in searches],
        supernet=searches[0]['model'],
        batches=searches[0]['score_batches'])


def cell_level(plan, progress: Progress) -> Dict:
    train_cfg = load_cfg(plan.train_config, plan.train_epochs, False)
    cost = network_cost(train_cfg)
    found = searched_genotypes(plan, progress)
    searched = found['genotypes']
    target = float(np.mean([cost(g) for g in searched]))
    randoms = sample_genotypes_at_cost(
        plan.num_random, cost, target, plan.tolerance, seed=plan.random_seed)
    entries = [
        dict(group='searched', name=f'searched-{i}', genotype_obj=g)
        for i, g in enumerate(searched)
    ]
    entries += [
        dict(group='random', name=g.name, genotype_obj=g) for g in randoms
    ]
    if not plan.no_published:
        entries.append(
            dict(
                group='published',
                name='published',
                genotype_obj=load_genotype('published')))
    for e in entries:
        e['gmacs'] = cost(e['genotype_obj'])
        e['supernet_score'] = None if found['supernet'] is None else \
            score_genotype(found['supernet'], e['genotype_obj'],
                           found['batches'], plan.score)
    train_entries(plan, train_cfg, entries, progress)
    key = pick_metric(entries[0]['metrics'], plan.metric)
    stats = group_stats(entries, key)
    stats['kendall_tau'] = None if found['supernet'] is None else \
        kendall_tau([e['supernet_score'] for e in entries],
                    [e['metrics'][key] for e in entries])
    stats['agreement'] = pair_agreement(searched)
    stats['entropy'] = entropy_rows(found['histories'])
    stats['gmacs_target'] = target
    stats['metric'] = key
    stats['entries'] = [{
        k: v
        for k, v in e.items() if k != 'genotype_obj'
    }
                        | dict(genotype=e['genotype_obj'].to_dict())
                        for e in entries]
    return stats


def network_level(plan, progress: Progress) -> Dict:
    """The bi-level search's layout against random layouts of equal GMACs,
    all with the bi-level search's cells."""
    search_cfg = load_cfg(plan.bilevel_config, plan.search_epochs, True)
    train_cfg = load_cfg(plan.train_config, plan.train_epochs, False)
    cost = network_cost(train_cfg)
    bb = search_cfg.model.backbone
    space = LayoutSpace(bb.num_cells, bb.get('min_cells', 1),
                        bb.get('max_cells'))
    entries = []
    for seed in range(plan.bilevel_seeds):
        progress.step(f'bi-level search, seed {seed}', 'bi-level search')
        result = run_search(search_cfg,
                            osp.join(plan.work_dir, f'bilevel_{seed}'), seed,
                            0)
        g = result['genotype']
        entries.append(
            dict(
                group='searched',
                name=f'layout-searched-{seed}',
                genotype_obj=g,
                layout=list(g.cells_per_scale)))
    g = entries[0]['genotype_obj']
    target = float(
        np.mean([cost(e['genotype_obj'], e['layout']) for e in entries]))
    chosen = {tuple(e['layout']) for e in entries}
    pool = [
        lay for lay in space.layouts
        if lay not in chosen and abs(cost(g, lay) / target -
                                     1) <= plan.tolerance
    ]
    rng = np.random.default_rng(4321)
    picks = rng.permutation(len(pool))[:plan.random_layouts]
    # fewer layouts in the window: fewer trainings
    progress.drop('training',
                  (plan.random_layouts - len(picks)) * plan.train_seeds)
    entries += [
        dict(
            group='random',
            name=f'layout-random-{i}',
            genotype_obj=g,
            layout=list(pool[j])) for i, j in enumerate(picks)
    ]
    for e in entries:
        e['gmacs'] = cost(e['genotype_obj'], e['layout'])
    train_entries(plan, train_cfg, entries, progress)
    key = pick_metric(entries[0]['metrics'], plan.metric)
    stats = group_stats(entries, key)
    stats.update(
        metric=key,
        gmacs_target=target,
        layouts_in_window=len(pool) + len(chosen))
    stats['entries'] = [{
        k: v
        for k, v in e.items() if k != 'genotype_obj'
    } for e in entries]
    return stats


def compare(plan: SearchComparison) -> None:
    """Search, train and compare as the command line asks; writes
    ``results.json`` and the picture into the work dir."""
    with_net = plan.bilevel_config.lower() != 'none'
    searches = 0 if plan.genotypes else plan.seeds
    trainings = searches + len(plan.genotypes or []) + plan.num_random + \
        (0 if plan.no_published else 1)
    if with_net:
        trainings += plan.bilevel_seeds + plan.random_layouts
    progress = Progress({
        'search':
        searches,
        'training':
        trainings * plan.train_seeds,
        'bi-level search':
        plan.bilevel_seeds if with_net else 0
    })
    results = dict(profile=plan.profile, cells=cell_level(plan, progress))
    if with_net:
        results['network'] = network_level(plan, progress)
    cells = results['cells']
    print_table('Cells: searched vs random of equal cost vs published', cells,
                cells['metric'])
    tau = cells['kendall_tau']
    print(f'supernet ranking, Kendall tau (score vs trained '
          f'{cells["metric"]}): {"n/a" if tau is None else f"{tau:.3f}"}')
    agree = cells['agreement']
    print(f'agreement of chosen (edge, op) pairs between seeds: '
          f'{"n/a" if agree is None else f"{agree:.3f}"}')
    last = max((r['epoch'] for r in cells['entropy']), default=None)
    for r in cells['entropy']:
        if r['epoch'] == last:
            print(f'seed {r["seed"]}, epoch {last}: entropy '
                  f'{r["entropy"]:.3f} of uniform, strongest op '
                  f'{r["max_over_uniform"]:.2f}x uniform')
    if with_net:
        print_table(
            'Network level: searched layout vs random layouts of '
            'equal GMACs', results['network'], results['network']['metric'])
    atomic_write_text(
        osp.join(plan.work_dir, 'results.json'),
        json.dumps(results, allow_nan=False, indent=1))
    draw(results, osp.join(plan.work_dir, 'search_vs_random.png'))
    print(f'\nwrote {osp.join(plan.work_dir, "results.json")} and '
          f'{osp.join(plan.work_dir, "search_vs_random.png")}')
