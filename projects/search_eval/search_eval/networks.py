"""The whole-network study against random search over the same space and
cost range at equal compute: the library behind
``projects/search_eval/tools/network_vs_random.py``.

For each of S seeds, two whole-network searches run on the same trial
config (its ``study.space`` and ``study.cost_range``): the study (its
sampler and bucket rungs) and random search (random sampler, every
candidate trained for the whole short schedule), each allowed the same
training epochs. A search answers with its front; it is judged at three
fixed costs: the pick at a cost is the search's most accurate finished
network costing at most that much (by the search's own short training and
test set). Every pick is trained fully with the comparison's seeds on the
comparison's own held-out test set (the final config), beside the
hand-designed reference: the published cells in the published L12 and
L18 layouts, at the widest width costing at most each fixed cost. The
methods are compared by the hypervolume of their picks' front (fully
trained metric against cost) and by the picks' metric at each cost (mean,
std, one-sided Welch tests); a search with no network at a cost scores 0
there. ``plan`` is a :class:`NetworkComparison`.
"""
import dataclasses
import json
import os.path as osp
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from autopose_mm.models.genotype import load_genotype
from autopose_mm.search.networks import Network, network_gmacs
from autopose_mm.search.plots import draw_fronts
from autopose_mm.search.stats import summarize, welch_greater
from autopose_mm.search.study import (
    hypervolume,
    run_study,
    spec_from_config,
    write_search,
)
from autopose_mm.search.training import Training, pick_metric, train_all
from autopose_mm.utils.io import write_json

from .studies import METHODS, SearchComparison, final_config, storage_url

__all__ = [
    'NetworkComparison', 'compare_networks', 'picks_at_costs',
    'reference_networks', 'network_method_spec', 'REFERENCE_LAYOUTS'
]

# the published networks' cells per scale (reductions after cells 3, 6, 9
# and 3, 8, 15)
REFERENCE_LAYOUTS = {'L12': (3, 3, 3, 3), 'L18': (3, 5, 7, 3)}


@dataclasses.dataclass(frozen=True)
class NetworkComparison(SearchComparison):
    """What :func:`compare_networks` runs: a
    :class:`~search_eval.studies.SearchComparison` of whole-network
    studies (``config`` with ``study.space`` and ``study.cost_range``).

    Args:
        costs (Sequence[float], optional): The three (or more) fixed
            costs; default log-spaced inside ``study.cost_range``.
        final_dir (str, optional): Where the full trainings are kept;
            default ``<work_dir>/final``. Two comparisons given the same
            directory share the trainings of the same name and seed (the
            references, for a replication).
        methods (Sequence[str]): The searches compared: ``'study'`` (the
            config's study), ``'random'`` (random sampler, no rungs) or a
            sampler name (the config's study with that sampler, e.g.
            ``'nsga2'``). The judged comparison needs exactly ``study``
            and ``random``.
        searches_only (bool): Compare the searches' own fronts (short
            training, the search's test set) and train nothing more.
        startup_trials (int, optional): TPE's start-up trials in the
            searches other than random search (the config's otherwise);
            those searches are then named ``<method>-startup<N>-<seed>``.
    """
    costs: Optional[Sequence[float]]
    final_dir: Optional[str]
    methods: Sequence[str] = METHODS
    searches_only: bool = False
    startup_trials: Optional[int] = None


def network_method_spec(plan: NetworkComparison, method: str, seed: int):
    """The spec of one search: the config's study for ``'study'``, random
    sampling without rungs for ``'random'``, the config's study with
    another sampler for a sampler's name; same space, range, budget."""
    overrides = dict(
        seed=seed,
        budget_epochs=plan.budget_epochs,
        name=f'{method}-{seed}',
        storage=storage_url(plan))
    if method == 'random':
        overrides.update(sampler='random', pruner='none')
    elif method != 'study':
        overrides.update(sampler=method)
    if method != 'random' and plan.startup_trials is not None:
        overrides.update(
            startup_trials=plan.startup_trials,
            name=f'{method}-startup{plan.startup_trials}-{seed}')
    spec = spec_from_config(plan.config,
                            osp.join(plan.work_dir, f'{method}_{seed}'),
                            **overrides)
    if spec.space is None:
        raise ValueError(f'{plan.config}: the comparison of whole-network '
                         f'searches needs a study.space and study.cost_range')
    return spec


