"""What a study found: its finished trials, the accuracy-cost front over
all targets, the hypervolume of a front, how well each rung ranks the
trials that trained fully, and the files a search writes."""
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

import optuna

from ...deploy.timing import fastest_round, time_rounds
from ...models.genotype import Genotype
from ...utils.io import atomic_write_text, write_json
from ..costs.table import LatencyTable
from ..networks import Network, apply_network
from ..plots import draw_fronts
from ..stats import kendall_tau
from .engine import StudySpec, epochs_spent, make_storage
from .network import latency_tables
from .space import genotype_from_params
from .workers import sqlite_path

State = optuna.trial.TrialState
# interleaved rounds in which the front's networks are measured
FRONT_ROUNDS = 5


def trial_rows(study: optuna.Study) -> List[Dict]:
    """The finished trials of ``study`` as plain rows: ``value`` (the
    metric at the last rung), ``cost``, ``epochs``, ``seconds``, the value
    reported per rung (``rungs``), the training loss, seconds and tests
    per rung (``rung_log``, :class:`.rungs.RungHook`) and the
    ``genotype``."""
    rows = []
    for t in study.get_trials(deepcopy=False, states=(State.COMPLETE, )):
        name = f'{study.study_name}-trial-{t.number}'
        network = t.user_attrs.get('network')
        if network is not None:
            # a whole-network trial: its values are (metric, cost), its
            # rungs a user attribute
            genotype = dict(network['genotype'], name=name)
            rungs = t.user_attrs.get('rungs') or {}
            extra = dict(
                network=dict(network, genotype=genotype),
                describe=Network.from_dict(network).describe())
        else:
            genotype = genotype_from_params(t.params, name=name).to_dict()
            rungs = t.intermediate_values
            extra = {}
        rows.append(
            dict(
                study=study.study_name,
                trial=t.number,
                value=float(t.values[0]),
                cost=float(t.user_attrs['cost']),
                epochs=int(t.user_attrs.get('epochs', 0)),
                seconds=float(t.user_attrs.get('seconds', 0.)),
                rungs={
                    str(k): float(v)
                    for k, v in sorted(
                        rungs.items(), key=lambda kv: int(kv[0]))
                },
                rung_log=t.user_attrs.get('rung_log', {}),
                genotype=genotype,
                **extra))
    return rows


def pareto_front(rows: Sequence[Mapping]) -> List[Mapping]:
    """The rows no other row beats in both a higher ``value`` and a lower
    or equal ``cost`` (ties in both kept once), cheapest first."""
    front: List[Mapping] = []
    for r in sorted(rows, key=lambda r: (r['cost'], -r['value'])):
        if not front or r['value'] > front[-1]['value']:
            front.append(r)
    return front


def hypervolume(rows: Sequence[Mapping],
                ref_cost: float,
                ref_value: float = 0.) -> float:
    """The area between the front of ``rows`` and the reference point
    (``ref_cost``, ``ref_value``) in the (cost, value) plane: larger is a
    better front; points costing more than ``ref_cost`` or worth less than
    ``ref_value`` add nothing."""
    area, prev_value = 0., ref_value
    for r in pareto_front(rows):
        if r['cost'] >= ref_cost or r['value'] <= prev_value:
            continue
        area += (ref_cost - r['cost']) * (r['value'] - prev_value)
        prev_value = r['value']
    return float(area)


def rung_taus(rows: Sequence[Mapping]) -> Dict[str, Dict]:
    """Kendall's tau between each earlier rung's value and the last rung's
    (the trial's value), over finished trials (:func:`trial_rows`, of one
    study or pooled over several): how well a short training ranks the
    candidates that trained fully."""
    out = {}
    steps = sorted({int(k) for r in rows for k in r['rungs']})
    for step in steps[:-1]:
        pairs = [(r['rungs'][str(step)], r['value']) for r in rows
                 if str(step) in r['rungs']]
        tau = kendall_tau(*zip(*pairs)) if len(pairs) >= 3 else None
        out[str(step)] = dict(n=len(pairs), tau=tau)
    return out


def study_record(study: optuna.Study, max_epochs: int) -> Dict:
    """Counts, compute and the best trial of one study."""
    trials = study.get_trials(deepcopy=False)
    states = {s.name.lower(): 0 for s in State}
    for t in trials:
        states[t.state.name.lower()] += 1
    outside = sum(1 for t in trials if t.user_attrs.get('outside'))
    rows = trial_rows(study)
    best = max(rows, key=lambda r: r['value']) if rows else None
    return dict(
        study=study.study_name,
        spec=study.user_attrs.get('spec'),
        trials=states,
        outside_window=outside,
        epochs=epochs_spent(study, max_epochs),
        seconds=float(sum(t.user_attrs.get('seconds', 0.) for t in trials)),
        rung_taus=rung_taus(rows),
        best=best,
        rows=rows)


