"""Pictures of a genotype and of a search (matplotlib, no display needed)."""
import json
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..models.operations import OPERATION_SPECS
from ..utils.io import atomic_write


def op_color(name: str) -> str:
    """The colour of an operation in the pictures (its ``OpSpec``)."""
    spec = OPERATION_SPECS.get(name)
    return spec.color if spec else 'black'


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str) -> None:
    atomic_write(
        path, lambda f: fig.savefig(f, format='png', dpi=110), mode='wb')


def _draw_cell(ax, name: str, cell) -> None:
    """One cell: inputs on the left, nodes in a column, output on the right;
    every edge labelled with its operation."""
    nodes = len(cell.edges)
    pos = {0: (0.0, 0.75), 1: (0.0, 0.25)}
    for k in range(nodes):
        pos[2 + k] = (0.35 + 0.15 * (k % 2), 1 - (k + 0.5) / nodes)
    out = (1.0, 0.5)
    labels = {0: 'in[k-2]', 1: 'in[k-1]'}
    for k, node in enumerate(cell.edges):
        x1, y1 = pos[2 + k]
        for op, src in node:
            x0, y0 = pos[src]
            color = op_color(op)
            ax.annotate(
                '',
                xy=(x1, y1),
                xytext=(x0, y0),
                arrowprops=dict(
                    arrowstyle='->',
                    color=color,
                    lw=1.4,
                    connectionstyle='arc3,rad=0.12'))
            ax.text(
                (x0 + x1) / 2, (y0 + y1) / 2,
                op,
                fontsize=6,
                color=color,
                ha='center',
                va='center',
                bbox=dict(fc='white', ec='none', pad=0.3, alpha=0.8))
    for i in cell.concat:
        ax.annotate(
            '',
            xy=out,
            xytext=pos[i],
            arrowprops=dict(arrowstyle='->', color='#999999', lw=0.8, ls=':'))
    for i, (x, y) in pos.items():
        ax.scatter([x], [y],
                   s=420,
                   c='#f2f2f2' if i < 2 else '#ffe8a8',
                   edgecolors='black',
                   zorder=3)
        ax.text(
            x,
            y,
            labels.get(i, str(i - 2)),
            fontsize=6,
            ha='center',
            va='center',
            zorder=4)
    ax.scatter([out[0]], [out[1]],
               s=420,
               c='#cde4f7',
               edgecolors='black',
               zorder=3)
    ax.text(
        out[0],
        out[1],
        'concat',
        fontsize=6,
        ha='center',
        va='center',
        zorder=4)
    ax.set_title(name, fontsize=9)
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(-0.05, 1.05)
    ax.axis('off')


def _draw_network(ax, cells_per_scale: Sequence[int], channels: int,
                  num_stages: int) -> None:
    """The network level: stem, cells per scale, decoder, heads."""
    blocks = [('stem', '1/4', '#dddddd')]
    colors = ['#ffe8a8', '#ffd27a', '#ffbb4d', '#ff9f1c']
    for s, count in enumerate(cells_per_scale):
        label = (f'{count} cells' if s == 0 else f'reduce + {count - 1} cells')
        blocks.append(
            (label, f'1/{4 * 2**s}\n{2 * channels * 2**s} ch', colors[s]))
    blocks.append(('decoder\n3 upsample cells', '1/32 -> 1/4', '#cde4f7'))
    if num_stages == 2:
        blocks.append(('refine encoder\n+ decoder', 'stage 2', '#b6d7a8'))
    blocks.append(('1x1 heatmaps', '1/4', '#eeeeee'))
    for i, (name, note, color) in enumerate(blocks):
        ax.add_patch(_pyplot().Rectangle((i * 1.2, 0),
                                         1,
                                         1,
                                         fc=color,
                                         ec='black'))
        ax.text(
            i * 1.2 + 0.5, 0.62, name, ha='center', va='center', fontsize=7)
        ax.text(
            i * 1.2 + 0.5, 0.25, note, ha='center', va='center', fontsize=6)
        if i:
            ax.annotate(
                '',
                xy=(i * 1.2, 0.5),
                xytext=(i * 1.2 - 0.2, 0.5),
                arrowprops=dict(arrowstyle='->'))
    ax.set_xlim(-0.1, len(blocks) * 1.2)
    ax.set_ylim(-0.2, 1.2)
    ax.axis('off')


