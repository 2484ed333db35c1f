"""How well does each cheap signal rank candidates, and at what cost?

    python projects/search_eval/tools/rung_signals.py [--profile cpu|test]
        [--config CFG] [--final-config CFG] [--candidates N]
        [--workers W] [--target GMACS] [--supernet-config CFG|none]
        [--supernet-epochs E] [--work-dir DIR]

Trains N random genotypes of one cost window (the comparison's target and
tolerance) with the study's short schedule, testing each at every rung,
then trains each fully with the final config (the comparison's schedule
and held-out test set), and prints Kendall's tau between every signal and
the full training's metric, with a bootstrap interval and the seconds the
signal costs per candidate: parameters and GMACs, the zero-cost proxies
synflow and ZiCo, the test metric after 1, 2, 4 and 8 epochs, the
training loss over the same epochs, and the score of a single-path
supernet trained once (``--supernet-config``; ``none`` leaves it out).
Writes ``signals.json``. The trainings live in ``<work_dir>/signals.db``
and the supernet's scores in ``<work_dir>/supernet_e<E>/scores.json``: a
rerun resumes.
"""
import argparse
import os.path as osp
import sys

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(PROJECT))
sys.path[:0] = [REPO, PROJECT]
DEMO = osp.join(REPO, 'configs', 'autopose', 'demo')

# "cpu": the built-in sample data on 2 CPU cores (the lab's docs/log.md has
# its run time); "test": the test suite's end-to-end run.
PROFILES = {
    'cpu': dict(candidates=30, workers=2),
    'test': dict(candidates=3, workers=1),
}


def parse_args() -> argparse.Namespace:
    from search_eval.cli import add_study_tool_args, apply_profile

    from autopose_mm.utils.cli import as_typed
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--profile', choices=sorted(PROFILES), default='cpu')
    add_study_tool_args(parser,
                        osp.join(DEMO, 'study_l6_c16_sample_coco_128x96.py'),
                        osp.join(DEMO, 'proxy_l6_c16_sample_coco_128x96.py'))
    parser.add_argument(
        '--candidates', type=int, help='random genotypes to train (N)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random sampler')
    parser.add_argument(
        '--supernet-config',
        default=as_typed(
            osp.join(DEMO, 'path_search_l6_c16_sample_coco_64x48.py')),
        help='single-path search config whose trained supernet scores the '
        'candidates; "none" leaves the supernet out')
    parser.add_argument(
        '--supernet-epochs',
        type=int,
        help='train the supernet this many epochs (default: its config\'s)')
    parser.add_argument('--work-dir', default='work_dirs/rung_signals')
    args = parser.parse_args()
    if args.supernet_epochs is not None and args.supernet_epochs < 1:
        parser.error(f'--supernet-epochs must be at least 1, got '
                     f'{args.supernet_epochs}')
    if args.supernet_config == 'none':
        if args.supernet_epochs:
            parser.error('--supernet-epochs needs a supernet: leave out '
                         '--supernet-config none')
        args.supernet_config = None
    return apply_profile(parser, args, PROFILES[args.profile],
                         ('candidates', 'workers'))


def main() -> None:
    args = parse_args()
    from search_eval.cli import plan_from
    from search_eval.signals import SignalSurvey, survey_signals
    from search_eval.studies import run_analysis

    import autopose_mm  # noqa: F401
    run_analysis(survey_signals, plan_from(SignalSurvey, args),
                 'signal survey')


if __name__ == '__main__':
    main()
