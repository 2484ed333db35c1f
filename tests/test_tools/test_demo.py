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
    # the proxy's test set, small (the tool generates 400 images if missing)
    generate_coco(
        osp.join(workspace, 'data', 'sample_coco_val400'),
        num_train=0,
        num_val=20,
        image_size=(192, 192),
        seed=6)
    proc = run_tool(
        'demo.py',
        '--epochs',
        '15',
        '--search-epochs',
        '2',
        '--random',
        '2',
        '--proxy-epochs',
        '2',
        '--work-dir',
        'work_dirs/demo',
        cwd=workspace)
    work_dir = osp.join(workspace, 'work_dirs', 'demo')
    for step in ('1/6', '2/6', '3/6', '4/6', '5/6', '6/6'):
        assert step in proc.stdout  # progress is shown
    # how far the operation weights moved, per cell type
    assert proc.stdout.count('x uniform on average') == 2 * 5
    # the searched cells beside random cells of equal cost
    line = [
        ln for ln in proc.stdout.splitlines()
        if ln.startswith('searched vs random cells of equal cost')
    ]
    assert len(line) == 1 and 'random median' in line[0], line
    with open(osp.join(work_dir, 'vs_random', 'results.json')) as f:
        cells = json.load(f)['cells']
    assert [e['group']
            for e in cells['entries']] == ['searched', 'random', 'random']
    with open(osp.join(work_dir, 'metrics.json')) as f:
        metrics = json.load(f)
    # a short run on little data: a low but robust bound
    assert metrics['coco/AP'] >= 0.1, metrics
    assert f'{metrics["coco/AP"]:.3f}' in proc.stdout  # the table
    for name in ('architecture.png', 'search_curves.png', 'predictions.png'):
        img = cv2.imread(osp.join(work_dir, name))
        assert img is not None and min(img.shape[:2]) > 100, name
    assert osp.isfile(osp.join(work_dir, 'search', 'genotype.json'))