def fixed_costs(plan: NetworkComparison, cost_range: Sequence[float]):
    """The costs the searches are judged at: the plan's, else three
    log-spaced inside the range (at 1/4, 1/2 and 3/4 of its log width).

    Raises:
        ValueError: A cost outside the study's range.
    """
    low, high = map(float, cost_range)
    if plan.costs:
        costs = sorted(float(c) for c in plan.costs)
        if costs[0] < low or costs[-1] > high:
            raise ValueError(f'--costs {costs} must lie within the study\'s '
                             f'cost_range {[low, high]}')
        return costs
    return [float(low * (high / low)**f) for f in (0.25, 0.5, 0.75)]


def picks_at_costs(rows: Sequence[Mapping],
                   costs: Sequence[float]) -> List[Optional[Mapping]]:
    """For each cost, the most accurate row (by ``value``) costing at most
    that much, or None when no row does."""
    picks = []
    for c in costs:
        under = [r for r in rows if r['cost'] <= c]
        picks.append(max(under, key=lambda r: r['value']) if under else None)
    return picks


def reference_networks(
        cost,
        costs: Sequence[float],
        max_width: int = 256) -> Dict[str, Tuple[Network, float]]:
    """The published cells in each of :data:`REFERENCE_LAYOUTS`, one stage,
    at the widest even width whose ``cost`` is at most each of ``costs``
    (as a search's pick is), named ``<layout>@<cost>``; values are
    (network, its cost).

    Raises:
        ValueError: A layout costs more than a cost at its narrowest.
    """
    published = load_genotype('published')
    out = {}
    for name, layout in REFERENCE_LAYOUTS.items():
        g = dataclasses.replace(published, cells_per_scale=layout)
        nets = [Network(g, w, 1) for w in range(2, max_width + 1, 2)]
        priced = [(n, cost(n)) for n in nets]
        for c in costs:
            under = [p for p in priced if p[1] <= c]
            if not under:
                raise ValueError(
                    f'the {name} layout costs {priced[0][1]:.4g} GMACs at '
                    f'its narrowest width, above the fixed cost {c:.4g}: '
                    f'give larger --costs')
            out[f'{name}@{c:.4g}'] = max(under, key=lambda p: p[1])
    return out


def _identity(network: Network) -> str:
    data = network.to_dict()
    data['genotype'] = dict(data['genotype'], name='')
    return json.dumps(data, sort_keys=True)


def _search(plan: NetworkComparison, method: str, seed: int) -> Dict:
    spec = network_method_spec(plan, method, seed)
    print(
        f'\n== {method} search, seed {seed}: {spec.sampler} sampler, '
        f'{spec.pruner} pruner, {spec.budget_epochs} epochs, cost range '
        f'{spec.cost_range} {spec.cost_unit} ==',
        flush=True)
    run_study(spec, plan.workers)
    report = write_search(spec)
    rec = report['studies'][0]
    return dict(
        seed=seed,
        epochs=rec['epochs'],
        seconds=rec['seconds'],
        trials=rec['trials'],
        outside_range=rec['outside_window'],
        front=report['front'],
        rows=rec['rows'],
        cost_range=list(spec.cost_range),
        cost_unit=spec.cost_unit)


