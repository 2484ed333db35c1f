"""The bi-level search: end to end, DDP agreement and resume."""
import glob
import json
import os.path as osp

import cv2
import pytest
import torch
from conftest import REPO, run_tool

from autopose_mm.models import Genotype

CFG = osp.join(REPO, 'configs', 'autopose', 'demo',
               'bilevel_search_tiny_sample_coco_64x48.py')
DETERMINISTIC = 'randomness.deterministic=True'


@pytest.fixture(scope='module')
def bilevel(sample_workspace, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('bilevel'))
    run_tool(
        'train.py',
        CFG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        DETERMINISTIC,
        cwd=sample_workspace)
    return work_dir


def _controller_state(ckpt):
    return {k: v for k, v in ckpt['state_dict'].items() if 'controller' in k}


def test_bilevel_search_writes_a_layout_that_trains(bilevel, sample_workspace,
                                                    tmp_path):
    genotype = Genotype.load(osp.join(bilevel, 'genotype.json'))
    layout = genotype.cells_per_scale
    assert layout is not None and 4 <= sum(layout) <= 8
    assert all(1 <= n <= 3 for n in layout)
    curves = cv2.imread(osp.join(bilevel, 'search_curves.png'))
    assert curves is not None
    log, = glob.glob(osp.join(bilevel, '*', 'vis_data', 'scalars.json'))
    with open(log) as f:
        scalars = [json.loads(line) for line in f]
    rewards = [r['reward'] for r in scalars if 'reward' in r]
    assert rewards and all(0 <= r <= 1 for r in rewards)
    ckpt = torch.load(osp.join(bilevel, 'epoch_4.pth'), weights_only=False)
    state = _controller_state(ckpt)
    assert int(state['backbone.controller.steps']) > 0
    assert 'controller' in ckpt['optimizer']
    # the genotype, layout included, trains as an ordinary network
    path = osp.join(bilevel, 'genotype.json')
    run_tool(
        'train.py',
        osp.join(REPO, 'tests', 'configs', 'tiny_coco.py'),
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        f'model.genotype={path}',
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1',
        cwd=sample_workspace)
    trained = torch.load(
        osp.join(tmp_path, 'epoch_1.pth'), weights_only=False)['state_dict']
    cells = {
        int(k.split('.')[3])
        for k in trained if k.startswith('backbone.cells.cells.')
    }
    assert len(cells) == sum(layout)


def test_resume_restores_controller_and_baseline(bilevel, sample_workspace,
                                                 tmp_path):
    work_dir = str(tmp_path)
    killed = osp.join(REPO, 'tests', 'configs', 'tiny_bilevel_kill.py')
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
    run_tool(
        'train.py',
        CFG,
        '--work-dir',
        work_dir,
        '--resume',
        '--cfg-options',
        DETERMINISTIC,
        cwd=sample_workspace)
    a = torch.load(osp.join(work_dir, 'epoch_4.pth'), weights_only=False)
    b = torch.load(osp.join(bilevel, 'epoch_4.pth'), weights_only=False)
    for key, value in _controller_state(b).items():
        assert torch.equal(_controller_state(a)[key], value), key
    assert Genotype.load(osp.join(work_dir, 'genotype.json')) == \
        Genotype.load(osp.join(bilevel, 'genotype.json'))


def test_ddp_ranks_sample_the_same_layouts(sample_workspace, tmp_path):
    cfg = osp.join(REPO, 'tests', 'configs', 'tiny_bilevel_dist.py')
    run_tool(
        'dist_train.sh',
        cfg,
        '2',
        '--work-dir',
        str(tmp_path),
        cwd=sample_workspace,
        env=dict(PORT='29751'))
    ranks = [torch.load(osp.join(tmp_path, f'rank_{r}.pth')) for r in (0, 1)]
    assert ranks[0]['genotype'] == ranks[1]['genotype']
    keys = [k for k in ranks[0]['state'] if 'controller' in k]
    assert keys
    for key in ranks[0]['state']:
        assert torch.equal(ranks[0]['state'][key], ranks[1]['state'][key]), key
