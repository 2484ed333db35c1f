"""Search cells as an Optuna study: candidates trained by rungs and pruned,
on any number of workers sharing one storage.

    python tools/search.py CONFIG [--work-dir DIR] [--storage URL]
        [--workers N] [--first-worker K] [--oversubscribe]
        [--cfg-options KEY=VALUE ...] [--no-report | --report-only]

CONFIG is a training config of the candidate network (its data, schedule
and test metric) with a ``study = dict(...)`` section
(``autopose_mm.search.study.StudySpec`` lists its settings: targets,
budget_epochs, sampler, pruner, latency_table, ...). ``--cfg-options``
changes it as in ``tools/train.py``: ``study.<setting>=...`` the study,
any other key every trial's config (e.g. ``study.targets=[0.025,0.03]
study.budget_epochs=16``). The study lives in ``<work_dir>/study.db``
(SQLite) unless ``--storage`` names another Optuna storage (e.g.
``postgresql://user@host/db``, which many machines can share). ``--workers
N`` runs N worker processes here; the same command started on another
machine with ``--first-worker`` set apart joins the same study
(``tools/slurm_search.sh`` does it on a cluster). A rerun resumes:
finished trials stay, a dead worker's trial is run again.

With ``study.space`` (cells per scale, widths, stages) and
``study.cost_range``, one study searches whole networks for the metric and
the cost at once and its front is the answer; each front network is
written as ``front/<name>.json`` (genotype) and ``front/<name>.py`` (its
training config).

Writes ``genotype.json`` (the best network of the first target, or of the
whole-network study), ``genotypes/<study>.json``, ``pareto.json`` (the
accuracy-cost front and each study's record, strict JSON) and
``front.png``.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='training config of a candidate')
    parser.add_argument('--work-dir', help='default: work_dirs/<config>')
    parser.add_argument(
        '--storage',
        help='Optuna storage URL (default: SQLite in the '
        'work dir)')
    parser.add_argument(
        '--workers',
        type=int,
        default=1,
        help='worker processes on this machine, sharing its cores')
    parser.add_argument(
        '--first-worker',
        type=int,
        default=0,
        help='number of this machine\'s first worker (seeds its sampler); '
        'give each machine another range')
    parser.add_argument(
        '--oversubscribe',
        action='store_true',
        help='start more --workers than this machine has cores or memory '
        'for (slower trials, and memory may run out)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings: study.<setting>=... for the study '
        '(e.g. study.targets=[0.025,0.03] study.budget_epochs=16), any '
        'other key for every trial')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--no-report',
        action='store_true',
        help='only run trials (a cluster worker); write nothing else')
    group.add_argument(
        '--report-only',
        action='store_true',
        help='write the results of the study as it stands; run no trial')
    return parser.parse_args()


def fmt(value) -> str:
    return 'n/a' if value is None else f'{value:.2f}'


def print_report(report: dict) -> None:
    unit = report['cost_unit']
    print(f'\n| study | finished | pruned | outside window | failed | '
          f'epochs | best | its cost ({unit}) |')
    print('|---|---|---|---|---|---|---|---|')
    for rec in report['studies']:
        n = rec['trials']
        best = rec['best']
        print(f'| {rec["study"]} | {n["complete"]} | '
              f'{n["pruned"] - rec["outside_window"]} | '
              f'{rec["outside_window"]} | {n["fail"]} | {rec["epochs"]} | '
              f'{best["value"]:.4f} | {best["cost"]:.4g} |')
        taus = ', '.join(f'{k} ep: {fmt(v["tau"])} (n={v["n"]})'
                         for k, v in rec['rung_taus'].items())
        if taus:
            print(f'  Kendall tau of each rung against the last: {taus}')
    print(f'\nfront ({len(report["front"])} networks):')
    for r in report['front']:
        what = r.get('describe', r['study'])
        measured = f', measured {r["measured_ms"]:.3g} ms' \
            if 'measured_ms' in r else ''
        print(f'  {r["cost"]:.4g} {unit}{measured}: {r["value"]:.4f} '
              f'({what}, trial {r["trial"]})')


def main() -> None:
    args = parse_args()
    from autopose_mm.search.study.workers import check_workers
    try:
        check_workers(args.workers, args.oversubscribe)
    except ValueError as e:
        sys.exit(f'error: {e}')
    from mmengine.registry import init_default_scope

    import autopose_mm  # noqa: F401
    from autopose_mm.datasets import ensure_sample_data
    from autopose_mm.search.study import (
        resolve_targets,
        run_study,
        spec_from_config,
        write_search,
    )
    init_default_scope('mmpose')
    work_dir = args.work_dir or osp.join(
        'work_dirs',
        osp.splitext(osp.basename(args.config))[0])
    try:
        spec = spec_from_config(
            args.config,
            work_dir,
            cfg_options=args.cfg_options,
            storage=args.storage)
    except ValueError as e:
        sys.exit(f'error: {e}')
    spec = resolve_targets(spec)
    if spec.space is not None:
        low, high = spec.cost_range
        print(
            f'study {spec.study_name()!r} in {spec.storage_shown}: whole '
            f'networks (cells per scale {spec.space["cells_per_scale"]}, '
            f'widths {spec.space["widths"]}, stages {spec.space["stages"]})'
            f' at {low:g}..{high:g} {spec.cost_unit}, metric and cost, '
            f'{spec.budget_epochs} epochs, {spec.sampler} sampler, rungs '
            f'compared within {spec.buckets} cost buckets',
            flush=True)
    else:
        print(
            f'study {spec.name!r} in {spec.storage_shown}: targets '
            f'{list(spec.targets)} {spec.cost_unit} +-{spec.tolerance:.0%}, '
            f'{spec.budget_epochs} epochs each, {spec.sampler} sampler, '
            f'{spec.pruner} pruner',
            flush=True)
    if not args.report_only:
        ensure_sample_data(args.config)
        run_study(spec, args.workers, args.first_worker)
    if args.no_report:
        return
    report = write_search(spec)
    print_report(report)
    print(f'\nwrote {osp.join(work_dir, "genotype.json")}, pareto.json and '
          f'front.png')


if __name__ == '__main__':
    main()
