"""The search-versus-random evaluation, end to end at test size."""
import json
import os.path as osp
import re

import cv2
from conftest import TINY_CFG, run_tool


def test_search_vs_random_test_profile(sample_workspace, tmp_path):
    work_dir = str(tmp_path / 'svr')
    proc = run_tool(
        'analysis/search_vs_random.py',
        '--profile',
        'test',
        '--train-config',
        TINY_CFG,
        '--work-dir',
        work_dir,
        cwd=sample_workspace)
    out = proc.stdout
    # progress: every run numbered, with the elapsed time and an ETA; the
    # last count is exact (fewer random layouts when few fit the window)
    runs = re.findall(r'===== run (\d+)/(\d+):', out)
    total = int(runs[-1][1])
    assert [int(i) for i, _ in runs] == list(range(1, total + 1))
    assert 2 + 5 + 1 + 1 <= total <= 2 + 5 + 1 + 2
    assert 'ETA' in out
    with open(osp.join(work_dir, 'results.json')) as f:
        results = json.load(f)  # strict JSON: json.load rejects NaN here
    cells = results['cells']
    groups = [e['group'] for e in cells['entries']]
    assert groups == ['searched'] * 2 + ['random'] * 2 + ['published']
    target = cells['gmacs_target']
    for e in cells['entries']:
        assert 0.0 <= e['metrics']['coco/AP'] <= 1.0
        assert 0.0 <= e['supernet_score'] <= 1.0
        if e['group'] == 'random':
            assert abs(e['gmacs'] / target - 1) <= 0.1
    assert cells['table']['searched']['n'] == 2
    assert 0.0 <= cells['agreement'] <= 1.0
    assert all(1 <= r <= 3 for r in cells['searched_ranks'])
    # the entropy of the operation weights per seed and epoch
    assert {(r['seed'], r['epoch'])
            for r in cells['entropy']} == {(s, e)
                                           for s in (0, 1)
                                           for e in (1, 2)}
    assert all(0.0 < r['entropy'] <= 1.0 for r in cells['entropy'])
    net = results['network']
    assert [e['group'] for e in net['entries']][0] == 'searched'
    for e in net['entries']:
        assert len(e['layout']) == 4
    # the printed table and statistics
    assert '| searched | 2 |' in out and '| random | 2 |' in out
    assert 'Kendall tau' in out and 'Welch t-test' in out
    assert 'agreement of chosen (edge, op) pairs' in out
    img = cv2.imread(osp.join(work_dir, 'search_vs_random.png'))
    assert img is not None and img.shape[1] > 500

    # a second run reuses every finished training (one result file each)
    proc = run_tool(
        'analysis/search_vs_random.py',
        '--profile',
        'test',
        '--train-config',
        TINY_CFG,
        '--work-dir',
        work_dir,
        '--bilevel-config',
        'none',
        cwd=sample_workspace)
    with open(osp.join(work_dir, 'results.json')) as f:
        again = json.load(f)
    assert [e['metrics'] for e in again['cells']['entries']
            ] == [e['metrics'] for e in cells['entries']]
