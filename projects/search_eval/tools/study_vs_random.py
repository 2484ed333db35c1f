"""Does the study-based search beat random search given the same compute?

    python projects/search_eval/tools/study_vs_random.py [--profile cpu|test]
        [--config CFG] [--final-config CFG] [--seeds S] [--first-seed F]
        [--budget-epochs E] [--train-seeds T] [--workers W]
        [--target GMACS] [--work-dir DIR]

For each of S seeds it runs two searches of one cost target with the same
training epochs: the study of CONFIG (its sampler and pruner; by default
TPE with successive halving at 1, 2, 4 and 8 epochs) and random search
(random sampler, every candidate trained for the whole short schedule).
Each search picks its best candidate on the search's own test set; every
pick is then trained T times with the final config (the comparison's
schedule and its own held-out test set). It prints the picks' metric per
method (mean ± std, one-sided Welch p of study > random), the hypervolume
of each search's accuracy-cost front, the epochs and seconds each method
spent, and how well each rung ranks the candidates trained to the end
(Kendall's tau), and writes ``results.json`` and ``study_vs_random.png``.

All searches and trainings live in one Optuna storage
(``<work_dir>/studies.db``): a rerun resumes where the last one stopped.
"""
import argparse
import os.path as osp
import sys

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(PROJECT))
sys.path[:0] = [REPO, PROJECT]
DEMO = osp.join(REPO, 'configs', 'autopose', 'demo')

# "cpu": the built-in sample data on 2 CPU cores, within an hour
# (the lab's docs/log.md has its run times); "test": the test suite's
# end-to-end run.
PROFILES = {
    'cpu': dict(seeds=3, budget_epochs=64, train_seeds=2, workers=2),
    'test': dict(seeds=2, budget_epochs=3, train_seeds=1, workers=1),
}


def parse_args() -> argparse.Namespace:
    from search_eval.cli import (
        add_comparison_args,
        add_study_tool_args,
        apply_profile,
    )
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--profile', choices=sorted(PROFILES), default='cpu')
    add_study_tool_args(parser,
                        osp.join(DEMO, 'study_l6_c16_sample_coco_128x96.py'),
                        osp.join(DEMO, 'proxy_l6_c16_sample_coco_128x96.py'))
    add_comparison_args(parser, 'work_dirs/study_vs_random')
    args = parser.parse_args()
    return apply_profile(parser, args, PROFILES[args.profile],
                         ('seeds', 'train_seeds', 'workers', 'budget_epochs'))


def main() -> None:
    args = parse_args()
    from search_eval.cli import plan_from
    from search_eval.studies import (
        StudyComparison,
        compare_studies,
        run_analysis,
    )

    import autopose_mm  # noqa: F401
    run_analysis(compare_studies, plan_from(StudyComparison, args),
                 'study-vs-random run')


if __name__ == '__main__':
    main()
