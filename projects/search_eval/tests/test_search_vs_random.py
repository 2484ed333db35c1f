"""The search-versus-random evaluation, end to end at test size."""
import json
import math
import os.path as osp
import re

import cv2
import pytest
from conftest import TINY_CFG, run_tool
from search_eval import Progress
from search_eval import progress as progress_module


def test_search_vs_random_test_profile(sample_workspace, tmp_path):
    work_dir = str(tmp_path / 'svr')
    proc = run_tool(
        'search_vs_random.py',
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

    # a second run with two training seeds reuses every finished training
    # (one result file each) and adds the second seed's, two at a time in
    # their own processes
    proc = run_tool(
        'search_vs_random.py',
        '--profile',
        'test',
        '--train-config',
        TINY_CFG,
        '--work-dir',
        work_dir,
        '--bilevel-config',
        'none',
        '--train-seeds',
        '2',
        '--jobs',
        '2',
        cwd=sample_workspace)
    # 2 searches, then the 5 finished trainings, then the 5 new ones
    done = re.findall(r'run (\d+)/12: training \S+ .*seed (\d), done before',
                      proc.stdout)
    assert [(int(i), s) for i, s in done] == [(i, '0') for i in range(3, 8)]
    new = re.findall(r'run (\d+)/12: training (\S+) .*seed 1, finished',
                     proc.stdout)
    assert sorted(int(i) for i, _ in new) == list(range(8, 13))
    assert sorted(name for _, name in new) == sorted(e['name']
                                                     for e in cells['entries'])
    with open(osp.join(work_dir, 'results.json')) as f:
        again = json.load(f)['cells']
    for first, e in zip(cells['entries'], again['entries']):
        assert e['seed_metrics'][0] == first['metrics']
        assert len(e['seed_metrics']) == 2
        ap = [m['coco/AP'] for m in e['seed_metrics']]
        assert e['metrics']['coco/AP'] == pytest.approx(sum(ap) / 2)
    assert again['train_seeds'] == 2
    # the noise of one training, pooled over the genotypes' two seeds
    aps = [[m['coco/AP'] for m in e['seed_metrics']] for e in again['entries']]
    noise = math.sqrt(sum((a - b)**2 / 2 for a, b in aps) / len(aps))
    assert again['seed_std'] == pytest.approx(noise)
    assert 'evaluation noise: one training' in proc.stdout


def test_eta_counts_each_kind_of_run_at_its_own_pace(monkeypatch, capsys):
    clock = [0.]
    monkeypatch.setattr(progress_module.time, 'time', lambda: clock[0])
    progress = Progress({'search': 2, 'training': 4})

    def announce(at, *args, **kwargs) -> str:
        clock[0] = at
        capsys.readouterr()
        progress.step(*args, **kwargs)
        return capsys.readouterr().out

    out = announce(0., 'search 0', 'search')
    assert 'run 1/6' in out
    assert 'ETA 2 search(s), 4 training(s) not timed yet' in out
    # one search took 600 s; the trainings' pace is not known yet
    out = announce(600., 'search 1', 'search')
    assert 'ETA 10.0 min + 4 training(s) not timed yet' in out
    clock[0] = 1200.
    progress.begin('training')  # the second search has ended
    assert progress.completed['search'] == 2
    announce(1230., 'training 0, done before', 'training', skipped=True)
    # two at a time: the first finishes after 120 s, the second 10 s later
    out = announce(1320., 'training 1, finished', 'training', finished=True)
    assert 'run 4/6' in out and 'ETA 4.0 min' in out  # 2 left x 120 s
    out = announce(1330., 'training 2, finished', 'training', finished=True)
    assert 'ETA 1.1 min' in out  # 130 s for 2: 65 s for the last
    out = announce(1400., 'training 3, finished', 'training', finished=True)
    assert 'run 6/6' in out and 'ETA' not in out
