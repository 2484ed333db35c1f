"""Does the search beat chance? Searched cells against random cells of equal
cost, trained and evaluated identically.

    python tools/analysis/search_vs_random.py [--profile cpu|test]
        [--search-config CFG] [--train-config CFG] [--bilevel-config CFG]
        [--seeds S] [--num-random R] [--train-seeds T] [--jobs J]
        [--work-dir DIR]

1. runs the cell search with S seeds (S searched genotypes);
2. draws R random genotypes of the same space whose derived network costs
   within +-10% of the searched ones' mean GMACs (analytic);
3. adds the published genotype;
4. trains every derived network with one schedule and T training seeds
   (J at a time, each in its own process), and evaluates it with the
   training config's test metric (COCO AP with the detection file, or
   PCKh); a genotype's metric is the mean over its trainings, and the
   standard deviation between seeds measures the evaluation's own noise;
5. scores every genotype with the first seed's supernet (its weights,
   discretised to that genotype, on the held-out half) and prints Kendall's
   tau between that score and the trained metric;
6. prints the stability of the search (agreement of the chosen (edge,
   operation) pairs between seeds; entropy of the operation weights per
   epoch) and a table with the searched cells' rank among the random ones
   and Welch's t-test;
7. the network level: the bi-level search's layout against random layouts
   of equal GMACs, with the same cells.

Writes ``results.json`` (strict JSON) and ``search_vs_random.png`` (metric
against GMACs per group; entropy per epoch). Every finished run leaves its
own result file, so an interrupted evaluation continues where it stopped.
"""
import argparse
import hashlib
import json
import math
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
DEMO = osp.join(REPO, 'configs', 'autopose', 'demo')

# Settings of the two profiles; every one can be overridden on the command
# line. "cpu" is for 2 CPU cores and the built-in sample data (two
# trainings per genotype, two at a time: 51 min with the single-path
# search scored by its supernet, 67 min with its trained shortlist on a
# slower day), "test" is the test suite's end-to-end run.
PROFILES = {
    'cpu':
    dict(
        seeds=4,
        num_random=10,
        search_epochs=None,
        train_epochs=None,
        random_layouts=3,
        bilevel_seeds=1,
        score_batches=4,
        train_seeds=2,
        jobs=2),
    'test':
    dict(
        seeds=2,
        num_random=2,
        search_epochs=2,
        train_epochs=1,
        random_layouts=1,
        bilevel_seeds=1,
        score_batches=1,
        train_seeds=1,
        jobs=1),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--profile', choices=sorted(PROFILES), default='cpu')
    parser.add_argument(
        '--search-config',
        default=osp.join(DEMO, 'search_l6_c16_sample_coco_64x48.py'))
    parser.add_argument(
        '--train-config',
        default=osp.join(DEMO, 'proxy_l6_c16_sample_coco_128x96.py'))
    parser.add_argument(
        '--bilevel-config',
        default=osp.join(DEMO, 'bilevel_search_tiny_sample_coco_64x48.py'),
        help='bi-level search config for the network level; "none" skips '
        'the network level')
    parser.add_argument('--seeds', type=int, help='searches (S)')
    parser.add_argument(
        '--first-seed',
        type=int,
        default=0,
        help='the searches use seeds first-seed .. first-seed + S - 1 (a '
        'replication takes other seeds)')
    parser.add_argument(
        '--random-seed',
        type=int,
        default=1234,
        help='seed of the draw of the random genotypes')
    parser.add_argument(
        '--genotypes',
        nargs='+',
        help='evaluate these genotype files (e.g. an earlier search\'s '
        'genotype.json) instead of searching; the supernet ranking is then '
        'skipped, and the entropy is read from a search_history.json beside '
        'each file when there is one')
    parser.add_argument('--num-random', type=int, help='random genotypes (R)')
    parser.add_argument(
        '--no-published',
        action='store_true',
        help='leave out the published genotype')
    parser.add_argument('--random-layouts', type=int)
    parser.add_argument(
        '--search-epochs',
        type=int,
        help='override the search length (half warm-up)')
    parser.add_argument(
        '--train-epochs',
        type=int,
        help='override the training schedule length')
    parser.add_argument(
        '--train-seed', type=int, default=0, help='first training seed')
    parser.add_argument(
        '--train-seeds',
        type=int,
        help='trainings per genotype, with seeds train-seed, train-seed + '
        '1, ...; a genotype\'s metric is their mean')
    parser.add_argument(
        '--jobs',
        type=int,
        help='trainings run at the same time, each in its own process '
        'with an equal share of the CPU cores')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=0.1,
        help='relative GMACs window of the random group')
    parser.add_argument(
        '--metric',
        help='metric key (default: coco/AP, '
        'else PCKh, else PCK)')
    parser.add_argument(
        '--score',
        choices=['pck', 'loss'],
        default='pck',
        help='what the supernet scores a genotype by (Kendall\'s tau): '
        'minus its heatmap loss, or the PCK of its heatmaps')
    parser.add_argument('--work-dir', default='work_dirs/search_vs_random')
    args = parser.parse_args()
    for key, value in PROFILES[args.profile].items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    for key in ('train_seeds', 'jobs'):
        if getattr(args, key) < 1:
            parser.error(f'--{key.replace("_", "-")} must be at least 1, got '
                         f'{getattr(args, key)}')
    return args


