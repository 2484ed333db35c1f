"""The study-based search: genotypes as Optuna parameters, rungs, pruning,
the compute budget, resume, the front and the queued trainings (the
trainings themselves replaced by a stand-in that reports by rung)."""
import json
import os
import os.path as osp

import numpy as np
import optuna
import pytest
from conftest import REPO
from mmengine.config import Config

from autopose_mm.models.genotype import REDUCTION_CELLS, load_genotype
from autopose_mm.search import training as training_module
from autopose_mm.search.space.sampling import sample_genotype
from autopose_mm.search.study import (
    StudySpec,
    epochs_spent,
    genotype_from_params,
    genotype_params,
    hypervolume,
    open_study,
    pareto_front,
    run_study,
    run_worker,
    rung_epochs,
    rung_taus,
    spec_from_config,
    suggest_genotype,
    write_search,
)
from autopose_mm.search.study import engine as engine_module
from autopose_mm.search.study import rungs as rungs_module
from autopose_mm.search.study.engine import spec_record
from autopose_mm.search.study.workers import (
    check_workers,
    masked_url,
    worker_limit,
)
from autopose_mm.search.training import Training, train_all

TINY_STUDY = osp.join(REPO, 'tests', 'configs', 'tiny_study.py')
State = optuna.trial.TrialState


def test_genotype_params_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(20):
        g = sample_genotype(rng)
        params = genotype_params(g)
        back = suggest_genotype(optuna.trial.FixedTrial(params))
        assert back.to_dict()['encoder'] == g.to_dict()['encoder']
        assert back.to_dict()['decoder'] == g.to_dict()['decoder']
        assert genotype_from_params(params).cells == g.cells
    # a node sums its inputs: the order of the two is not a choice
    published = load_genotype('published')
    back = genotype_from_params(genotype_params(published))

    def nodes(g):
        return {
            t: [sorted(node, key=lambda e: e[1]) for node in c.edges]
            for t, c in g.cells.items()
        }

    assert nodes(back) == nodes(published)


def test_suggested_genotypes_are_valid_and_varied():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(0))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        g = suggest_genotype(trial)
        for cell_type, cell in g.cells.items():
            for node in cell.edges:
                assert len({src for _, src in node}) == 2
                for op, src in node:
                    assert op != 'none'
                    if cell_type in REDUCTION_CELLS and src < 2:
                        assert op != 'se_connect'  # no stride-2 version
        seen.add(str(g.to_dict()))
        study.tell(trial, 0.)
    assert len(seen) == 30


def test_rung_epochs():
    assert rung_epochs(1, 2, 8) == (1, 2, 4, 8)
    assert rung_epochs(1, 3, 8) == (1, 3, 8)
    assert rung_epochs(2, 2, 2) == (2, )
    with pytest.raises(ValueError, match='reduction_factor'):
        rung_epochs(1, 1, 8)


def test_front_and_hypervolume():
    rows = [
        dict(cost=1., value=0.3),
        dict(cost=2., value=0.5),
        dict(cost=1.5, value=0.2),  # beaten by the first
        dict(cost=3., value=0.45),  # beaten by the second
        dict(cost=4., value=0.6),
    ]
    front = pareto_front(rows)
    assert [(r['cost'], r['value']) for r in front] == [(1., .3), (2., .5),
                                                        (4., .6)]
    # (5-1)*0.3 + (5-2)*0.2 + (5-4)*0.1
    assert hypervolume(rows, ref_cost=5.) == pytest.approx(1.2 + 0.6 + 0.1)
    assert hypervolume(rows, ref_cost=1.) == 0.


def test_rung_taus():
    # rung 1 ranks the three trials as their last rung does, rung 2 in
    # reverse; one trial stopped before rung 2 counts at rung 1 only
    rows = [
        dict(rungs={
            '1': 0.1,
            '2': 0.3,
            '4': 0.2
        }, value=0.2),
        dict(rungs={
            '1': 0.2,
            '2': 0.2,
            '4': 0.3
        }, value=0.3),
        dict(rungs={
            '1': 0.3,
            '2': 0.1,
            '4': 0.4
        }, value=0.4),
        dict(rungs={
            '1': 0.4,
            '4': 0.5
        }, value=0.5),
    ]
    taus = rung_taus(rows)
    assert taus['1'] == dict(n=4, tau=pytest.approx(1.))
    assert taus['2'] == dict(n=3, tau=pytest.approx(-1.))
    assert set(taus) == {'1', '2'}