def compare_networks(plan: NetworkComparison) -> Dict:
    """Run both searches per seed, train their picks and the references,
    compare; writes ``results.json`` and ``network_vs_random.png`` into the
    work dir and prints the tables."""
    methods = tuple(plan.methods)
    if not plan.searches_only and sorted(methods) != sorted(METHODS):
        raise ValueError(f'the judged comparison runs the methods '
                         f'{" and ".join(METHODS)}, got {list(methods)}; '
                         f'compare other samplers with --searches-only')
    seeds = list(range(plan.first_seed, plan.first_seed + plan.seeds))
    unit = network_method_spec(plan, methods[0], seeds[0]).cost_unit
    if not plan.searches_only and unit != 'GMACs':
        raise ValueError(f'{plan.config}: the comparison judges networks at '
                         f'fixed GMACs; run it without study.latency_table')
    started = time.monotonic()
    searches = {m: [_search(plan, m, s) for s in seeds] for m in methods}
    wall = dict(searches=time.monotonic() - started)
    cost_range = searches[methods[0]][0]['cost_range']
    for m in methods:
        for s in searches[m]:
            s['search_hypervolume'] = hypervolume(s['rows'], cost_range[1])
    if plan.searches_only:
        return _searches_only(plan, searches, cost_range, wall)
    costs = fixed_costs(plan, cost_range)
    cfg = final_config(plan)
    refs = reference_networks(network_gmacs(cfg), costs)
    train_seeds = list(
        range(plan.train_seed, plan.train_seed + plan.train_seeds))
    # one training per distinct network and seed, named by its first pick
    names: Dict[str, str] = {}
    networks: Dict[str, Network] = {}

    def name_of(network: Network, name: str) -> str:
        key = names.setdefault(_identity(network), name)
        networks.setdefault(key, network)
        return key

    for m in METHODS:
        for s in searches[m]:
            s['picks'] = []
            for c, row in zip(costs, picks_at_costs(s['rows'], costs)):
                pick = dict(at=c)
                if row is not None:
                    n = Network.from_dict(row['network'])
                    pick.update(
                        network=n.describe(),
                        cost=row['cost'],
                        search_value=row['value'],
                        trial=row['trial'],
                        trained_as=name_of(n, f'{m}-{s["seed"]}@{c:.4g}'))
                s['picks'].append(pick)
    ref_names = {k: name_of(n, k) for k, (n, _) in refs.items()}
    trainings = [
        Training(
            f'{key}-seed{ts}', n.genotype, ts, width=n.width, stages=n.stages)
        for key, n in networks.items() for ts in train_seeds
    ]
    final_dir = plan.final_dir or osp.join(plan.work_dir, 'final')
    print(
        f'\n== {len(trainings)} full trainings of the picks and the '
        f'references ({plan.final_config}) ==',
        flush=True)
    started = time.monotonic()
    metrics = train_all(
        cfg, trainings, final_dir, plan.workers, lambda key, m: print(
            f'trained {key}: {pick_metric(m, plan.metric)} '
            f'{m[pick_metric(m, plan.metric)]:.4f}',
            flush=True))
    wall['trainings'] = time.monotonic() - started
    key = pick_metric(next(iter(metrics.values())), plan.metric)

    def trained(name: str) -> Dict:
        values = [metrics[f'{name}-seed{ts}'][key] for ts in train_seeds]
        return dict(values=values, mean=float(np.mean(values)))

    for m in METHODS:
        for s in searches[m]:
            for p in s['picks']:
                if 'trained_as' in p:
                    p.update(trained(p['trained_as']))
            s['hypervolume'] = hypervolume([
                dict(cost=p['cost'], value=p['mean'])
                for p in s['picks'] if 'mean' in p
            ], cost_range[1])
    references = {
        k: dict(network=n.describe(), cost=v, **trained(ref_names[k]))
        for k, (n, v) in refs.items()
    }
    results = _results(plan, searches, costs, cost_range, key, references)
    results.update(
        wall_seconds={
            k: round(v, 1)
            for k, v in wall.items()
        },
        trainings=len(trainings))
    write_json(osp.join(plan.work_dir, 'results.json'), results, indent=1)
    draw_network_comparison(results, searches,
                            osp.join(plan.work_dir, 'network_vs_random.png'))
    print_network_comparison(results)
    return results


def _method_record(searches: Sequence[Dict], **summaries) -> Dict:
    """One method's entry of ``results.json``: ``summaries``, the epochs
    its searches spent and each search's record without its trial rows."""
    return dict(
        summaries,
        epochs=summarize([s['epochs'] for s in searches]),
        searches=[{
            k: v
            for k, v in s.items() if k not in ('rows', 'front')
        } for s in searches])


def _searches_only(plan, searches: Dict, cost_range, wall: Dict) -> Dict:
    """The searches' own fronts compared: the hypervolume of each search's
    front (its short training, its test set) per method, and one-sided
    Welch p of each method against each other."""
    hv = {
        m: [s['search_hypervolume'] for s in ss]
        for m, ss in searches.items()
    }
    results = dict(
        config=plan.config,
        cost_range=list(cost_range),
        budget_epochs=plan.budget_epochs,
        wall_seconds={
            k: round(v, 1)
            for k, v in wall.items()
        },
        methods={
            m: _method_record(ss, search_hypervolume=summarize(hv[m]))
            for m, ss in searches.items()
        },
        welch_p={
            f'{a}>{b}': welch_greater(hv[a], hv[b])
            for a in hv
            for b in hv if a != b
        })
    write_json(osp.join(plan.work_dir, 'results.json'), results, indent=1)
    print('\n| method | searches | hypervolume of the search\'s own front '
          'mean ± std | epochs spent |')
    print('|---|---|---|---|')
    for m, r in results['methods'].items():
        h = r['search_hypervolume']
        print(f'| {m} | {h["n"]} | {h["mean"]:.5f} ± {h["std"]:.5f} | '
              f'{r["epochs"]["mean"]:.1f} |')
    for pair, p in results['welch_p'].items():
        print(f'{pair}: one-sided Welch p = {_p(p)}')
    return results


