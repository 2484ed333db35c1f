"""The lab's study tools end to end at test size: the comparisons with
random search at equal compute (cells; whole networks), the survey of
rung signals and the picks beside hand-designed references."""
import glob
import json
import os
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import optuna
import pytest
from conftest import PROJECT, REPO, TINY_CFG, run_tool
from search_eval.networks import REFERENCE_LAYOUTS

TINY_STUDY = osp.join(REPO, 'tests', 'configs', 'tiny_study.py')
TINY_PATH_SEARCH = osp.join(REPO, 'tests', 'configs', 'tiny_path_search.py')
TINY_NETWORK_STUDY = osp.join(REPO, 'tests', 'configs',
                              'tiny_network_study.py')


def test_study_vs_random_test_profile(sample_workspace, tmp_path):
    work_dir = str(tmp_path / 'svr')
    proc = run_tool(
        'study_vs_random.py',
        '--profile',
        'test',
        '--config',
        TINY_STUDY,
        '--final-config',
        TINY_CFG,
        '--work-dir',
        work_dir,
        cwd=sample_workspace)
    with open(osp.join(work_dir, 'results.json')) as f:
        results = json.load(f)
    assert results['budget_epochs'] == 3
    for method in ('study', 'random'):
        r = results['methods'][method]
        assert r['final']['n'] == 2
        assert 0. <= r['final']['mean'] <= 1.
        # equal compute: each search spent its budget, at most one
        # candidate's schedule (2 epochs) beyond
        for s in r['searches']:
            assert 3 <= s['epochs'] <= 3 + 2
            assert len(s['final']['values']) == 1
            assert abs(s['final']['cost'] / results['target'] - 1) <= 0.5
    # random search prunes nothing but the candidates outside the window
    for s in results['methods']['random']['searches']:
        assert s['trials']['pruned'] == s['outside_window']
    assert '| study | 2 |' in proc.stdout and '| random | 2 |' in proc.stdout
    assert 'one-sided Welch p' in proc.stdout
    # a genotype picked by several searches is trained once per seed
    searches = [
        s for m in ('study', 'random')
        for s in results['methods'][m]['searches']
    ]
    for s in searches:
        first = next(x for x in searches if x['trained_as'] == s['trained_as'])
        assert s['final']['values'] == first['final']['values']
    # one directory with its metrics.json per training
    trained = glob.glob(osp.join(work_dir, 'final', '*', 'metrics.json'))
    assert len(trained) == len({s['trained_as'] for s in searches})
    assert results['trainings'] == len(trained)
    assert set(results['wall_seconds']) == {'searches', 'trainings'}
    assert all(v > 0 for v in results['wall_seconds'].values())
    assert 'full trainings' in proc.stdout.splitlines()[-1]
    # every candidate trained to the end, pooled over both methods
    pooled = results['pooled_rung_taus']['1']
    assert pooled['n'] >= 4
    assert cv2.imread(osp.join(work_dir, 'study_vs_random.png')) is not None


def test_rung_signals_test_profile(sample_workspace, tmp_path):
    work_dir = str(tmp_path / 'signals')
    args = ('rung_signals.py', '--profile', 'test', '--config', TINY_STUDY,
            '--final-config', TINY_CFG, '--supernet-config', TINY_PATH_SEARCH,
            '--supernet-epochs', '1', '--work-dir', work_dir)
    proc = run_tool(*args, cwd=sample_workspace)
    with open(osp.join(work_dir, 'signals.json')) as f:
        results = json.load(f)  # strict JSON
    assert results['full']['n'] == 3
    assert set(results['signals']) == {
        'params', 'gmacs', 'synflow', 'zico', 'metric@1', 'metric@2', 'loss@1',
        'loss@2', 'supernet-loss', 'supernet-pck'
    }
    # the supernet trained once, for the 1 epoch asked (its config says 2),
    # and scored every candidate
    scores = osp.join(work_dir, 'supernet_e1', 'scores.json')
    assert osp.isfile(osp.join(work_dir, 'supernet_e1', 'epoch_1.pth'))
    assert not osp.exists(osp.join(work_dir, 'supernet_e1', 'epoch_2.pth'))
    assert results['supernet_epochs'] == 1
    for c in results['candidates']:
        s = c['signals']
        assert s['supernet-loss']['value'] < 0
        assert 0. <= s['supernet-pck']['value'] <= 1.
        assert s['supernet-loss']['seconds'] > 0
    assert len({
        c['signals']['supernet-loss']['value']
        for c in results['candidates']
    }) == 3
    for c in results['candidates']:
        assert abs(c['cost'] / results['target'] - 1) <= 0.5
        # the short schedule's last test is the trial's own value
        assert 0. <= c['signals']['metric@2']['value'] <= 1.
        assert c['signals']['loss@2']['value'] < 0
        assert c['signals']['metric@2']['seconds'] > \
            c['signals']['loss@2']['seconds'] > \
            c['signals']['loss@1']['seconds'] > 0
    assert results['short_reference'] == 'metric@2'
    assert 'metric@2' not in results['short_signals']
    assert 'Kendall\'s tau of each signal against the full' in proc.stdout
    assert set(results['pairs']) >= {'metric@2+zico', 'gmacs+supernet-loss'}
    assert 'Pairs of signals known before any training' in proc.stdout
    # a rerun trains nothing again
    storage = f'sqlite:///{osp.join(work_dir, "signals.db")}'
    counts = [s.n_trials for s in optuna.get_all_study_summaries(storage)]
    scored = os.stat(scores).st_mtime_ns
    run_tool(*args, cwd=sample_workspace)
    assert [s.n_trials
            for s in optuna.get_all_study_summaries(storage)] == counts
    assert os.stat(scores).st_mtime_ns == scored