class Progress:
    """Prints which run of how many, the elapsed time and an ETA: for each
    kind of run (``totals``: kind -> count), the runs left times the time
    that kind has taken per run so far (trainings in parallel processes
    count by their throughput); the runs of a kind that has not finished
    one yet are named beside it."""

    def __init__(self, totals: Dict[str, int]) -> None:
        self.totals = dict(totals)
        self.total = sum(self.totals.values())
        self.count = 0
        self.completed = dict.fromkeys(self.totals, 0)  # timed
        self.skipped = dict.fromkeys(self.totals, 0)  # done before
        self.spent = dict.fromkeys(self.totals, 0.)
        self.kind: Optional[str] = None  # what the clock counts now
        self.running: Optional[str] = None  # a run announced at its start
        self.start = self.mark = time.time()

    def drop(self, kind: str, count: int) -> None:
        """``count`` runs of ``kind`` announced in the totals will not
        run."""
        self.totals[kind] -= count
        self.total -= count

    def begin(self, kind: str) -> None:
        """From now on the time is ``kind``'s; a run announced at its start
        has ended."""
        now = time.time()
        if self.kind is not None:
            self.spent[self.kind] += now - self.mark
        if self.running is not None:
            self.completed[self.running] += 1
            self.running = None
        self.kind, self.mark = kind, now

    def eta(self) -> Tuple[float, Dict[str, int]]:
        """Seconds left for the kinds that have finished a run, and how
        many runs are left of the kinds that have not (not timed yet)."""
        left, untimed = 0., {}
        for kind, total in self.totals.items():
            rest = total - self.completed[kind] - self.skipped[kind]
            if rest <= 0:
                continue
            if not self.completed[kind]:
                untimed[kind] = rest
                continue
            per_run = self.spent[kind] / self.completed[kind]
            if kind == self.running:  # under way since the last mark
                rest -= 1
                left += max(0., per_run - (time.time() - self.mark))
            left += rest * per_run
        return left, untimed

    def step(self,
             what: str,
             kind: str,
             finished: bool = False,
             skipped: bool = False) -> None:
        """Announce run ``what`` of ``kind``: one that starts now, with
        ``finished`` one that has just ended (runs in parallel processes),
        with ``skipped`` one finished before this invocation."""
        self.begin(kind)
        self.count += 1
        if skipped:
            self.skipped[kind] += 1
        elif finished:
            self.completed[kind] += 1
        else:
            self.running = kind
        left, untimed = self.eta()
        note = ''
        if self.count - (self.running is not None) < self.total:
            parts = [f'{left / 60:.1f} min'] if left or not untimed else []
            if untimed:
                parts.append(', '.join(f'{n} {kind}(s)'
                                       for kind, n in untimed.items()) +
                             ' not timed yet')
            note = ', ETA ' + ' + '.join(parts)
        elapsed = time.time() - self.start
        print(
            f'\n===== run {self.count}/{self.total}: {what} '
            f'[elapsed {elapsed / 60:.1f} min{note}] =====',
            flush=True)


def network_cost(cfg) -> Callable:
    """GMACs of the config's stage-1 network, per genotype (and layout)."""
    from autopose_mm.models import AutoPoseNet, analytic_macs
    bb = cfg.model.backbone
    s = AutoPoseNet.resolve_arch(
        bb.get('arch'), bb.get('num_cells'), bb.get('base_channels'),
        bb.get('reduction_indices'))
    bounds = (0, ) + s['reduction_indices'] + (s['num_cells'], )
    default_layout = [b - a for a, b in zip(bounds, bounds[1:])]
    w, h = cfg.codec['input_size']

    def cost(genotype, layout=None) -> float:
        return analytic_macs(genotype, layout or default_layout,
                             s['base_channels'],
                             (h, w), cfg.model.head.out_channels) / 1e9

    return cost


