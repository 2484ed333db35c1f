"""Does the search beat chance? Searched cells against random cells of equal
cost, trained and evaluated identically.

    python projects/search_eval/tools/search_vs_random.py [--profile cpu|test]
        [--search-config CFG] [--train-config CFG] [--bilevel-config CFG]
        [--seeds S] [--num-random R] [--train-seeds T] [--jobs J]
        [--work-dir DIR]

1. runs the cell search with S seeds (S searched genotypes);
2. draws R random genotypes of the same space whose derived network costs
   within +-10% of the searched ones' mean GMACs (analytic);
3. adds the published genotype;
4. trains every derived network with one schedule and T training seeds
   (J at a time, each in its own process), and evaluates it with the
   training config's test metric (COCO AP with the detection file, or
   PCKh); a genotype's metric is the mean over its trainings, and the
   standard deviation between seeds measures the evaluation's own noise;
5. scores every genotype with the first seed's supernet (its weights,
   discretised to that genotype, on the held-out half) and prints Kendall's
   tau between that score and the trained metric;
6. prints the stability of the search (agreement of the chosen (edge,
   operation) pairs between seeds; entropy of the operation weights per
   epoch) and a table with the searched cells' rank among the random ones
   and Welch's t-test;
7. the network level: the bi-level search's layout against random layouts
   of equal GMACs, with the same cells.

Writes ``results.json`` (strict JSON) and ``search_vs_random.png`` (metric
against GMACs per group; entropy per epoch). Every finished run leaves its
own result file, so an interrupted evaluation continues where it stopped.
"""
import argparse
import os.path as osp
import sys

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(PROJECT))
sys.path[:0] = [REPO, PROJECT]
DEMO = osp.join(REPO, 'configs', 'autopose', 'demo')

# Settings of the two profiles; every one can be overridden on the command
# line. "cpu" is for 2 CPU cores and the built-in sample data (two
# trainings per genotype, two at a time; its run times are in
# projects/search_eval/docs/log.md), "test" is the test suite's end-to-end run.
PROFILES = {
    'cpu':
    dict(
        seeds=4,
        num_random=10,
        search_epochs=None,
        train_epochs=None,
        random_layouts=3,
        bilevel_seeds=1,
        score_batches=4,
        train_seeds=2,
        jobs=2),
    'test':
    dict(
        seeds=2,
        num_random=2,
        search_epochs=2,
        train_epochs=1,
        random_layouts=1,
        bilevel_seeds=1,
        score_batches=1,
        train_seeds=1,
        jobs=1),
}


def parse_args() -> argparse.Namespace:
    from autopose_mm.utils.cli import as_typed
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--profile', choices=sorted(PROFILES), default='cpu')
    parser.add_argument(
        '--search-config',
        default=as_typed(osp.join(DEMO, 'search_l6_c16_sample_coco_64x48.py')))
    parser.add_argument(
        '--train-config',
        default=as_typed(osp.join(DEMO, 'proxy_l6_c16_sample_coco_128x96.py')))
    parser.add_argument(
        '--bilevel-config',
        default=as_typed(
            osp.join(DEMO, 'bilevel_search_tiny_sample_coco_64x48.py')),
        help='bi-level search config for the network level; "none" skips '
        'the network level')
    parser.add_argument('--seeds', type=int, help='searches (S)')
    parser.add_argument(
        '--first-seed',
        type=int,
        default=0,
        help='the searches use seeds first-seed .. first-seed + S - 1 (a '
        'replication takes other seeds)')
    parser.add_argument(
        '--random-seed',
        type=int,
        default=1234,
        help='seed of the draw of the random genotypes')
    parser.add_argument(
        '--genotypes',
        nargs='+',
        help='evaluate these genotype files (e.g. an earlier search\'s '
        'genotype.json) instead of searching; the supernet ranking is then '
        'skipped, and the entropy is read from a search_history.json beside '
        'each file when there is one')
    parser.add_argument('--num-random', type=int, help='random genotypes (R)')
    parser.add_argument(
        '--no-published',
        action='store_true',
        help='leave out the published genotype')
    parser.add_argument('--random-layouts', type=int)
    parser.add_argument(
        '--search-epochs',
        type=int,
        help='override the search length (half warm-up)')
    parser.add_argument(
        '--train-epochs',
        type=int,
        help='override the training schedule length')
    parser.add_argument(
        '--train-seed', type=int, default=0, help='first training seed')
    parser.add_argument(
        '--train-seeds',
        type=int,
        help='trainings per genotype, with seeds train-seed, train-seed + '
        '1, ...; a genotype\'s metric is their mean')
    parser.add_argument(
        '--jobs',
        type=int,
        help='trainings run at the same time, each in its own process '
        'with an equal share of the CPU cores')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=0.1,
        help='relative GMACs window of the random group')
    parser.add_argument(
        '--metric',
        help='metric key (default: coco/AP, '
        'else PCKh, else PCK)')
    parser.add_argument(
        '--score',
        choices=['pck', 'loss'],
        default='pck',
        help='what the supernet scores a genotype by (Kendall\'s tau): '
        'minus its heatmap loss, or the PCK of its heatmaps')
    parser.add_argument('--work-dir', default='work_dirs/search_vs_random')
    from search_eval.cli import apply_profile
    args = parser.parse_args()
    return apply_profile(parser, args, PROFILES[args.profile],
                         ('train_seeds', 'jobs'))


def main() -> None:
    args = parse_args()
    from mmengine.registry import init_default_scope
    from search_eval.cli import plan_from
    from search_eval.compare import SearchComparison, compare

    import autopose_mm  # noqa: F401
    from autopose_mm.utils.io import work_dir_lock
    init_default_scope('mmpose')
    from autopose_mm.datasets import ensure_sample_data
    ensure_sample_data(args.train_config, args.search_config)
    with work_dir_lock(args.work_dir, 'search-vs-random run'):
        compare(plan_from(SearchComparison, args))


if __name__ == '__main__':
    main()
