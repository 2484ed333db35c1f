"""tools/search.py end to end at test size, on the storage many machines
share: a whole-network study run by two worker processes on a PostgreSQL
server (started by the ``postgres_url`` fixture), and a killed worker's
trial retried."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import cv2
import optuna
import sqlalchemy
from conftest import REPO, run_tool, tool_env
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from autopose_mm.models.genotype import load_genotype

TINY_NETWORK_STUDY = osp.join(REPO, 'tests', 'configs',
                              'tiny_network_study.py')
State = optuna.trial.TrialState


def load_trials(storage, name):
    (summary, ) = [
        s for s in optuna.get_all_study_summaries(storage)
        if s.study_name.startswith(name + '@')
    ]
    return optuna.load_study(
        study_name=summary.study_name, storage=storage).get_trials()


def test_two_workers_share_one_postgresql_study(sample_workspace, tmp_path,
                                                postgres_url):
    work_dir = str(tmp_path / 'search')
    proc = run_tool(
        'search.py',
        TINY_NETWORK_STUDY,
        '--work-dir',
        work_dir,
        '--storage',
        postgres_url,
        '--workers',
        '2',
        '--cfg-options',
        'study.name=shared',
        'study.budget_epochs=8',
        cwd=sample_workspace)
    trials = load_trials(postgres_url, 'shared')
    trained = [t for t in trials if not t.user_attrs.get('outside')]
    # every trial ended once, both workers took trials, the budget held
    assert all(t.state in (State.COMPLETE, State.PRUNED) for t in trials)
    assert {t.user_attrs['worker'] for t in trained} == {0, 1}
    spent = sum(t.user_attrs['epochs'] for t in trained)
    assert 8 <= spent <= 8 + 2 * 2
    assert len({t.number for t in trials}) == len(trials)
    # whole networks: the network level was chosen per trial
    for t in trained:
        assert {'network.width', 'network.stages',
                'network.cells_0'} <= set(t.params)
    with open(osp.join(work_dir, 'pareto.json')) as f:
        report = json.load(f)  # strict JSON
    assert report['storage'] == postgres_url.replace('secret', '***')
    assert 'secret' not in proc.stdout
    done = [t for t in trials if t.state == State.COMPLETE]
    assert all(t.values[1] == t.user_attrs['cost'] for t in done)
    # the front: no finished network beats one of its members in both
    front = report['front']
    assert front
    for r in front:
        assert not any(t.values[0] > r['value'] and t.values[1] < r['cost']
                       for t in done)
    best = max(done, key=lambda t: t.values[0])
    assert report['studies'][0]['best']['trial'] == best.number
    # each front network's genotype and config build that network
    init_default_scope('mmpose')
    for r in front:
        network = r['network']
        g = load_genotype(osp.join(work_dir, r['files']['genotype']))
        assert list(g.cells_per_scale) == \
            network['genotype']['network']['cells_per_scale']
        cfg = Config.fromfile(osp.join(work_dir, r['files']['config']))
        model = MODELS.build(cfg.model)
        assert model.backbone.base_channels == network['width']
        assert model.neck.num_stages == network['stages']
    assert cv2.imread(osp.join(work_dir, 'front.png')) is not None
    assert 'front (' in proc.stdout and 'whole networks' in proc.stdout


def test_killed_worker_trial_is_retried(sample_workspace, tmp_path,
                                        postgres_url):
    work_dir = str(tmp_path / 'search')
    options = [
        '--storage', postgres_url, '--cfg-options', 'study.name=killed',
        'study.sampler=random', 'study.pruner=none'
    ]
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'search.py'), TINY_NETWORK_STUDY, '--work-dir',
        work_dir, '--no-report'
    ] + options
    worker = subprocess.Popen(
        cmd,
        cwd=sample_workspace,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True)
    deadline = time.time() + 1200  # a hang guard: a trial starts in seconds
    running = None
    while running is None and time.time() < deadline:
        time.sleep(0.3)
        try:
            running = next(
                (t for t in load_trials(postgres_url, 'killed')
                 if t.state == State.RUNNING and 'bucket' in t.user_attrs),
                None)
        except (ValueError, KeyError, optuna.exceptions.StorageInternalError,
                sqlalchemy.exc.SQLAlchemyError):
            continue  # the study is being created
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    assert running is not None, 'no trial started within 1200 s'
    time.sleep(4)  # the heartbeat grace of tiny_study.py (3 s)
    run_tool(
        'search.py',
        TINY_NETWORK_STUDY,
        '--work-dir',
        work_dir,
        *options,
        cwd=sample_workspace)
    trials = load_trials(postgres_url, 'killed')
    killed = trials[running.number]
    assert killed.state == State.FAIL
    retries = [
        t for t in trials
        if t.system_attrs.get('failed_trial') == running.number
    ]
    assert len(retries) == 1
    assert retries[0].params == killed.params
    assert retries[0].state == State.COMPLETE
    assert not [t for t in trials if t.state == State.RUNNING]
    # each trial finished once: the retry is the only copy of its network
    finished = [t for t in trials if t.state == State.COMPLETE]
    assert len(finished) == len({t.number for t in finished})