def load_cfg(path: str, epochs: Optional[int], search: bool):
    from mmengine.config import Config
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
    from autopose_mm.engine.search_eval import run_search
    out = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        progress.step(f'cell search, seed {seed}', 'search')
        out.append(
            run_search(cfg, osp.join(args.work_dir, f'search_{seed}'), seed,
                       args.score_batches))
        if seed != args.first_seed:  # only the first supernet scores
            out[-1].pop('model'), out[-1].pop('score_batches')
    return out


def train_all(args, cfg, entries: List[Dict], progress: Progress) -> None:
    """Train and test every entry's network once per training seed (in
    ``--jobs`` processes); adds ``seed_metrics`` (one dict per seed) and
    ``metrics`` (their mean)."""
    from autopose_mm.engine.search_eval import train_many
    from autopose_mm.utils.io import read_result, write_result
    seeds = train_seeds(args)
    runs = []  # (entry, seed, run directory)
    for e in entries:
        e['seed_metrics'] = [None] * len(seeds)
        for seed in seeds:
            # the run's identity: what is trained, and how
            key = json.dumps([
                e['genotype_obj'].to_dict(),
                e.get('layout'),
                cfg.to_dict(), seed
            ],
                             sort_keys=True,
                             default=str)
            digest = hashlib.sha1(key.encode()).hexdigest()[:10]
            runs.append((e, seed,
                         osp.join(args.work_dir, 'train',
                                  f'{e["name"]}-{digest}')))

    def what(run) -> str:
        e, seed, _ = run
        return (f'training {e["name"]} ({e["gmacs"]:.3f} GMACs), training '
                f'seed {seed}')

    def record(run, metrics: Dict[str, float]) -> None:
        e, seed, _ = run
        e['seed_metrics'][seeds.index(seed)] = metrics

    def save(run, metrics: Dict[str, float]) -> None:
        # a non-finite metric stops the evaluation here
        write_result(osp.join(run[2], 'result.json'), metrics)
        record(run, metrics)

    todo = []
    for run in runs:
        result = osp.join(run[2], 'result.json')
        if osp.isfile(result):  # finished earlier
            metrics = read_result(result)
            progress.step(
                what(run) + ', done before', 'training', skipped=True)
            record(run, metrics)
        else:
            todo.append(run)
    if args.jobs <= 1:
        for run in todo:
            progress.step(what(run), 'training')
            (_, metrics), = train_many(cfg, [
                (run[0]['genotype_obj'], run[2], run[1], run[0].get('layout'))
            ])
            save(run, metrics)
    else:
        jobs = [(e['genotype_obj'], run_dir, seed, e.get('layout'))
                for e, seed, run_dir in todo]
        print(
            f'\n{len(jobs)} trainings to run, {args.jobs} at a time',
            flush=True)
        progress.begin('training')
        for i, metrics in train_many(cfg, jobs, args.jobs):
            save(todo[i], metrics)
            progress.step(
                what(todo[i]) + ', finished', 'training', finished=True)
    for e in entries:
        e['metrics'] = {
            k: float(np.mean([m[k] for m in e['seed_metrics']]))
            for k in e['seed_metrics'][0]
        }


def train_seeds(args) -> List[int]:
    return list(range(args.train_seed, args.train_seed + args.train_seeds))


def entropy_rows(histories: Sequence[Dict]) -> List[Dict]:
    """Per seed and epoch: the mean over cell types of the normalised
    entropy and of the strongest operation's weight over uniform."""
    from autopose_mm.utils.search_stats import history_movement
    rows = []
    for seed, history in enumerate(histories):
        for r in history_movement(history):
            cells = r['cells'].values()
            rows.append(
                dict(
                    seed=seed,
                    epoch=r['epoch'],
                    entropy=float(np.mean([c['entropy'] for c in cells])),
                    max_over_uniform=float(
                        np.mean([c['max_over_uniform'] for c in cells])),
                    cells=r['cells']))
    return rows


def group_stats(entries: List[Dict], key: str) -> Dict:
    from autopose_mm.utils.search_stats import (
        rank_among,
        seed_std,
        summarize,
        welch_greater,
    )
    by = {}
    for e in entries:
        by.setdefault(e['group'], []).append(e)
    table = {}
    for group, items in by.items():
        s = summarize([i['metrics'][key] for i in items])
        s['gmacs'] = float(np.mean([i['gmacs'] for i in items]))
        table[group] = s
    searched = [i['metrics'][key] for i in by.get('searched', [])]
    random = [i['metrics'][key] for i in by.get('random', [])]
    ranks = [rank_among(v, random) for v in searched]
    # how well the evaluation resolves architectures: the noise of one
    # training (seed to seed) against the random group's spread
    noise = seed_std([[m[key] for m in e['seed_metrics']] for e in entries])
    seeds = len(entries[0]['seed_metrics'])
    spread = table['random']['std'] if len(random) > 1 else None
    arch = None
    if noise is not None and spread is not None:
        arch = math.sqrt(max(0.0, spread**2 - noise**2 / seeds))
    return dict(
        table=table,
        searched_ranks=ranks,
        num_random=len(random),
        welch_p=welch_greater(searched, random),
        train_seeds=seeds,
        seed_std=noise,
        architecture_std=arch)


