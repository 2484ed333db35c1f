"""The README's demo, on a smaller run: search, train, evaluate, pictures."""
import json
import os.path as osp

import cv2
from conftest import run_tool

from autopose_mm.datasets import generate_coco


def test_demo_end_to_end(tmp_path):
    workspace = str(tmp_path)
    generate_coco(
        osp.join(workspace, 'data', 'sample_coco'),
        num_train=120,
        num_val=20,
        image_size=(192, 192),
        seed=5)
    # the test sets of the search and of the comparison, small (the tools
    # generate 400 images each if missing)
    for name, seed in (('sample_coco_val400', 6), ('sample_coco_search400',
                                                   7)):
        generate_coco(
            osp.join(workspace, 'data', name),
            num_train=0,
            num_val=20,
            image_size=(192, 192),
            seed=seed)
    proc = run_tool(
        'demo.py',
        '--epochs',
        '8',
        '--budget-epochs',
        '12',
        '--proxy-epochs',
        '2',
        '--work-dir',
        'work_dirs/demo',
        cwd=workspace)
    work_dir = osp.join(workspace, 'work_dirs', 'demo')
    for step in ('1/5', '2/5', '3/5', '4/5', '5/5'):
        assert step in proc.stdout  # progress is shown
    # both searches' fronts, and the picks side by side
    assert proc.stdout.count('study search (') == 2
    assert proc.stdout.count('random search (') == 2
    line = [
        ln for ln in proc.stdout.splitlines()
        if ln.startswith('study search vs random search at the same compute')
    ]
    assert len(line) == 1 and ', random 0.' in line[0], line
    with open(osp.join(work_dir, 'search', 'results.json')) as f:
        results = json.load(f)
    for method in ('study', 'random'):
        (s, ) = results['methods'][method]['searches']
        assert 12 <= s['epochs'] <= 12 + 2 * 8  # two workers, 8-epoch trials
        assert s['front']
    with open(osp.join(work_dir, 'metrics.json')) as f:
        metrics = json.load(f)
    # a short run on little data: a low but robust bound
    assert metrics['coco/AP'] >= 0.1, metrics
    assert f'{metrics["coco/AP"]:.3f}' in proc.stdout  # the table
    for name in ('front.png', 'architecture.png', 'predictions.png'):
        img = cv2.imread(osp.join(work_dir, name))
        assert img is not None and min(img.shape[:2]) > 100, name
    assert osp.isfile(osp.join(work_dir, 'search', 'study_0', 'genotype.json'))
    assert osp.isfile(osp.join(work_dir, 'search', 'study_0', 'pareto.json'))
