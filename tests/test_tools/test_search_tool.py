"""tools/search.py end to end at test size: two worker processes on one
SQLite file, and a killed worker's trial retried."""
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

from autopose_mm.models.genotype import load_genotype

TINY_STUDY = osp.join(REPO, 'tests', 'configs', 'tiny_study.py')
State = optuna.trial.TrialState


def load_trials(work_dir, name='cells'):
    storage = f'sqlite:///{osp.join(work_dir, "study.db")}'
    (summary, ) = [
        s for s in optuna.get_all_study_summaries(storage)
        if s.study_name.startswith(name + '@')
    ]
    return optuna.load_study(
        study_name=summary.study_name, storage=storage).get_trials()


def test_two_workers_share_one_study(sample_workspace, tmp_path):
    work_dir = str(tmp_path / 'search')
    proc = run_tool(
        'search.py',
        TINY_STUDY,
        '--work-dir',
        work_dir,
        '--workers',
        '2',
        '--cfg-options',
        'study.budget_epochs=8',
        cwd=sample_workspace)
    trials = load_trials(work_dir)
    trained = [t for t in trials if not t.user_attrs.get('outside')]
    # every trial ended once, both workers took trials, the budget held
    assert all(t.state in (State.COMPLETE, State.PRUNED) for t in trials)
    assert {t.user_attrs['worker'] for t in trained} == {0, 1}
    spent = sum(t.user_attrs['epochs'] for t in trained)
    assert 8 <= spent <= 8 + 2 * 2
    assert len({t.number for t in trials}) == len(trials)
    with open(osp.join(work_dir, 'pareto.json')) as f:
        report = json.load(f)  # strict JSON
    done = [t for t in trials if t.state == State.COMPLETE]
    best = max(done, key=lambda t: t.value)
    assert report['studies'][0]['best']['trial'] == best.number
    assert report['front'][0]['value'] <= best.value
    g = load_genotype(osp.join(work_dir, 'genotype.json'))
    assert g.extra['cost'] == best.user_attrs['cost']
    assert cv2.imread(osp.join(work_dir, 'front.png')) is not None
    assert '| study | finished | pruned' in proc.stdout
    assert 'front (' in proc.stdout


def test_killed_worker_trial_is_retried(sample_workspace, tmp_path):
    work_dir = str(tmp_path / 'search')
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'search.py'), TINY_STUDY, '--work-dir',
        work_dir, '--no-report', '--cfg-options', 'study.sampler=random',
        'study.pruner=none'
    ]
    worker = subprocess.Popen(
        cmd,
        cwd=sample_workspace,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True)
    db = osp.join(work_dir, 'study.db')
    deadline = time.time() + 1200  # a hang guard: a trial starts in seconds
    running = None
    while running is None and time.time() < deadline:
        time.sleep(0.3)
        if not osp.exists(db):
            continue
        try:
            running = next(
                (t for t in load_trials(work_dir)
                 if t.state == State.RUNNING and 'worker' in t.user_attrs),
                None)
        except (ValueError, KeyError, optuna.exceptions.StorageInternalError,
                sqlalchemy.exc.SQLAlchemyError):
            continue  # the study (or its database) is being created
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    assert running is not None, 'no trial started within 1200 s'
    time.sleep(4)  # the heartbeat grace of tiny_study.py (3 s)
    run_tool(
        'search.py',
        TINY_STUDY,
        '--work-dir',
        work_dir,
        '--cfg-options',
        'study.sampler=random',
        'study.pruner=none',
        cwd=sample_workspace)
    trials = load_trials(work_dir)
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