def fake_training(calls):
    """Stands in for train_rungs: the metric grows with the epochs and
    with the genotype's operation names (a fixed ranking), and every
    report may prune."""

    def train(cfg,
              genotype,
              work_dir,
              seed,
              rungs,
              report,
              metric=None,
              signal='train_loss',
              on_rung=None):
        quality = (sum(
            len(op) for c in genotype.cells.values() for node in c.edges
            for op, _ in node) % 17) / 17
        calls.append(genotype)
        log = {}
        for epochs in rungs:
            log[str(epochs)] = dict(train_loss=1. / epochs)
            on_rung(dict(log))
            report(epochs, 0.1 * quality + 0.01 * epochs)
        return dict(epochs=rungs[-1], seconds=0.)

    return train


def tiny_spec(tmp_path, **kw) -> StudySpec:
    kw = dict(dict(targets=[1.0], tolerance=0.99, budget_epochs=40), **kw)
    return spec_from_config(TINY_STUDY, str(tmp_path / 'study'), **kw)


@pytest.fixture
def fake_cost(monkeypatch):
    # every genotype costs 1 (the window holds all) unless told otherwise
    monkeypatch.setattr(engine_module, 'cost_function', lambda spec, cfg:
                        (lambda g, layout=None: 1.0))


def test_halving_prunes_by_rung_within_budget(tmp_path, monkeypatch,
                                              fake_cost):
    calls = []
    monkeypatch.setattr(rungs_module, 'train_rungs', fake_training(calls))
    spec = tiny_spec(tmp_path, budget_epochs=30)
    # the tiny config trains 2 epochs: rungs 1 and 2
    run_worker(spec)
    study = open_study(spec, 1.0, 2)
    trials = study.get_trials()
    pruned = [t for t in trials if t.state == State.PRUNED]
    done = [t for t in trials if t.state == State.COMPLETE]
    assert pruned and done
    # a pruned trial stopped at the first rung, a finished one ran both
    assert all(list(t.intermediate_values) == [1] for t in pruned)
    assert all(list(t.intermediate_values) == [1, 2] for t in done)
    assert all(t.user_attrs['epochs'] == 1 for t in pruned)
    spent = epochs_spent(study, 2)
    assert spent == len(pruned) + 2 * len(done)
    assert 30 <= spent <= 31  # stops once the budget is spent
    # successive halving keeps the best half of each rung: the finished
    # trials beat the pruned ones at the first rung on average
    first = lambda ts: np.mean([t.intermediate_values[1] for t in ts])  # noqa
    assert first(done) > first(pruned)


def test_random_search_trains_every_candidate_fully(tmp_path, monkeypatch,
                                                    fake_cost):
    calls = []
    monkeypatch.setattr(rungs_module, 'train_rungs', fake_training(calls))
    spec = tiny_spec(
        tmp_path, sampler='random', pruner='none', budget_epochs=10)
    run_worker(spec)
    study = open_study(spec, 1.0, 2)
    states = [t.state for t in study.get_trials()]
    assert states == [State.COMPLETE] * 5  # 10 epochs, 2 each
    assert len(calls) == 5