@pytest.mark.parametrize('args,message', [
    (['--supernet-epochs', '0'], '--supernet-epochs must be at least 1'),
    (['--supernet-config', 'none', '--supernet-epochs', '3'
      ], '--supernet-epochs needs a supernet'),
])
def test_rung_signals_refuses_a_supernet_it_cannot_train(
        args, message, monkeypatch, capsys):
    tool = runpy.run_path(osp.join(PROJECT, 'tools', 'rung_signals.py'))
    monkeypatch.setattr(sys, 'argv', ['rung_signals.py'] + args)
    with pytest.raises(SystemExit) as exit_:
        tool['parse_args']()
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_front_vs_rtmpose_places_picks_beside_a_trained_reference(
        sample_workspace, tmp_path):
    from autopose_mm.search.space.sampling import sample_genotype
    rng = np.random.default_rng(0)
    proxy = osp.join(REPO, 'configs', 'autopose', 'demo',
                     'proxy_l6_c16_sample_coco_128x96.py')
    reference = osp.join(PROJECT, 'configs', 'rtmpose_t_sample_coco_128x96.py')

    def search(seed, values):
        return dict(
            seed=seed,
            best=dict(genotype=sample_genotype(rng).to_dict()),
            final=dict(values=values))

    results = dict(
        final_config=proxy,
        final_epochs=1,
        metric='coco/AP',
        train_seeds=[0],
        methods=dict(
            study=dict(searches=[search(0, [0.30, 0.32])]),
            random=dict(searches=[search(0, [0.25, 0.27])])))
    results_file = tmp_path / 'results.json'
    results_file.write_text(json.dumps(results))
    work_dir = str(tmp_path / 'fvr')
    args = ('front_vs_rtmpose.py', '--results', str(results_file),
            '--references', reference, '--workers', '1', '--runtime', 'eager',
            '--threads', '1', '--rounds', '2', '--work-dir', work_dir)
    proc = run_tool(*args, cwd=sample_workspace)
    with open(osp.join(work_dir, 'front_vs_rtmpose.json')) as f:
        report = json.load(f)  # strict JSON
    rows = {r['name']: r for r in report['rows']}
    name = 'rtmpose_t_sample_coco_128x96'
    assert set(rows) == {'study-0', 'random-0', name}
    ref = rows[name]
    # the reference trained once per seed of the picks, for their epochs
    assert len(ref['values']) == 1 and 0. <= ref['values'][0] <= 1.
    assert report['references'][name]['metric'] == 'coco/AP'
    assert rows['study-0']['summary']['mean'] == pytest.approx(0.31)
    # RTMPose-t is about 3.2M parameters, the L6-C16 picks far fewer
    assert 3.0e6 < ref['params'] < 3.4e6
    assert ref['gmacs'] > rows['study-0']['gmacs'] > 0
    for r in rows.values():
        assert len(r['latency']['rounds']) == 2 and r['latency']['ms'] > 0
    goal = report['goal']
    assert goal['anchor'] == name
    assert goal['met'] == (
        goal['best_pick'] is not None
        and goal['best_pick_mean'] > ref['summary']['mean'])
    assert f'| {name} |' in proc.stdout and 'goal (' in proc.stdout
    assert cv2.imread(osp.join(work_dir, 'front_vs_rtmpose.png')) is not None
    # a rerun trains nothing again
    log_dir = osp.join(work_dir, name, f'{name}-seed0')
    runs = os.listdir(log_dir)
    run_tool(*args, cwd=sample_workspace)
    assert os.listdir(log_dir) == runs


