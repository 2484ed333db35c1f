"""The cell search: its steps, its outputs, DDP agreement and resume."""
import glob
import json
import os.path as osp
import re

import numpy as np
import pytest
import torch
from conftest import REPO, run_tool
from mmengine.config import Config
from mmengine.runner import Runner

from autopose_mm.models import (
    AutoPoseDecoder,
    AutoPoseNet,
    Genotype,
    load_genotype,
)
from autopose_mm.search import selection
from autopose_mm.search import training as training_module
from autopose_mm.search.loops import SinglePathSearchLoop
from autopose_mm.search.space import arch_modules

SEARCH_CFG = osp.join(REPO, 'configs', 'autopose', 'demo',
                      'search_tiny_sample_coco_64x48.py')
DETERMINISTIC = 'randomness.deterministic=True'


@pytest.fixture(scope='module')
def searched(sample_workspace, tmp_path_factory):
    """The tiny search, run through tools/train.py; returns its work dir."""
    work_dir = str(tmp_path_factory.mktemp('search'))
    run_tool(
        'train.py',
        SEARCH_CFG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        DETERMINISTIC,
        cwd=sample_workspace)
    return work_dir


def test_alpha_and_weight_steps_touch_only_their_parameters(
        sample_workspace, tmp_path, monkeypatch):
    monkeypatch.chdir(sample_workspace)
    cfg = Config.fromfile(SEARCH_CFG)
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    loop = runner.train_loop
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    model = runner.model
    arch_ids = {id(p) for m in arch_modules(model) for p in m.parameters()}
    assert len(arch_ids) == 10  # alphas and betas of 5 cell types

    def snapshot():
        return {n: p.detach().clone() for n, p in model.named_parameters()}

    def changed(before):
        return {
            n
            for n, p in model.named_parameters()
            if not torch.equal(p, before[n])
        }

    batch = next(iter(loop.dataloader))
    arch_names = {n for n, p in model.named_parameters() if id(p) in arch_ids}
    before = snapshot()
    model.arch_step(batch, runner.optim_wrapper['arch'])
    assert changed(before) == arch_names
    before = snapshot()
    model.search_step(batch, None, runner.optim_wrapper)  # weights only
    moved = changed(before)
    assert moved and not moved & arch_names


def test_halves_split_the_training_set(sample_workspace, tmp_path,
                                       monkeypatch):
    monkeypatch.chdir(sample_workspace)
    cfg = Config.fromfile(SEARCH_CFG)
    cfg.work_dir = str(tmp_path)
    loop = Runner.from_cfg(cfg).train_loop
    weights = loop.dataloader.dataset
    arch = loop.arch_dataloader.dataset
    ids_w = {weights.get_data_info(i)['id'] for i in range(len(weights))}
    ids_a = {arch.get_data_info(i)['id'] for i in range(len(arch))}
    assert ids_w and ids_a and not ids_w & ids_a
    assert abs(len(weights) - len(arch)) <= 1


def test_arch_interval_spaces_the_alpha_steps(sample_workspace, tmp_path,
                                              monkeypatch):
    monkeypatch.chdir(sample_workspace)
    cfg = Config.fromfile(SEARCH_CFG)
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.update(warmup_epochs=0, arch_interval=2)
    runner = Runner.from_cfg(cfg)
    loop = runner.train_loop
    steps = []
    monkeypatch.setattr(runner, 'call_hook', lambda *a, **k: None)
    monkeypatch.setattr(
        loop,
        'run_iter',
        lambda idx, data, arch=None: steps.append(arch is not None))
    loop.run_epoch()
    assert len(steps) == len(loop.dataloader) >= 3
    assert steps == [i % 2 == 0 for i in range(len(steps))]

    cfg.train_cfg.arch_interval = 0
    cfg.work_dir = str(tmp_path / 'bad')
    with pytest.raises(ValueError, match='train_cfg.arch_interval'):
        Runner.from_cfg(cfg).train_loop


