"""Can the sample data tell networks apart? Spread against training noise.

    python projects/search_eval/tools/space_spread.py [--profile cpu|test]
        [--config CFG] [--space whole|cells] [--target GMACS]
        [--candidates N] [--repeats R] [--workers W] [--work-dir DIR]

Draws N random networks within one cost window (``--space whole``: the
whole-network space of the study config's ``study.space``; ``cells``: cells
only, in the config's layout and width), trains each R times with the
config's full schedule, and prints the spread of their mean AP (std and
range), the training noise, Kendall's tau between the first two trainings
and the CPU seconds spent. Writes ``<work_dir>/spread.json``; the
trainings live in ``<work_dir>/trainings`` and a rerun resumes them.
"""
import argparse
import os.path as osp
import sys

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(PROJECT))
sys.path[:0] = [REPO, PROJECT]
DEMO = osp.join(REPO, 'configs', 'autopose', 'demo')

PROFILES = {
    'cpu': dict(candidates=20, repeats=2, workers=2),
    'test': dict(candidates=3, repeats=2, workers=1),
}


def parse_args() -> argparse.Namespace:
    from search_eval.cli import apply_profile
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--profile', choices=sorted(PROFILES), default='cpu')
    parser.add_argument(
        '--config',
        default=osp.join(DEMO, 'proxy_l6_c16_sample_coco_128x96.py'),
        help='training config of the full trainings')
    parser.add_argument(
        '--space-config',
        default=osp.join(DEMO, 'network_study_sample_coco_128x96.py'),
        help='config whose study.space is the whole-network space')
    parser.add_argument('--space', choices=('whole', 'cells'), default='whole')
    parser.add_argument(
        '--target',
        type=float,
        help='cost (GMACs); default: the config\'s own network\'s')
    parser.add_argument('--tolerance', type=float, default=0.1)
    parser.add_argument('--candidates', type=int)
    parser.add_argument('--repeats', type=int)
    parser.add_argument('--workers', type=int)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--epochs', type=int, help='schedule length')
    parser.add_argument('--work-dir', default='work_dirs/space_spread')
    args = parser.parse_args()
    return apply_profile(parser, args, PROFILES[args.profile],
                         ('candidates', 'repeats', 'workers'))


def main() -> None:
    args = parse_args()
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from search_eval.spread import SpreadPlan, measure_spread

    import autopose_mm  # noqa: F401
    from autopose_mm.datasets import ensure_sample_data
    init_default_scope('mmpose')
    space = None
    if args.space == 'whole':
        space = dict(Config.fromfile(args.space_config).study.space)
    ensure_sample_data(args.config)
    out = measure_spread(
        SpreadPlan(
            config=args.config,
            work_dir=args.work_dir,
            space=space,
            target=args.target,
            tolerance=args.tolerance,
            candidates=args.candidates,
            repeats=args.repeats,
            seed=args.seed,
            workers=args.workers,
            epochs=args.epochs))
    s = out['summary']

    def fmt(v):
        return 'n/a' if v is None else f'{v:.4f}'

    print(f'\n{s["networks"]} networks, {s["trainings"]} trainings, '
          f'{s["seconds"] / 60:.1f} CPU-min of training '
          f'({out["wall_seconds"] / 60:.1f} min wall)')
    print(f'{out["metric"]}: std of means {fmt(s["std_of_means"])}, range '
          f'{fmt(s["range_of_means"])}, training noise '
          f'{fmt(s["training_noise"])}, spread/noise '
          f'{fmt(s["spread_over_noise"])}, tau between trainings '
          f'{fmt(s["tau_between_trainings"])}')
    print(f'wrote {osp.join(args.work_dir, "spread.json")}')


if __name__ == '__main__':
    main()