def draw_architecture(genotype,
                      path: str,
                      cells_per_scale: Sequence[int],
                      base_channels: int,
                      num_stages: int = 1,
                      title: str = '') -> None:
    """Draw the network level and every cell of ``genotype`` to ``path``."""
    plt = _pyplot()
    names = list(genotype.cells)
    fig = plt.figure(figsize=(3.2 * len(names), 5.2))
    grid = fig.add_gridspec(2, len(names), height_ratios=[1, 3])
    _draw_network(
        fig.add_subplot(grid[0, :]), cells_per_scale, base_channels,
        num_stages)
    for i, name in enumerate(names):
        _draw_cell(fig.add_subplot(grid[1, i]), name, genotype.cells[name])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_search_curves(history_file: str, scalars_file: Optional[str],
                       path: str) -> None:
    """Search curves: mean weight of each operation per cell type, and the
    weight / alpha losses per iteration."""
    plt = _pyplot()
    with open(history_file) as f:
        history = json.load(f)
    records: List[Dict] = []
    if scalars_file:
        with open(scalars_file) as f:
            records = [json.loads(line) for line in f]
    epochs = [h['epoch'] for h in history['epochs']]
    cell_types = list(history['epochs'][-1]['cells'])
    rewards = [(r['step'], r['reward']) for r in records if 'reward' in r]
    panels = len(cell_types) + 1 + bool(rewards)
    fig, axes = plt.subplots(1, panels, figsize=(3.3 * panels, 3.2))
    for ax, cell_type in zip(axes, cell_types):
        weights = np.array([
            np.array(h['cells'][cell_type]['alphas']).mean(0)
            for h in history['epochs']
        ])
        for o, name in enumerate(history['candidates']):
            ax.plot(
                epochs,
                weights[:, o],
                marker='.',
                label=name,
                color=op_color(name))
        ax.set_title(f'{cell_type}: mean op weight', fontsize=8)
        ax.set_xlabel('epoch')
    axes[len(cell_types) - 1].legend(fontsize=6)
    if rewards:
        ax = axes[-1]
        ax.plot(*zip(*rewards), label='reward', color='#2a9d8f')
        baseline = [(r['step'], r['reward_baseline']) for r in records
                    if 'reward_baseline' in r]
        if baseline:
            ax.plot(*zip(*baseline), label='baseline', color='#264653')
        ax.set_title('controller: reward', fontsize=8)
        ax.set_xlabel('iteration')
        ax.legend(fontsize=7)
    ax = axes[len(cell_types)]
    for key, label in (('loss', 'weight step'), ('arch_loss', 'alpha step')):
        pts = [(r['step'], r[key]) for r in records if key in r]
        if pts:
            ax.plot(*zip(*pts), label=label)
    ax.set_title('losses', fontsize=8)
    ax.set_xlabel('iteration')
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def draw_fronts(fronts: Dict[str, Sequence[Dict]],
                path: str,
                cost_unit: str,
                trials: Optional[Dict[str, Sequence[Dict]]] = None,
                points: Optional[Sequence[Dict]] = None,
                metric: str = 'metric at the last rung') -> None:
    """Accuracy against cost: each search's front as a step line over its
    finished trials (faint dots), and labelled reference ``points``.

    Args:
        fronts (dict): Rows (``cost``, ``value``) of each search's front.
        path (str): The PNG to write.
        cost_unit (str): The cost axis' unit (GMACs or ms).
        trials (dict, optional): Every finished trial of each search.
        points (Sequence[dict], optional): ``label``, ``cost``, ``value``
            (and ``err``, a standard deviation) of networks to mark, e.g.
            the chosen networks trained fully or hand-designed ones; a
            point with a ``group`` (a key of ``fronts``) takes that
            search's colour, and a label is shown once.
        metric (str): The value axis' label.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for i, (name, rows) in enumerate(fronts.items()):
        color = colors[i % len(colors)]
        if trials and trials.get(name):
            ax.scatter([r['cost'] for r in trials[name]],
                       [r['value'] for r in trials[name]],
                       s=10,
                       alpha=0.35,
                       color=color)
        if rows:
            ax.step([r['cost'] for r in rows], [r['value'] for r in rows],
                    where='post',
                    marker='o',
                    color=color,
                    label=f'{name} front')
    names = list(fronts)
    shown = set()
    others = []  # labels of the points outside every search, in order
    for p in points or []:
        if p.get('group') in names:
            color = colors[names.index(p['group']) % len(colors)]
        else:
            if p['label'] not in others:
                others.append(p['label'])
            color = colors[(len(names) + others.index(p['label'])) %
                           len(colors)]
        ax.errorbar(
            p['cost'],
            p['value'],
            yerr=p.get('err'),
            fmt='*',
            markersize=11,
            capsize=3,
            color=color,
            label=None if p['label'] in shown else p['label'])
        shown.add(p['label'])
    ax.set_xlabel(f'cost ({cost_unit})')
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