def test_search_writes_valid_genotypes_that_build(searched):
    files = sorted(glob.glob(osp.join(searched, 'genotypes', '*.json')))
    assert len(files) == 4  # one per epoch
    final = Genotype.load(osp.join(searched, 'genotype.json'))
    assert final == Genotype.load(files[-1])
    for path in files:
        genotype = Genotype.load(path)  # validates
        assert all(
            len(node) == 2 for cell in genotype.cells.values()
            for node in cell.edges)
        assert all(op != 'none' for cell in genotype.cells.values()
                   for node in cell.edges for op, _ in node)
        backbone = AutoPoseNet(
            arch=None, num_cells=4, base_channels=8, genotype=path)
        neck = AutoPoseDecoder(backbone.out_channels, genotype=path)
        out = neck(backbone(torch.rand(1, 3, 64, 48)))
        assert out[0].shape == (1, 16, 16, 12)
    assert osp.isfile(osp.join(searched, 'search_curves.png'))


def _distance_from_uniform(cells: dict) -> float:
    worst = 0.
    for cell in cells.values():
        alphas = np.array(cell['alphas'])
        for row in alphas:
            live = row[row > 0]
            worst = max(worst, np.abs(live - 1 / len(live)).max())
    return worst


def test_search_moves_alphas_after_warmup(searched):
    with open(osp.join(searched, 'search_history.json')) as f:
        history = json.load(f)['epochs']
    assert [h['epoch'] for h in history] == [1, 2, 3, 4]
    # warm-up (epochs 1-2) leaves the alphas at their initial values
    assert history[0]['cells'] == history[1]['cells']
    warm = _distance_from_uniform(history[1]['cells'])
    final = _distance_from_uniform(history[-1]['cells'])
    assert final > 1e-3 and final > 5 * warm, (warm, final)


def test_searched_genotype_trains(searched, sample_workspace, tmp_path):
    genotype = osp.join(searched, 'genotype.json')
    cfg = osp.join(REPO, 'tests', 'configs', 'tiny_coco.py')
    run_tool(
        'train.py',
        cfg,
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        f'model.genotype={genotype}',
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1',
        cwd=sample_workspace)
    ckpt = torch.load(osp.join(tmp_path, 'epoch_1.pth'), weights_only=False)
    assert any('graph.ops' in k for k in ckpt['state_dict'])


def test_resume_after_a_kill_gives_the_same_genotype(searched,
                                                     sample_workspace,
                                                     tmp_path):
    work_dir = str(tmp_path)
    killed = osp.join(REPO, 'tests', 'configs', 'tiny_search_kill.py')
    proc = run_tool(
        'train.py',
        killed,
        '--work-dir',
        work_dir,
        '--cfg-options',
        DETERMINISTIC,
        cwd=sample_workspace,
        check=False)
    assert proc.returncode == 3, proc.stdout[-3000:]
    assert not osp.exists(osp.join(work_dir, 'epoch_3.pth'))
    run_tool(
        'train.py',
        SEARCH_CFG,
        '--work-dir',
        work_dir,
        '--resume',
        '--cfg-options',
        DETERMINISTIC,
        cwd=sample_workspace)
    resumed = Genotype.load(osp.join(work_dir, 'genotype.json'))
    assert resumed == Genotype.load(osp.join(searched, 'genotype.json'))
    a = torch.load(osp.join(work_dir, 'epoch_4.pth'), weights_only=False)
    b = torch.load(osp.join(searched, 'epoch_4.pth'), weights_only=False)
    for key, value in a['state_dict'].items():
        if 'arch_params' in key:
            assert torch.equal(value, b['state_dict'][key]), key
    with open(osp.join(work_dir, 'search_history.json')) as f:
        assert [h['epoch'] for h in json.load(f)['epochs']] == [1, 2, 3, 4]