def test_candidates_outside_the_window_cost_nothing(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(rungs_module, 'train_rungs', fake_training(calls))
    costs = iter(np.tile([5.0, 1.0, 0.2, 1.05], 100))
    monkeypatch.setattr(engine_module, 'cost_function', lambda spec, cfg:
                        (lambda g, layout=None: next(costs)))
    spec = tiny_spec(
        tmp_path,
        tolerance=0.1,
        budget_epochs=4,
        sampler='random',
        pruner='none')
    run_worker(spec)
    study = open_study(spec, 1.0, 2)
    outside = [t for t in study.get_trials() if t.user_attrs.get('outside')]
    inside = [t for t in study.get_trials() if t.state == State.COMPLETE]
    assert len(inside) == 2 and len(calls) == 2
    assert {t.user_attrs['cost'] for t in outside} == {5.0, 0.2}
    assert all(t.state == State.PRUNED and not t.intermediate_values
               for t in outside)
    assert epochs_spent(study, 2) == 4


def test_resume_and_grow_the_budget(tmp_path, monkeypatch, fake_cost):
    calls = []
    monkeypatch.setattr(rungs_module, 'train_rungs', fake_training(calls))
    spec = tiny_spec(
        tmp_path, sampler='random', pruner='none', budget_epochs=4)
    run_worker(spec)
    assert len(calls) == 2
    run_worker(spec)  # nothing left to spend: no trial
    assert len(calls) == 2
    run_worker(
        tiny_spec(tmp_path, sampler='random', pruner='none', budget_epochs=8))
    assert len(calls) == 4
    study = open_study(spec, 1.0, 2)
    assert len(study.get_trials(states=(State.COMPLETE, ))) == 4
    # another sampler for the same study is refused, naming the setting
    with pytest.raises(ValueError, match='sampler'):
        run_worker(tiny_spec(tmp_path, sampler='tpe', pruner='none'))


def test_non_finite_metric_fails_the_trial(tmp_path, monkeypatch, fake_cost):

    def nan_training(cfg,
                     genotype,
                     work_dir,
                     seed,
                     rungs,
                     report,
                     metric=None,
                     signal=None,
                     on_rung=None):
        raise FloatingPointError('coco/AP after epoch 1 is nan')

    monkeypatch.setattr(rungs_module, 'train_rungs', nan_training)
    spec = tiny_spec(
        tmp_path, sampler='random', pruner='none', budget_epochs=2)
    # every trial fails: the worker gives up after the first rather than
    # loop, and the study has no result to write
    monkeypatch.setattr(engine_module, 'MAX_FAILED_IN_A_ROW', 3)
    with pytest.raises(RuntimeError, match='failed'):
        run_worker(spec)
    study = open_study(spec, 1.0, 2)
    assert {t.state for t in study.get_trials()} == {State.FAIL}
    with pytest.raises(RuntimeError, match='no finished trial'):
        write_search(spec)
    assert not osp.exists(osp.join(spec.work_dir, 'genotype.json'))
    assert not osp.exists(osp.join(spec.work_dir, 'pareto.json'))


def test_write_search_files(tmp_path, monkeypatch, fake_cost):
    import json
    calls = []
    monkeypatch.setattr(rungs_module, 'train_rungs', fake_training(calls))
    spec = tiny_spec(tmp_path, budget_epochs=12)
    run_worker(spec)
    report = write_search(spec)
    with open(osp.join(spec.work_dir, 'pareto.json')) as f:
        saved = json.load(f)
    assert saved['front'] == report['front']
    best = report['studies'][0]['best']
    assert best['value'] == max(r['value']
                                for r in report['studies'][0]['rows'])
    # each row keeps the rung log its trial recorded
    assert best['rung_log']['1'] == dict(train_loss=1.)
    assert set(best['rung_log']) == {str(e) for e in (1, 2)}
    g = load_genotype(osp.join(spec.work_dir, 'genotype.json'))
    assert g.cells == genotype_from_params(genotype_params(g)).cells
    assert g.extra['cost'] == 1.0
    assert osp.getsize(osp.join(spec.work_dir, 'front.png')) > 1000


@pytest.mark.parametrize('url', [
    'sqlite://', 'sqlite:///:memory:', 'sqlite:///file:x?mode=memory&uri=true'
])
def test_in_memory_storage_is_refused(tmp_path, url):
    with pytest.raises(ValueError, match='keeps the study in memory'):
        tiny_spec(tmp_path, storage=url)


def test_storage_that_is_not_a_url_is_refused(tmp_path):
    with pytest.raises(
            ValueError, match=r"--storage.*'foo' is not a "
            r'database URL'):
        tiny_spec(tmp_path, storage='foo')


def test_storage_password_is_masked(tmp_path):
    url = 'postgresql+psycopg2://admin:SECRETPW@127.0.0.1:55432/autopose'
    spec = tiny_spec(tmp_path, storage=url)
    assert spec.storage_shown == (
        'postgresql+psycopg2://admin:***@127.0.0.1:55432/autopose')
    assert masked_url('foo') == '(not a database URL)'


def test_pareto_names_the_metric_and_hides_the_password(
        tmp_path, monkeypatch, fake_cost):
    import json
    monkeypatch.setattr(rungs_module, 'train_rungs', fake_training([]))
    spec = tiny_spec(tmp_path, budget_epochs=4)
    run_worker(spec)
    write_search(spec)
    with open(osp.join(spec.work_dir, 'pareto.json')) as f:
        saved = json.load(f)
    assert saved['metric'] == 'coco/AP'
    assert saved['studies'][0]['spec']['metric'] == 'coco/AP'


@pytest.mark.parametrize('damage', ['random', 'truncated'])
def test_damaged_database_is_named(tmp_path, monkeypatch, fake_cost, damage):
    spec = tiny_spec(tmp_path, budget_epochs=2)
    path = osp.join(spec.work_dir, 'study.db')
    if damage == 'random':
        os.makedirs(spec.work_dir)
        with open(path, 'wb') as f:
            f.write(os.urandom(8192))
        why = 'it is not a SQLite database'
    else:
        monkeypatch.setattr(rungs_module, 'train_rungs', fake_training([]))
        run_worker(spec)
        with open(path, 'r+b') as f:
            f.seek(100)  # the header stays, the page tree is gone
            f.write(os.urandom(8192))
        why = 'the database is damaged'
    with pytest.raises(ValueError, match=f'study.db: {why}. Move it aside'):
        run_worker(spec)


def test_a_rerun_that_changes_what_the_results_mean_is_refused(
        tmp_path, monkeypatch, fake_cost):
    calls = []
    monkeypatch.setattr(rungs_module, 'train_rungs', fake_training(calls))
    spec = tiny_spec(
        tmp_path, sampler='random', pruner='none', budget_epochs=2)
    run_worker(spec)
    for change, setting in ((dict(metric='coco/AR'), 'metric'),
                            (dict(enqueue=['published']), 'enqueue')):
        with pytest.raises(ValueError, match=f'other settings \\({setting}'):
            run_worker(
                tiny_spec(
                    tmp_path,
                    sampler='random',
                    pruner='none',
                    budget_epochs=4,
                    **change))
    assert len(calls) == 1


def test_latency_table_counts_by_content(tmp_path):
    table = tmp_path / 'table.json'
    table.write_text('{"a": 1}')
    spec = tiny_spec(tmp_path, latency_table=str(table))
    first = spec_record(spec, 1.0, 2)
    table.write_text('{"a": 2}')
    second = spec_record(spec, 1.0, 2)
    assert first['latency_table_sha256'] != second['latency_table_sha256']
    assert 'latency_table' not in first  # the path alone tells nothing


def test_tpe_startup_trials_are_a_setting_of_the_study(tmp_path):
    default = tiny_spec(tmp_path)
    fewer = tiny_spec(tmp_path, startup_trials=4)
    assert engine_module.make_sampler(default, 0)._n_startup_trials == 10
    assert engine_module.make_sampler(fewer, 0)._n_startup_trials == 4
    # the default keeps a study's record as it was; another count is a
    # different study, and means nothing to the other samplers
    assert 'startup_trials' not in spec_record(default, 1.0, 2)
    assert spec_record(fewer, 1.0, 2)['startup_trials'] == 4
    assert 'startup_trials' not in spec_record(
        tiny_spec(tmp_path, sampler='random', startup_trials=4), 1.0, 2)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match='startup_trials must be'):
            tiny_spec(tmp_path, startup_trials=bad)


