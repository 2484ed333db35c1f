"""Judging an evaluation's trained networks: the statistics per group
(searched, random, published), the printed tables and the picture."""
import math
from typing import Dict, List, Sequence

import numpy as np

from autopose_mm.search.stats import (
    history_movement,
    rank_among,
    seed_std,
    summarize,
    welch_greater,
)


def entropy_rows(histories: Sequence[Dict]) -> List[Dict]:
    """Per seed and epoch: the mean over cell types of the normalised
    entropy and of the strongest operation's weight over uniform."""
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