def test_ddp_ranks_agree_on_alphas_and_genotype(sample_workspace, tmp_path):
    cfg = osp.join(REPO, 'tests', 'configs', 'tiny_search_dist.py')
    run_tool(
        'dist_train.sh',
        cfg,
        '2',
        '--work-dir',
        str(tmp_path),
        cwd=sample_workspace,
        env=dict(PORT='29741'))
    ranks = [torch.load(osp.join(tmp_path, f'rank_{r}.pth')) for r in (0, 1)]
    assert ranks[0]['genotype'] == ranks[1]['genotype']
    arch_keys = [k for k in ranks[0]['state'] if 'arch_params' in k]
    assert len(arch_keys) == 10
    for key in ranks[0]['state']:
        assert torch.equal(ranks[0]['state'][key], ranks[1]['state'][key]), key
    written = Genotype.load(osp.join(tmp_path, 'genotype.json')).to_dict()
    for field in ('encoder', 'decoder'):
        assert written[field] == ranks[0]['genotype'][field]


def test_a_diverging_search_stops_without_writing_a_genotype(
        sample_workspace, tmp_path):
    work_dir = str(tmp_path)
    proc = run_tool(
        'train.py',
        SEARCH_CFG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        'optim_wrapper.weights.optimizer.lr=1e6',
        'optim_wrapper.arch.optimizer.lr=1e6',
        'train_cfg.warmup_epochs=0',
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0
    assert 'search diverged at epoch' in proc.stdout
    assert 'FloatingPointError' in proc.stdout
    bad = int(
        re.search(r'search diverged at epoch (\d+)', proc.stdout).group(1))
    # nothing derived from the diverged epoch; what was written before is
    # strict JSON with finite numbers
    assert not osp.exists(osp.join(work_dir, 'genotypes', f'epoch_{bad}.json'))
    history_file = osp.join(work_dir, 'search_history.json')
    if osp.exists(history_file):
        with open(history_file) as f:
            history = json.load(f, parse_constant=lambda c: 1 / 0)
        assert [h['epoch'] for h in history['epochs']] == list(range(1, bad))


def _path_search(config: str, workspace: str, work_dir) -> dict:
    """Run a single-path search config of tests/configs through
    tools/train.py; returns its path_search.json."""
    run_tool(
        'train.py',
        osp.join(REPO, 'tests', 'configs', config),
        '--work-dir',
        str(work_dir),
        '--cfg-options',
        DETERMINISTIC,
        cwd=workspace)
    with open(osp.join(work_dir, 'path_search.json')) as f:
        return json.load(f)


def test_single_path_search_writes_the_best_scored_genotype(
        sample_workspace, tmp_path):
    record = _path_search('tiny_path_search.py', sample_workspace, tmp_path)
    candidates = record['candidates']
    assert len(candidates) == 3 and record['epoch'] == 2
    target = record['gmacs_target']
    for c in candidates:
        assert abs(c['gmacs'] / target - 1) <= 0.1
        assert c['score'] < 0  # minus the heatmap loss
    scores = [c['score'] for c in candidates]
    assert record['best'] == int(np.argmax(scores))
    best = Genotype.from_dict(candidates[record['best']]['genotype'])
    written = Genotype.load(osp.join(tmp_path, 'genotype.json'))
    assert dict(written.cells) == dict(best.cells)
    for epoch in (1, 2):
        assert osp.isfile(tmp_path / f'epoch_{epoch}.pth')


def test_rerank_keeps_the_best_trained_of_the_shortlist(
        sample_workspace, tmp_path):
    record = _path_search('tiny_path_rerank_search.py', sample_workspace,
                          tmp_path)
    scores = [c['score'] for c in record['candidates']]
    shortlist = record['rerank']['shortlist']
    # the two best scored by the supernet, best first
    assert [s['candidate'] for s in shortlist] == \
        list(np.argsort(scores)[::-1][:2])
    # seeds apart from the comparison's training seeds (randomness.seed 0)
    assert [s['seed'] for s in shortlist] == [10_000, 10_001]
    assert record['rerank']['metric'] == 'coco/AP'
    aps = [s['metrics']['coco/AP'] for s in shortlist]
    assert all(0 <= ap <= 1 for ap in aps)
    assert record['best'] == shortlist[int(np.argmax(aps))]['candidate']
    best = Genotype.from_dict(record['candidates'][record['best']]['genotype'])
    written = Genotype.load(osp.join(tmp_path, 'genotype.json'))
    assert dict(written.cells) == dict(best.cells)
    for s in shortlist:
        assert glob.glob(
            osp.join(tmp_path, 'rerank', f'candidate_{s["candidate"]}', '*',
                     '*.log'))


@pytest.mark.parametrize('rerank, error, words', [
    (dict(config='{screen}', topp=2), ValueError, 'unknown keys'),
    (dict(config='missing.py'), FileNotFoundError, 'missing.py'),
    (dict(config='{screen}', top=4), ValueError, 'num_candidates (3)'),
    (dict(config='{screen}', jobs=0), ValueError, 'rerank.jobs'),
])
def test_rerank_settings_are_checked(rerank, error, words):
    screen = osp.join(REPO, 'tests', 'configs', 'tiny_screen.py')
    rerank = {
        k: v.format(screen=screen) if isinstance(v, str) else v
        for k, v in rerank.items()
    }
    with pytest.raises(error, match=re.escape(words)):
        selection.check_rerank(rerank, 3)


def _rerank(work_dir: str, top: int, candidates, scores):
    """Rerank ``candidates`` by ``scores`` as a single-path search with seed
    0 does at its last epoch, training with the tiny screen config."""
    screen = osp.join(REPO, 'tests', 'configs', 'tiny_screen.py')
    rerank = selection.check_rerank(dict(config=screen, top=top), 8)
    return selection.rerank_shortlist(screen, rerank, candidates, scores,
                                      work_dir, 0, lambda msg: None)


def test_a_non_finite_rerank_metric_stops_the_search(sample_workspace,
                                                     tmp_path, monkeypatch):

    def nan_training(cfg, genotype, work_dir, seed, layout=None, **network):
        return {'coco/AP': float('nan') if seed == 10_001 else 0.5}

    monkeypatch.setattr(training_module, 'train_candidate', nan_training)
    monkeypatch.chdir(sample_workspace)
    with pytest.raises(FloatingPointError, match='non-finite coco/AP'):
        _rerank(
            str(tmp_path), 8, [load_genotype('published')] * 8,
            torch.arange(8.))
    # only the finite result was kept
    kept = glob.glob(str(tmp_path / 'rerank' / '*' / 'metrics.json'))
    seeds = []
    for path in kept:
        with open(path) as f:
            seeds.append(json.load(f)['seed'])
    assert seeds == [10_000]


def test_a_resumed_rerank_trains_only_what_is_missing(sample_workspace,
                                                      tmp_path, monkeypatch):
    trained = []

    def training(cfg, genotype, work_dir, seed, layout=None, **network):
        trained.append(seed)
        if len(trained) == 3:
            raise KeyboardInterrupt  # killed during the third
        return {'coco/AP': 0.1 * (seed % 100)}

    monkeypatch.setattr(training_module, 'train_candidate', training)
    monkeypatch.chdir(sample_workspace)
    candidates = [load_genotype('published')] * 4
    scores = torch.tensor([0., 3., 2., 1.])
    with pytest.raises(KeyboardInterrupt):
        _rerank(str(tmp_path), 3, candidates, scores)
    assert trained == [10_000, 10_001, 10_002]
    best, summary = _rerank(str(tmp_path), 3, candidates, scores)
    assert trained[3:] == [10_002]  # the first two were reused
    # shortlist by score: candidates 1, 2, 3; AP 0, 0.1, 0.2
    assert [r[0] for r in summary['runs']] == [1, 2, 3]
    assert best == 3 and summary['best'] == pytest.approx(0.2)