def search_report(spec: StudySpec) -> Dict:
    """Every target's study record and the front over all of them."""
    path = sqlite_path(spec.storage_url)
    if path is not None and not osp.isfile(path):
        raise FileNotFoundError(
            f'no study database {path}: nothing to report. Run the search '
            f'first (without --report-only), or give the --work-dir or '
            f'--storage it ran with')
    storage = make_storage(spec)
    names = set(optuna.get_all_study_names(storage))
    absent = [
        spec.study_name(t) for t in spec.studies
        if spec.study_name(t) not in names
    ]
    if absent:
        raise ValueError(
            f'{spec.storage_shown} holds no study {", ".join(absent)} '
            f'(it holds: {", ".join(sorted(names)) or "none"}); run the '
            f'search first, or give the --name and --targets it ran with')
    records = []
    for target in spec.studies:
        study = optuna.load_study(
            study_name=spec.study_name(target), storage=storage)
        max_epochs = study.user_attrs['spec']['max_epochs']
        records.append(dict(target=target, **study_record(study, max_epochs)))
    rows = [r for rec in records for r in rec['rows']]
    return dict(
        metric=records[0]['spec'].get('metric') if records else None,
        cost_unit=spec.cost_unit,
        storage=spec.storage_shown,
        studies=records,
        front=pareto_front(rows))


def write_search(spec: StudySpec, out_dir: Optional[str] = None) -> Dict:
    """Write what the search found into ``out_dir`` (the work dir):
    ``genotype.json`` (the best network of the first target, in the
    genotype format), ``genotypes/<study>.json`` (each target's best),
    ``pareto.json`` (the front with each network's cost, metric and
    genotype, and every study's record) and ``front.png``; for a
    whole-network study also each front network's genotype and training
    config (:func:`write_front_networks`).

    Raises:
        RuntimeError: When a target's study has no finished trial.
    """
    out_dir = out_dir or spec.work_dir
    report = search_report(spec)
    for rec in report['studies']:
        if rec['best'] is None:
            raise RuntimeError(
                f'study {rec["study"]} in {spec.storage_shown} has no '
                f'finished trial ({rec["trials"]}); give it a larger '
                f'budget_epochs, then rerun to resume it')
    for i, rec in enumerate(report['studies']):
        best = rec['best']
        g = Genotype.from_dict(
            dict(
                best['genotype'],
                cost=best['cost'],
                about=f'best of study {rec["study"]}: {best["value"]:.4f} '
                f'after {best["epochs"]} epochs, {rec["epochs"]} epochs '
                f'spent in all'))
        g.dump(osp.join(out_dir, 'genotypes', f'{rec["study"]}.json'))
        if i == 0:
            g.dump(osp.join(out_dir, 'genotype.json'))
    if spec.space is not None:
        write_front_networks(spec, report['front'], out_dir)
    write_json(osp.join(out_dir, 'pareto.json'), report, indent=1)
    draw_fronts(
        {spec.name: report['front']}, osp.join(out_dir, 'front.png'),
        report['cost_unit'],
        {spec.name: [r for rec in report['studies'] for r in rec['rows']]})
    return report


def write_front_networks(spec: StudySpec, front: List[Dict],
                         out_dir: str) -> None:
    """For each network of a whole-network study's front, write
    ``front/<name>.json`` (its genotype, cells per scale included) and
    ``front/<name>.py`` (the trial config building it: width, stages and
    genotype set, for ``tools/train.py``); with latency tables, measure
    the networks on the tables' runtime, all in :data:`FRONT_ROUNDS`
    interleaved rounds, and add to each row ``measured_ms`` (the fastest
    round, as the tables count), ``measured_ms_rounds`` and
    ``predicted_over_measured``."""
    tables = {}
    for width, path in latency_tables(spec).items():
        table = LatencyTable.load(path)
        tables[width or table.setting['base_channels']] = table
    cfg = spec.trial_cfg()
    runners = {}
    for i, row in enumerate(front):
        network = Network.from_dict(row['network'])
        name = row['genotype']['name']
        row['files'] = dict(
            genotype=osp.join('front', f'{name}.json'),
            config=osp.join('front', f'{name}.py'))
        network.genotype.dump(osp.join(out_dir, row['files']['genotype']))
        atomic_write_text(
            osp.join(out_dir, row['files']['config']),
            apply_network(cfg, network).pretty_text)
        table = tables.get(network.width)
        if table is not None:  # its width is the network's
            runners[i] = table.runner(network.genotype)
    for i, times in time_rounds(runners, FRONT_ROUNDS).items():
        row = front[i]
        row['measured_ms'] = fastest_round(times)
        row['measured_ms_rounds'] = times
        row['predicted_over_measured'] = row['cost'] / row['measured_ms']