def test_misspelled_metric_is_refused_before_training(tmp_path, monkeypatch,
                                                      fake_cost):
    calls = []
    monkeypatch.setattr(rungs_module, 'train_rungs', fake_training(calls))
    spec = tiny_spec(tmp_path, metric='coco/Ap')
    with pytest.raises(KeyError, match="did you mean 'coco/AP'"):
        run_worker(spec)
    assert calls == []
    study = optuna.load_study(
        study_name=spec.study_name(1.0), storage=spec.storage_url)
    assert study.get_trials() == []


def test_report_of_a_study_never_run(tmp_path):
    spec = tiny_spec(tmp_path)
    with pytest.raises(FileNotFoundError, match='nothing to report'):
        write_search(spec)
    assert not osp.exists(osp.join(spec.work_dir, 'study.db'))


def test_report_of_another_study_name(tmp_path, monkeypatch, fake_cost):
    monkeypatch.setattr(rungs_module, 'train_rungs', fake_training([]))
    run_worker(tiny_spec(tmp_path, budget_epochs=2))
    with pytest.raises(
            ValueError,
            match=r'holds no study other@1GMACs '
            r'\(it holds: cells@1GMACs\)'):
        write_search(tiny_spec(tmp_path, name='other'))


def test_workers_are_bounded_by_the_machine():
    bound = worker_limit()
    assert 1 <= bound <= (os.cpu_count() or 1)
    check_workers(bound)
    with pytest.raises(ValueError, match=r'--workers 1000 .*--oversubscribe'):
        check_workers(1000)
    check_workers(1000, oversubscribe=True)
    with pytest.raises(ValueError, match='at least 1'):
        check_workers(0)


