"""Searched cells (and layouts) against random ones of equal cost, trained
and evaluated identically: the library behind
``projects/search_eval/tools/search_vs_random.py``.

``args`` below is the tool's parsed command line (any object with those
attributes); the lab's docs/log.md describes the settings and the
runs.
"""
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


def run_searches(args, cfg, progress: Progress) -> List[Dict]:
    """The S searches; keeps the first one's supernet for scoring."""
    out = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        progress.step(f'cell search, seed {seed}', 'search')
        out.append(
            run_search(cfg, osp.join(args.work_dir, f'search_{seed}'), seed,
                       args.score_batches))
        if seed != args.first_seed:  # only the first supernet scores
            out[-1].pop('model'), out[-1].pop('score_batches')
    return out


def train_entries(args, cfg, entries: List[Dict], progress: Progress) -> None:
    """Train and test every entry's network once per training seed (each
    in its directory under ``<work_dir>/train``, ``--jobs`` worker
    processes); adds ``seed_metrics`` (one dict per seed) and ``metrics``
    (their mean)."""
    seeds = train_seeds(args)
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
    before = set(finished_keys(args))
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
        print(f'\n{todo} trainings to run, {args.jobs} at a time', flush=True)
    train_all(cfg, trainings, osp.join(args.work_dir, 'train'), args.jobs,
              done)
    for e in entries:
        e['metrics'] = {
            k: float(np.mean([m[k] for m in e['seed_metrics']]))
            for k in e['seed_metrics'][0]
        }


def finished_keys(args) -> List[str]:
    """The trainings an earlier run of this work dir finished."""
    train_dir = osp.join(args.work_dir, 'train')
    if not osp.isdir(train_dir):
        return []
    return [
        key for key in sorted(os.listdir(train_dir))
        if osp.isfile(osp.join(train_dir, key, 'metrics.json'))
    ]


def train_seeds(args) -> List[int]:
    return list(range(args.train_seed, args.train_seed + args.train_seeds))


def searched_genotypes(args, progress: Progress) -> Dict:
    """The searched genotypes with their histories, and the first
    supernet with its held-out batches (``None`` for ``--genotypes``)."""
    if args.genotypes:
        histories = []
        for path in args.genotypes:
            history = osp.join(osp.dirname(path), 'search_history.json')
            if osp.isfile(history):
                with open(history) as f:
                    histories.append(json.load(f))
        return dict(
            genotypes=[Genotype.load(p) for p in args.genotypes],
            histories=histories,
            supernet=None,
            batches=None)
    search_cfg = load_cfg(args.search_config, args.search_epochs, True)
    searches = run_searches(args, search_cfg, progress)
    return dict(
        genotypes=[s['genotype'] for s in searches],
        histories=[s['history'] for s in searches],
        supernet=searches[0]['model'],
        batches=searches[0]['score_batches'])


def cell_level(args, progress: Progress) -> Dict:
    train_cfg = load_cfg(args.train_config, args.train_epochs, False)
    cost = network_cost(train_cfg)
    found = searched_genotypes(args, progress)
    searched = found['genotypes']
    target = float(np.mean([cost(g) for g in searched]))
    randoms = sample_genotypes_at_cost(
        args.num_random, cost, target, args.tolerance, seed=args.random_seed)
    entries = [
        dict(group='searched', name=f'searched-{i}', genotype_obj=g)
        for i, g in enumerate(searched)
    ]
    entries += [
        dict(group='random', name=g.name, genotype_obj=g) for g in randoms
    ]
    if not args.no_published:
        entries.append(
            dict(
                group='published',
                name='published',
                genotype_obj=load_genotype('published')))
    for e in entries:
        e['gmacs'] = cost(e['genotype_obj'])
        e['supernet_score'] = None if found['supernet'] is None else \
            score_genotype(found['supernet'], e['genotype_obj'],
                           found['batches'], args.score)
    train_entries(args, train_cfg, entries, progress)
    key = pick_metric(entries[0]['metrics'], args.metric)
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


def network_level(args, progress: Progress) -> Dict:
    """The bi-level search's layout against random layouts of equal GMACs,
    all with the bi-level search's cells."""
    search_cfg = load_cfg(args.bilevel_config, args.search_epochs, True)
    train_cfg = load_cfg(args.train_config, args.train_epochs, False)
    cost = network_cost(train_cfg)
    bb = search_cfg.model.backbone
    space = LayoutSpace(bb.num_cells, bb.get('min_cells', 1),
                        bb.get('max_cells'))
    entries = []
    for seed in range(args.bilevel_seeds):
        progress.step(f'bi-level search, seed {seed}', 'bi-level search')
        result = run_search(search_cfg,
                            osp.join(args.work_dir, f'bilevel_{seed}'), seed,
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
                                     1) <= args.tolerance
    ]
    rng = np.random.default_rng(4321)
    picks = rng.permutation(len(pool))[:args.random_layouts]
    # fewer layouts in the window: fewer trainings
    progress.drop('training',
                  (args.random_layouts - len(picks)) * args.train_seeds)
    entries += [
        dict(
            group='random',
            name=f'layout-random-{i}',
            genotype_obj=g,
            layout=list(pool[j])) for i, j in enumerate(picks)
    ]
    for e in entries:
        e['gmacs'] = cost(e['genotype_obj'], e['layout'])
    train_entries(args, train_cfg, entries, progress)
    key = pick_metric(entries[0]['metrics'], args.metric)
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


def compare(args) -> None:
    """Search, train and compare as the command line asks; writes
    ``results.json`` and the picture into the work dir."""
    with_net = args.bilevel_config.lower() != 'none'
    searches = 0 if args.genotypes else args.seeds
    trainings = searches + len(args.genotypes or []) + args.num_random + \
        (0 if args.no_published else 1)
    if with_net:
        trainings += args.bilevel_seeds + args.random_layouts
    progress = Progress({
        'search':
        searches,
        'training':
        trainings * args.train_seeds,
        'bi-level search':
        args.bilevel_seeds if with_net else 0
    })
    results = dict(profile=args.profile, cells=cell_level(args, progress))
    if with_net:
        results['network'] = network_level(args, progress)
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
        osp.join(args.work_dir, 'results.json'),
        json.dumps(results, allow_nan=False, indent=1))
    draw(results, osp.join(args.work_dir, 'search_vs_random.png'))
    print(f'\nwrote {osp.join(args.work_dir, "results.json")} and '
          f'{osp.join(args.work_dir, "search_vs_random.png")}')