def _at(s: Dict, i: int) -> float:
    """A search's fully trained metric at the ``i``-th cost (0 without a
    network there)."""
    return float(s['picks'][i].get('mean', 0.))


def _results(plan, searches, costs, cost_range, key, references) -> Dict:
    hv = {m: [s['hypervolume'] for s in searches[m]] for m in METHODS}
    at_cost = []
    for i, c in enumerate(costs):
        values = {m: [_at(s, i) for s in searches[m]] for m in METHODS}
        at_cost.append(
            dict(
                cost=c,
                **{m: summarize(values[m])
                   for m in METHODS},
                welch_p=welch_greater(values['study'], values['random']),
                references={
                    name: references[f'{name}@{c:.4g}']['mean']
                    for name in REFERENCE_LAYOUTS
                }))
    return dict(
        config=plan.config,
        final_config=plan.final_config,
        final_epochs=plan.final_epochs,
        cost_range=list(cost_range),
        costs=list(costs),
        budget_epochs=plan.budget_epochs,
        metric=key,
        train_seeds=plan.train_seeds,
        methods={
            m:
            _method_record(
                searches[m],
                hypervolume=summarize(hv[m]),
                seconds=summarize([s['seconds'] for s in searches[m]]))
            for m in METHODS
        },
        hypervolume_welch_p=welch_greater(hv['study'], hv['random']),
        at_cost=at_cost,
        references=references)


def draw_network_comparison(results: Dict, searches: Dict, path: str):
    """The first seed's fronts of both methods over their trials (short
    training), every pick trained fully in its method's colour, and the
    references."""
    points = []
    for m in METHODS:
        for s in searches[m]:
            for p in s['picks']:
                if 'mean' in p:
                    points.append(
                        dict(
                            group=m,
                            label=f'{m} search\'s picks, trained fully',
                            cost=p['cost'],
                            value=p['mean'],
                            err=float(np.std(p['values']))))
    for name, r in results['references'].items():
        points.append(
            dict(
                label=f'{name.split("@")[0]} published layout, scaled',
                cost=r['cost'],
                value=r['mean'],
                err=float(np.std(r['values']))))
    draw_fronts({m: searches[m][0]['front']
                 for m in METHODS}, path, 'GMACs',
                {m: searches[m][0]['rows']
                 for m in METHODS}, points,
                f'{results["metric"]} (fronts: short training; marks: full)')


def _p(p: Optional[float]) -> str:
    return 'n/a' if p is None else f'{p:.3f}'


def print_network_comparison(results: Dict) -> None:
    key = results['metric']
    print(f'\n| method | searches | hypervolume of the picks ({key} x GMACs)'
          f' mean ± std | epochs spent | seconds |')
    print('|---|---|---|---|---|')
    for m in METHODS:
        r = results['methods'][m]
        hv = r['hypervolume']
        print(f'| {m} | {hv["n"]} | {hv["mean"]:.5f} ± {hv["std"]:.5f} | '
              f'{r["epochs"]["mean"]:.1f} | {r["seconds"]["mean"]:.0f} |')
    print(f'hypervolume, study > random: one-sided Welch p = '
          f'{_p(results["hypervolume_welch_p"])}')
    names = list(REFERENCE_LAYOUTS)
    print(f'\n| at most GMACs | study {key} | random {key} | Welch p | ' +
          ' | '.join(f'{n} layout' for n in names) + ' |')
    print('|---|---|---|---|' + '---|' * len(names))
    for row in results['at_cost']:
        print(f'| {row["cost"]:.4g} | {row["study"]["mean"]:.4f} ± '
              f'{row["study"]["std"]:.4f} | {row["random"]["mean"]:.4f} ± '
              f'{row["random"]["std"]:.4f} | {_p(row["welch_p"])} | ' +
              ' | '.join(f'{row["references"][n]:.4f}' for n in names) + ' |')
    wall = results['wall_seconds']
    print(f'wall time: searches {wall["searches"] / 60:.1f} min, '
          f'{results["trainings"]} full trainings '
          f'{wall["trainings"] / 60:.1f} min')
