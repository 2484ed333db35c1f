"""Does the whole-network study beat random search given the same compute?

    python projects/search_eval/tools/network_vs_random.py
        [--profile cpu|test] [--config CFG] [--final-config CFG]
        [--seeds S] [--first-seed F] [--budget-epochs E] [--train-seeds T]
        [--costs C1 C2 C3] [--workers W] [--final-dir DIR] [--work-dir DIR]
        [--methods M ...] [--searches-only] [--startup-trials N]

For each of S seeds it runs two whole-network searches over the study
config's space and cost range with the same training epochs: the study
(its sampler and cost-bucket rungs) and random search (random sampler,
every candidate trained for the whole short schedule). Each search is
judged at three fixed costs (default log-spaced inside the range): its
most accurate network costing at most that much is trained T times with
the final config on the comparison's held-out test set, beside the
published cells in the published L12 and L18 layouts scaled in width to
each cost. It prints the hypervolume of each search's trained picks (mean
± std per method, one-sided Welch p of study > random), each method's
metric at each cost beside the references, and the epochs and seconds
spent; writes ``results.json`` and ``network_vs_random.png``.

The searches live in ``<work_dir>/studies.db`` and the trainings in
``--final-dir``: a rerun resumes where the last one stopped, and a
replication given the same ``--final-dir`` reuses the references.

``--searches-only --methods study nsga2 random`` compares samplers on the
searches' own fronts instead (the hypervolume of each search's front of
short trainings), training nothing beyond the searches; given the storage
of an earlier run (``--storage sqlite:///<its work dir>/studies.db``), the
searches it already ran are reused. ``--startup-trials N`` gives the
searches other than random search N start-up trials of TPE (searches of
their own, beside those of the config's setting).
"""
import argparse
import os.path as osp
import sys

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(PROJECT))
sys.path[:0] = [REPO, PROJECT]
DEMO = osp.join(REPO, 'configs', 'autopose', 'demo')

# "cpu": the built-in sample data on 2 CPU cores, within an hour (the
# lab's docs/log.md has its run times); "test": the test suite's run.
PROFILES = {
    'cpu': dict(seeds=3, budget_epochs=32, train_seeds=2, workers=2),
    'test': dict(seeds=2, budget_epochs=4, train_seeds=1, workers=1),
}


def parse_args() -> argparse.Namespace:
    from search_eval.cli import (
        add_comparison_args,
        add_study_tool_args,
        apply_profile,
    )
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--profile', choices=sorted(PROFILES), default='cpu')
    add_study_tool_args(
        parser,
        osp.join(DEMO, 'network_study_sample_coco_128x96.py'),
        osp.join(PROJECT, 'configs', 'network_final_sample_coco_128x96.py'),
        target=False)
    add_comparison_args(parser, 'work_dirs/network_vs_random')
    parser.add_argument(
        '--costs',
        type=float,
        nargs='+',
        help='the fixed costs (GMACs) the searches are judged at')
    parser.add_argument(
        '--methods',
        nargs='+',
        default=['study', 'random'],
        help='searches compared: study, random or a sampler name (the '
        'config\'s study with that sampler); other than study and random '
        'only with --searches-only')
    parser.add_argument(
        '--searches-only',
        action='store_true',
        help='compare the searches\' own fronts; train no pick')
    parser.add_argument(
        '--startup-trials',
        type=int,
        help='TPE\'s start-up trials in the searches other than random '
        'search (default: the config\'s)')
    parser.add_argument(
        '--final-dir',
        help='where the full trainings are kept (default WORK_DIR/final)')
    args = parser.parse_args()
    return apply_profile(parser, args, PROFILES[args.profile],
                         ('seeds', 'train_seeds', 'workers', 'budget_epochs'))


def main() -> None:
    args = parse_args()
    from search_eval.cli import plan_from
    from search_eval.networks import NetworkComparison, compare_networks
    from search_eval.studies import run_analysis

    import autopose_mm  # noqa: F401
    run_analysis(compare_networks, plan_from(NetworkComparison, args),
                 'network-vs-random run')


if __name__ == '__main__':
    main()
