"""How well each cheap signal ranks candidates, and what it costs: the
library behind ``projects/search_eval/tools/rung_signals.py``.

N random genotypes inside one cost window (the comparison's target and
tolerance, so that every tau is measured among candidates a search of that
target compares) are trained with the study's short schedule as a study of
their own (random sampler, no pruning, a test at every rung); each is then
trained fully with the final config, and every signal is ranked against
that full training's metric (Kendall's tau, with a bootstrap interval over
the candidates). The signals:

- ``params``, ``gmacs``: free, the baseline every signal must beat;
- ``synflow``, ``zico``: zero-cost proxies at initialisation
  (:mod:`.zero_cost`);
- ``metric@k``: the test metric after ``k`` epochs of the short schedule;
- ``loss@k``: minus the mean training loss of the first ``k`` epochs (the
  training-speed estimate, free once the training ran);
- ``supernet-loss``, ``supernet-pck``: the score a trained single-path
  supernet gives the candidate (minus its heatmap loss, or its heatmap
  PCK, on held-out batches; :func:`~autopose_mm.search.selection.
  score_genotype`), where the tool names a supernet config. Its cost per
  candidate is the supernet's training shared among the candidates plus
  the candidate's own scoring.

``plan`` is a :class:`SignalSurvey`.
"""
import dataclasses
import hashlib
import itertools
import json
import os.path as osp
import time
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
from mmengine.config import Config
from scipy import stats

from autopose_mm.models.genotype import Genotype
from autopose_mm.search.selection import SCORE_METRICS, score_genotype
from autopose_mm.search.stats import kendall_tau, summarize
from autopose_mm.search.study import run_study, search_report
from autopose_mm.search.study.workers import sqlite_url
from autopose_mm.search.training import (
    Training,
    pick_metric,
    run_search,
    train_all,
)
from autopose_mm.utils.io import write_json

from .studies import final_config, target_spec
from .zero_cost import proxies, train_batches


@dataclasses.dataclass(frozen=True)
class SignalSurvey:
    """What :func:`survey_signals` runs (``tools/rung_signals.py``): the
    cost window of :class:`~.studies.StudyComparison`'s ``config``,
    ``target`` and ``tolerance``; ``candidates`` random genotypes of it
    (drawn with ``seed``) trained with the short schedule and fully
    (``final_config``, ``final_epochs``, ``train_seed``), and a
    single-path ``supernet_config`` trained ``supernet_epochs``."""
    config: str
    final_config: str
    work_dir: str
    candidates: int
    seed: int
    train_seed: int
    final_epochs: Optional[int]
    supernet_config: Optional[str]
    supernet_epochs: Optional[int]
    workers: int
    target: Optional[float]
    tolerance: float
    metric: Optional[str]
    storage: Optional[str]


# the signals a screen before any training can use
UNTRAINED = {'params', 'gmacs', 'synflow', 'zico'}

__all__ = [
    'survey_signals', 'signal_table', 'tau_interval', 'print_survey',
    'supernet_signals', 'pair_table'
]