def test_unwritable_work_dir_stores_no_trial(tmp_path, monkeypatch, fake_cost):
    calls = []
    monkeypatch.setattr(rungs_module, 'train_rungs', fake_training(calls))
    storage = f'sqlite:///{tmp_path}/elsewhere.db'
    spec = spec_from_config(
        TINY_STUDY,
        '/proc/study',
        storage=storage,
        targets=[1.0],
        budget_epochs=2)
    with pytest.raises(PermissionError, match="--work-dir: cannot write"):
        run_study(spec)
    assert calls == [] and not osp.exists(tmp_path / 'elsewhere.db')


def test_spec_from_config_refuses_unknown_settings(tmp_path):
    cfg = tmp_path / 'bad.py'
    cfg.write_text(f"_base_ = ['{TINY_STUDY}']\n"
                   "study = dict(prunner='none')\n")
    with pytest.raises(ValueError, match="did you mean 'pruner'"):
        spec_from_config(str(cfg), str(tmp_path))
    with pytest.raises(ValueError, match='sampler'):
        tiny_spec(tmp_path, sampler='grid')


def test_trainings_run_once_each_in_its_directory(tmp_path, monkeypatch):
    trained = []

    def fake_training(cfg, genotype, work_dir, seed, layout=None, **network):
        trained.append((osp.basename(work_dir), seed, layout))
        return {'coco/AP': 0.1 + seed / 100, 'coco/AR': 0.2}

    monkeypatch.setattr(training_module, 'train_candidate', fake_training)
    rng = np.random.default_rng(1)
    g1, g2 = sample_genotype(rng), sample_genotype(rng)
    runs = [
        Training('a-seed0', g1, 0),
        Training('a-seed1', g1, 1),  # same genotype, new seed
        Training('b-seed0', g2, 0, (2, 2, 1, 1)),
    ]
    cfg = Config.fromfile(TINY_STUDY)
    seen = []
    out = train_all(
        cfg,
        runs,
        str(tmp_path / 'final'),
        on_done=lambda k, m: seen.append(k))
    assert trained == [('a-seed0', 0, None), ('a-seed1', 1, None),
                       ('b-seed0', 0, (2, 2, 1, 1))]
    assert out['a-seed1'] == {'coco/AP': 0.11, 'coco/AR': 0.2}
    assert list(out) == ['a-seed0', 'a-seed1', 'b-seed0']
    assert sorted(seen) == sorted(out)
    with open(tmp_path / 'final' / 'a-seed1' / 'metrics.json') as f:
        record = json.load(f)
    assert record['metrics'] == out['a-seed1'] and record['seed'] == 1
    # a rerun trains nothing again (finished ones are reported at once); a
    # new training is added
    runs.append(Training('b-seed1', g2, 1))
    seen.clear()
    out = train_all(
        cfg,
        runs,
        str(tmp_path / 'final'),
        on_done=lambda k, m: seen.append(k))
    assert len(trained) == 4 and set(out) == {r.key for r in runs}
    assert sorted(seen) == sorted(out)
    # a directory belongs to its config
    cfg.train_cfg.max_epochs = 5
    with pytest.raises(ValueError, match='another training'):
        train_all(cfg, runs, str(tmp_path / 'final'))
    with pytest.raises(ValueError, match='keys repeat'):
        train_all(cfg, runs + runs[:1], str(tmp_path / 'other'))