def test_network_vs_random_test_profile(sample_workspace, tmp_path):
    work_dir = str(tmp_path / 'nvr')
    args = ('network_vs_random.py', '--profile', 'test', '--config',
            TINY_NETWORK_STUDY, '--final-config', TINY_CFG, '--work-dir',
            work_dir)
    proc = run_tool(*args, cwd=sample_workspace)
    with open(osp.join(work_dir, 'results.json')) as f:
        results = json.load(f)  # strict JSON
    assert results['cost_range'] == [0.001, 0.1]
    assert len(results['costs']) == 3
    trained = glob.glob(osp.join(work_dir, 'final', '*', 'metrics.json'))
    assert results['trainings'] == len(trained)
    for method in ('study', 'random'):
        r = results['methods'][method]
        assert r['hypervolume']['n'] == 2
        for s in r['searches']:
            # equal compute: the budget, at most one schedule (2 epochs) over
            assert 4 <= s['epochs'] <= 4 + 2
            assert [p['at'] for p in s['picks']] == results['costs']
            for p in s['picks']:
                if 'trained_as' in p:
                    assert p['cost'] <= p['at']
                    assert len(p['values']) == 1
                    assert 0. <= p['mean'] <= 1.
    # random search prunes nothing but the networks outside the range
    for s in results['methods']['random']['searches']:
        assert s['trials']['pruned'] == s['outside_range']
    for row in results['at_cost']:
        assert set(row['references']) == set(REFERENCE_LAYOUTS)
        assert row['study']['n'] == row['random']['n'] == 2
    for ref in results['references'].values():
        assert len(ref['values']) == 1
    assert '| study | 2 |' in proc.stdout and '| random | 2 |' in proc.stdout
    assert 'hypervolume, study > random' in proc.stdout
    assert cv2.imread(osp.join(work_dir, 'network_vs_random.png')) is not None
    # a replication given the same final dir trains the references once
    rep_dir = str(tmp_path / 'rep')
    refs = {
        p: os.stat(p).st_mtime_ns
        for p in glob.glob(
            osp.join(work_dir, 'final', '*@*-seed0', 'metrics.json'))
        if osp.basename(osp.dirname(p)).split('@')[0] in REFERENCE_LAYOUTS
    }
    assert len(refs) == 2 * 3
    run_tool(
        *args[:-1],
        rep_dir,
        '--first-seed',
        '5',
        '--seeds',
        '1',
        '--final-dir',
        osp.join(work_dir, 'final'),
        cwd=sample_workspace)
    assert {p: os.stat(p).st_mtime_ns for p in refs} == refs
    assert osp.isfile(osp.join(rep_dir, 'results.json'))
    assert not osp.exists(osp.join(rep_dir, 'final'))


def test_network_samplers_compared_on_their_own_fronts(sample_workspace,
                                                       tmp_path):
    work_dir = str(tmp_path / 'samplers')
    run_tool(
        'network_vs_random.py',
        '--profile',
        'test',
        '--config',
        TINY_NETWORK_STUDY,
        '--final-config',
        TINY_CFG,
        '--searches-only',
        '--methods',
        'nsga2',
        'random',
        '--work-dir',
        work_dir,
        cwd=sample_workspace)
    with open(osp.join(work_dir, 'results.json')) as f:
        results = json.load(f)
    assert set(results['methods']) == {'nsga2', 'random'}
    assert set(results['welch_p']) == {'nsga2>random', 'random>nsga2'}
    storage = f'sqlite:///{osp.join(work_dir, "studies.db")}'
    names = {
        s.study_name.split('@')[0]
        for s in optuna.get_all_study_summaries(storage)
    }
    assert names == {'nsga2-0', 'nsga2-1', 'random-0', 'random-1'}
    for r in results['methods'].values():
        for s in r['searches']:
            assert s['search_hypervolume'] >= 0.
            assert 4 <= s['epochs'] <= 4 + 2
    # nothing trained beyond the searches
    assert not osp.exists(osp.join(work_dir, 'final'))


def test_a_cells_only_study_is_refused(sample_workspace, tmp_path):
    proc = run_tool(
        'network_vs_random.py',
        '--profile',
        'test',
        '--config',
        osp.join(REPO, 'tests', 'configs', 'tiny_study.py'),
        '--final-config',
        TINY_CFG,
        '--work-dir',
        str(tmp_path / 'x'),
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0
    assert 'needs a study.space and study.cost_range' in proc.stdout
