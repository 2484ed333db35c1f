"""A comparison's searched networks beside RTMPose on one accuracy-latency
plane.

    python projects/search_eval/tools/front_vs_rtmpose.py
        [--results RESULTS_JSON]
        [--references CFG ...] [--train-seeds T] [--workers W]
        [--runtime openvino|onnxruntime|eager|fused] [--threads N]
        [--rounds R] [--work-dir DIR]

It reads the ``results.json`` of ``tools/study_vs_random.py``
(each search's pick and the metric of its full trainings), trains each
reference config (by default RTMPose-t and RTMPose-s, from scratch, with
the picks' data, input size, schedule and training seeds) through a
resumable training queue, measures every network's batch-1 latency on one
runtime in interleaved rounds, and prints the table and the goal: at the
fastest reference's latency, a pick with a higher metric. Writes
``front_vs_rtmpose.json`` and ``front_vs_rtmpose.png`` into the work dir.
"""
import argparse
import os.path as osp
import sys

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(PROJECT))
sys.path[:0] = [REPO, PROJECT]
DEMO = osp.join(REPO, 'configs', 'autopose', 'demo')


def parse_args() -> argparse.Namespace:
    from autopose_mm.deploy.timing import RUNTIMES
    from autopose_mm.utils.cli import as_typed
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--results',
        default=as_typed(
            osp.join(PROJECT, 'results', 'study_vs_random_r4_cpu.json')),
        help='results.json of projects/search_eval/tools/study_vs_random.py')
    parser.add_argument(
        '--references',
        nargs='+',
        default=[
            as_typed(
                osp.join(PROJECT, 'configs',
                         f'rtmpose_{s}_sample_coco_128x96.py'))
            for s in ('t', 's')
        ],
        help='configs of the hand-designed networks')
    parser.add_argument(
        '--final-config',
        help='config the picks were trained with (default: the one the '
        'results name)')
    parser.add_argument('--train-seed', type=int, default=0)
    parser.add_argument(
        '--train-seeds',
        type=int,
        help='trainings per reference (default: the picks\' seeds)')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--runtime', choices=RUNTIMES, default='openvino')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--work-dir', default='work_dirs/front_vs_rtmpose')
    args = parser.parse_args()
    for key in ('workers', 'threads', 'rounds'):
        if getattr(args, key) < 1:
            parser.error(f'--{key} must be at least 1')
    if args.train_seeds is not None and args.train_seeds < 1:
        parser.error('--train-seeds must be at least 1')
    return args


def main() -> None:
    args = parse_args()
    from mmengine.registry import init_default_scope
    from search_eval.cli import plan_from
    from search_eval.references import (
        ReferenceComparison,
        front_vs_references,
    )

    import autopose_mm  # noqa: F401
    from autopose_mm.datasets import ensure_sample_data
    from autopose_mm.utils.io import work_dir_lock
    init_default_scope('mmpose')
    ensure_sample_data(*args.references)
    with work_dir_lock(args.work_dir, 'front-vs-RTMPose run'):
        front_vs_references(plan_from(ReferenceComparison, args))


if __name__ == '__main__':
    main()