def test_a_non_finite_training_fails_loudly(tmp_path, monkeypatch):

    def nan_training(cfg, genotype, work_dir, seed, layout=None, **network):
        return {'coco/AP': float('nan') if seed == 1 else 0.5}

    monkeypatch.setattr(training_module, 'train_candidate', nan_training)
    g = sample_genotype(np.random.default_rng(2))
    runs = [Training(f's{i}', g, i) for i in range(3)]
    with pytest.raises(FloatingPointError, match='non-finite coco/AP'):
        train_all(Config.fromfile(TINY_STUDY), runs, str(tmp_path))
    # the finite result is kept, the non-finite one leaves no record
    assert (tmp_path / 's0' / 'metrics.json').is_file()
    assert not (tmp_path / 's1' / 'metrics.json').exists()
    assert not (tmp_path / 's2').exists()


def test_a_training_without_genotype_trains_the_config_network(
        tmp_path, monkeypatch):
    seen = []

    def fake_training(cfg, genotype, work_dir, seed, layout=None, **network):
        seen.append((genotype, seed, osp.basename(work_dir)))
        return {'coco/AP': 0.2 + seed / 100}

    monkeypatch.setattr(training_module, 'train_candidate', fake_training)
    runs = [Training(f'ref-seed{s}', None, s) for s in (0, 1)]
    out = train_all(Config.fromfile(TINY_STUDY), runs, str(tmp_path))
    assert sorted(seen) == [(None, 0, 'ref-seed0'), (None, 1, 'ref-seed1')]
    assert out == {
        'ref-seed0': {
            'coco/AP': 0.2
        },
        'ref-seed1': {
            'coco/AP': 0.2 + 1 / 100
        }
    }


def test_trainings_run_in_worker_processes(sample_workspace, tmp_path,
                                           monkeypatch):
    """Two worker processes train a tiny network for real, each training
    ending with its record."""
    monkeypatch.chdir(sample_workspace)
    cfg = Config.fromfile(TINY_STUDY)
    cfg.train_cfg.max_epochs = 1
    g = sample_genotype(np.random.default_rng(3))
    runs = [Training(f's{i}', g, i) for i in range(2)]
    out = train_all(cfg, runs, str(tmp_path), workers=2)
    assert list(out) == ['s0', 's1']
    for key, metrics in out.items():
        assert 0 <= metrics['coco/AP'] <= 1
        with open(tmp_path / key / 'metrics.json') as f:
            assert json.load(f)['metrics'] == metrics


def test_cfg_options_change_the_study_and_every_trial(tmp_path):
    spec = spec_from_config(
        TINY_STUDY,
        str(tmp_path),
        cfg_options={
            'study.budget_epochs': 5,
            'study.targets': [0.02, 0.03],
            'train_cfg.max_epochs': 3
        })
    assert spec.budget_epochs == 5 and spec.targets == (0.02, 0.03)
    assert spec.cfg_options == {'train_cfg.max_epochs': 3}
    assert spec.load_cfg().train_cfg.max_epochs == 3
    plain = spec_from_config(TINY_STUDY, str(tmp_path))
    assert plain.load_cfg().train_cfg.max_epochs != 3
    # the trials' config counts in the study's record
    assert spec_record(spec, 0.02, 3)['config_sha1'] != \
        spec_record(plain, 0.02, 3)['config_sha1']
    with pytest.raises(ValueError, match="did you mean 'pruner'"):
        spec_from_config(
            TINY_STUDY, str(tmp_path), cfg_options={'study.prunner': 'none'})