def print_table(title: str, stats: Dict, key: str) -> None:
    print(f'\n{title}')
    print(f'| group | n | {key} mean +- std | best | GMACs |')
    print('|---|---|---|---|---|')
    for group, s in stats['table'].items():
        print(f'| {group} | {s["n"]} | {s["mean"]:.3f} +- {s["std"]:.3f} | '
              f'{s["best"]:.3f} | {s["gmacs"]:.3f} |')
    p = stats['welch_p']
    print(f'searched ranks among {stats["num_random"]} random: '
          f'{stats["searched_ranks"]}; Welch t-test searched > random: '
          f'p = {"n/a" if p is None else f"{p:.4f}"}')
    noise, n = stats['seed_std'], stats['train_seeds']
    if noise is not None:
        arch = stats['architecture_std']
        print(f'evaluation noise: one training\'s {key} has std {noise:.3f} '
              f'between seeds, the mean of {n}: {noise / math.sqrt(n):.3f}; '
              f'spread of the random architectures beyond that noise: '
              f'{"n/a" if arch is None else f"{arch:.3f}"}')


def searched_genotypes(args, progress: Progress) -> Dict:
    """The searched genotypes with their histories, and the first
    supernet with its held-out batches (``None`` for ``--genotypes``)."""
    from autopose_mm.models import Genotype
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
    from autopose_mm.engine.search_eval import pick_metric, score_genotype
    from autopose_mm.models import load_genotype
    from autopose_mm.models.random_genotype import (
        pair_agreement,
        sample_genotypes_at_cost,
    )
    from autopose_mm.utils.search_stats import kendall_tau
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
    train_all(args, train_cfg, entries, progress)
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
    from autopose_mm.engine.search_eval import pick_metric, run_search
    from autopose_mm.models import LayoutSpace
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
    train_all(args, train_cfg, entries, progress)
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


def draw(results: Dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    cells = results['cells']
    colors = dict(searched='tab:red', random='tab:gray', published='tab:blue')
    for group, color in colors.items():
        items = [e for e in cells['entries'] if e['group'] == group]
        if items:
            key = cells['metric']
            x = [e['gmacs'] for e in items]
            y = [e['metrics'][key] for e in items]
            # the range over training seeds
            lo = [
                y_ - min(m[key] for m in e['seed_metrics'])
                for y_, e in zip(y, items)
            ]
            hi = [
                max(m[key] for m in e['seed_metrics']) - y_
                for y_, e in zip(y, items)
            ]
            ax1.errorbar(
                x, y, yerr=[lo, hi], fmt='o', c=color, label=group, ms=6)
    net = results.get('network')
    if net:
        pts = [(e['gmacs'], e['metrics'][net['metric']])
               for e in net['entries']]
        ax1.scatter(
            *zip(*pts),
            marker='x',
            c=[
                'tab:red' if e['group'] == 'searched' else 'tab:gray'
                for e in net['entries']
            ],
            label='layouts (x)')
    ax1.set_xlabel('GMACs (analytic)')
    ax1.set_ylabel(cells['metric'])
    ax1.set_title('trained networks')
    ax1.legend(fontsize=8)
    for seed in sorted({r['seed'] for r in cells['entropy']}):
        rows = [r for r in cells['entropy'] if r['seed'] == seed]
        ax2.plot([r['epoch'] for r in rows], [r['entropy'] for r in rows],
                 marker='o',
                 label=f'seed {seed}')
    ax2.set_xlabel('search epoch')
    ax2.set_ylabel('operation entropy / uniform')
    ax2.set_title('operation weights leaving uniform')
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    args = parse_args()
    from mmengine.registry import init_default_scope

    import autopose_mm  # noqa: F401
    from autopose_mm.utils.io import work_dir_lock
    init_default_scope('mmpose')
    from autopose_mm.datasets import ensure_sample_data
    ensure_sample_data(args.train_config, args.search_config)
    with work_dir_lock(args.work_dir, 'search-vs-random run'):
        compare(args)


def compare(args) -> None:
    """Search, train and compare as the command line asks; writes
    ``results.json`` and the picture into the work dir."""
    from autopose_mm.utils.io import atomic_write_text
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


if __name__ == '__main__':
    main()