def tau_interval(x: Sequence[float],
                 y: Sequence[float],
                 draws: int = 1000,
                 seed: int = 0) -> Optional[List[float]]:
    """The 5th and 95th percentiles of Kendall's tau over bootstrap
    resamples of the paired items; ``None`` where no resample has a
    tau (a constant signal)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    rng = np.random.default_rng(seed)
    taus = []
    for _ in range(draws):
        i = rng.integers(0, x.size, x.size)
        t = kendall_tau(x[i], y[i])
        if t is not None:
            taus.append(t)
    if not taus:
        return None
    return [float(np.percentile(taus, 5)), float(np.percentile(taus, 95))]


def signal_table(candidates: Sequence[Mapping],
                 reference: Optional[str] = None) -> Dict[str, Dict]:
    """Per signal: Kendall's tau against the full training's metric (or,
    with ``reference``, against that signal) over the candidates, its
    bootstrap interval and the mean seconds it costs per candidate.

    Args:
        candidates: Rows with ``full`` (the full training's metric) and
            ``signals`` (name -> ``dict(value, seconds)``).
        reference (str, optional): A signal to rank against instead of
            the full training (it is left out of the table).
    """
    names = [n for n in candidates[0]['signals'] if n != reference]
    target = [
        c['signals'][reference]['value'] if reference else c['full']
        for c in candidates
    ]
    table = {}
    for name in names:
        values = [c['signals'][name]['value'] for c in candidates]
        table[name] = dict(
            tau=kendall_tau(values, target),
            interval=tau_interval(values, target),
            seconds=float(
                np.mean([c['signals'][name]['seconds'] for c in candidates])),
            n=len(values))
    return table


def pair_table(candidates: Sequence[Mapping]) -> Dict[str, Dict]:
    """:func:`signal_table` of every pair of signals combined by their
    mean rank (``'a+b'``): the smallest predictor over the signals, with
    no weights fitted, so nothing to overfit on few candidates. A pair
    costs both signals' seconds, or the longer one's where both come from
    the same short training (``metric@k``, ``loss@k``)."""
    names = sorted(candidates[0]['signals'])
    ranks = {
        n: stats.rankdata([c['signals'][n]['value'] for c in candidates])
        for n in names
    }
    rows = [
        dict(
            full=c['full'],
            signals={
                f'{a}+{b}':
                dict(
                    value=float(ranks[a][i] + ranks[b][i]) / 2,
                    seconds=(max if '@' in a and '@' in b else sum)(
                        (c['signals'][a]['seconds'],
                         c['signals'][b]['seconds'])))
                for a, b in itertools.combinations(names, 2)
            }) for i, c in enumerate(candidates)
    ]
    return signal_table(rows)


def rung_signals(row: Mapping) -> Dict[str, Dict[str, float]]:
    """``metric@k`` and ``loss@k`` of one trial row from its rung log."""
    out = {}
    log = {int(k): v for k, v in row['rung_log'].items()}
    for k in sorted(log):
        rung = log[k]
        out[f'loss@{k}'] = dict(
            value=-rung['train_loss'], seconds=rung['train_seconds'])
    for k in sorted(log):
        rung = log[k]
        out[f'metric@{k}'] = dict(
            value=rung['metric'],
            seconds=rung['train_seconds'] + rung['test_seconds'])
    return out


def supernet_signals(config: str,
                     genotypes: Sequence[Genotype],
                     root: str,
                     seed: int,
                     epochs: Optional[int] = None) -> Dict:
    """Train the single-path supernet of ``config`` once and score every
    genotype with it.

    The supernet is trained as the config's search trains it (its
    schedule, data and input size); its own selection stage is cut to one
    candidate, since the genotypes to score are given. Every genotype is
    scored by the supernet computing it on the config's
    ``train_cfg.score_batches`` held-out batches, once by minus the heatmap
    loss and once by the heatmap PCK. The supernet's work dir is
    ``<root>/supernet_e<epochs>``; the scores are kept in its
    ``scores.json`` for the same config and genotypes, so that a rerun
    trains nothing again.

    Args:
        config (str): A config of ``SinglePathSearchLoop``.
        genotypes (Sequence[Genotype]): The candidates, in the space of
            the supernet's cells.
        root (str): The directory that holds the supernet's work dir.
        seed (int): The seed of the supernet's training.
        epochs (int, optional): Train the supernet this many epochs
            instead of the config's ``train_cfg.max_epochs``.

    Returns:
        dict: ``epochs`` (the supernet's training) and ``signals``: per
        genotype, ``supernet-loss`` and ``supernet-pck`` as
        ``dict(value, seconds)``; ``seconds`` is the supernet's training
        divided among the genotypes plus the genotype's scoring.
    """
    cfg = Config.fromfile(config)
    if cfg.train_cfg.get('type') != 'SinglePathSearchLoop':
        raise ValueError(f'--supernet-config {config}: its train_cfg.type '
                         f'is {cfg.train_cfg.get("type")!r}; name a config '
                         f'of SinglePathSearchLoop (e.g. configs/autopose/'
                         f'demo/path_search_l6_c16_sample_coco_64x48.py)')
    if epochs:
        cfg.train_cfg.max_epochs = epochs
    epochs = cfg.train_cfg.max_epochs
    work_dir = osp.join(root, f'supernet_e{epochs}')
    key = dict(
        config=hashlib.sha256(cfg.pretty_text.encode()).hexdigest(),
        seed=seed,
        genotypes=[g.to_dict() for g in genotypes])
    cache = osp.join(work_dir, 'scores.json')
    if osp.isfile(cache):
        with open(cache) as f:
            kept = json.load(f)
        if {k: kept.get(k) for k in key} == key:
            return dict(epochs=epochs, signals=kept['signals'])
    cfg.train_cfg.num_candidates = 1
    cfg.train_cfg.rerank = None
    batches = cfg.train_cfg.get('score_batches', 4)
    print(
        f'\n== the supernet of {config} ({epochs} '
        f'epochs), scoring {len(genotypes)} candidates on {batches} '
        f'held-out batches ==',
        flush=True)
    start = time.monotonic()
    search = run_search(cfg, work_dir, seed, batches)
    shared = (time.monotonic() - start) / len(genotypes)
    signals = []
    for genotype in genotypes:
        row = {}
        for metric in SCORE_METRICS:
            start = time.monotonic()
            value = score_genotype(search['model'], genotype,
                                   search['score_batches'], metric)
            if not np.isfinite(value):
                raise FloatingPointError(
                    f'the supernet of {config} (work dir {work_dir}) '
                    f'scores a candidate {value} by {metric}; its training '
                    f'diverged')
            row[f'supernet-{metric}'] = dict(
                value=float(value), seconds=shared + time.monotonic() - start)
        signals.append(row)
    write_json(cache, dict(key, epochs=epochs, signals=signals))
    return dict(epochs=epochs, signals=signals)


def survey_signals(plan: SignalSurvey) -> Dict:
    """Train the survey's candidates briefly and fully, compute every
    signal; writes ``signals.json`` into the work dir."""
    base = target_spec(plan)
    cfg = base.load_cfg()
    storage = plan.storage or sqlite_url(osp.join(plan.work_dir, 'signals.db'))
    spec = dataclasses.replace(
        base,
        sampler='random',
        pruner='none',
        rung_signal='metric',
        seed=plan.seed,
        budget_epochs=plan.candidates * cfg.train_cfg.max_epochs,
        name='survey',
        storage=storage)
    print(
        f'\n== {plan.candidates} random candidates of '
        f'{spec.targets[0]:.4g} {spec.cost_unit} +-{spec.tolerance:.0%}, '
        f'{cfg.train_cfg.max_epochs} epochs each with a test at every '
        f'rung ==',
        flush=True)
    run_study(spec, plan.workers)
    rows = search_report(spec)['studies'][0]['rows'][:plan.candidates]
    if len(rows) < plan.candidates:
        raise RuntimeError(
            f'the survey study in {storage} finished {len(rows)} of '
            f'{plan.candidates} candidates (the others failed: see '
            f'{plan.work_dir}/trials); rerun to resume it')
    final_cfg = final_config(plan)
    print(
        f'\n== {len(rows)} full trainings ({plan.final_config}) ==',
        flush=True)
    trainings = [
        Training(f'trial-{r["trial"]}', Genotype.from_dict(r['genotype']),
                 plan.train_seed) for r in rows
    ]
    full = train_all(final_cfg, trainings, osp.join(plan.work_dir, 'full'),
                     plan.workers)
    key = pick_metric(next(iter(full.values())), plan.metric)
    supernet = dict(epochs=None, signals=[{}] * len(rows))
    if plan.supernet_config:
        supernet = supernet_signals(plan.supernet_config,
                                    [tr.genotype
                                     for tr in trainings], plan.work_dir,
                                    plan.seed, plan.supernet_epochs)
    batches = train_batches(cfg, 2, plan.seed)
    candidates = []
    for r, tr, scores in zip(rows, trainings, supernet['signals']):
        signals = proxies(cfg, tr.genotype, batches, plan.seed)
        signals[base.cost_unit.lower()] = dict(value=r['cost'], seconds=0.)
        signals.update(rung_signals(r))
        signals.update(scores)
        candidates.append(
            dict(
                trial=r['trial'],
                cost=r['cost'],
                full=full[tr.key][key],
                signals=signals,
                genotype=r['genotype']))
    # the short schedule's own result, which its early rungs predict
    last = f'metric@{cfg.train_cfg.max_epochs}'
    results = dict(
        config=plan.config,
        final_config=plan.final_config,
        supernet_config=plan.supernet_config,
        supernet_epochs=supernet['epochs'],
        final_epochs=final_cfg.train_cfg.max_epochs,
        target=spec.targets[0],
        tolerance=spec.tolerance,
        cost_unit=spec.cost_unit,
        metric=key,
        full=summarize([c['full'] for c in candidates]),
        full_seconds=summarize(
            training_seconds(osp.join(plan.work_dir, 'full'), trainings)),
        signals=signal_table(candidates),
        pairs=pair_table(candidates),
        short_reference=last,
        short_signals=signal_table(candidates, last),
        candidates=candidates)
    write_json(osp.join(plan.work_dir, 'signals.json'), results, indent=1)
    print_survey(results)
    return results


def training_seconds(work_dir: str,
                     trainings: Sequence[Training]) -> List[float]:
    """Seconds each training of :func:`train_all` in ``work_dir`` took."""
    out = []
    for tr in trainings:
        with open(osp.join(work_dir, tr.key, 'metrics.json')) as f:
            out.append(float(json.load(f)['seconds']))
    return out


def print_table(title: str, table: Mapping, top: Optional[int] = None) -> None:
    """One signal table (:func:`signal_table`), ranked by tau; only its
    ``top`` rows when given."""
    rows = sorted(
        table.items(),
        key=lambda kv: -(kv[1]['tau'] if kv[1]['tau'] is not None else -2))
    rows = rows[:top]
    width = max(len(name) for name in [*dict(rows), 'signal'])
    print(f'\n{title}')
    print(f'{"signal":<{width}} {"tau":>6}  {"90% interval":>15}  '
          f'{"s/candidate":>11}')
    for name, s in rows:
        tau = 'n/a' if s['tau'] is None else f'{s["tau"]:+.2f}'
        interval = 'n/a' if s['interval'] is None else \
            '[{:+.2f}, {:+.2f}]'.format(*s['interval'])
        print(f'{name:<{width}} {tau:>6}  {interval:>15}  '
              f'{s["seconds"]:11.2f}')


def print_survey(results: Mapping) -> None:
    """Both signal tables, with each signal's cost per candidate."""
    full = results['full']
    print(f'\nfull trainings: {results["full_seconds"]["mean"]:.0f} s '
          f'per candidate')
    print_table(
        f'Kendall\'s tau of each signal against the short schedule\'s own '
        f'result ({results["short_reference"]})', results['short_signals'])
    print_table(
        f'Kendall\'s tau of each signal against the full training\'s '
        f'{results["metric"]} ({results["final_epochs"]} epochs; '
        f'{full["n"]} candidates of {results["target"]:.4g} '
        f'{results["cost_unit"]} +-{results["tolerance"]:.0%}, '
        f'{results["metric"]} {full["mean"]:.3f} +- {full["std"]:.3f})',
        results['signals'])
    pairs = results['pairs']
    print_table(
        'The best pairs of signals by their mean rank, against the full '
        'training',
        pairs,
        top=5)
    print_table('Pairs of signals known before any training', {
        k: v
        for k, v in pairs.items() if set(k.split('+')) <= UNTRAINED
    })
