"""The README's demo, on a smaller run: the product path from the search to
a timed OpenVINO model, with a short log."""
import json
import os.path as osp

import cv2
from conftest import run_tool
from mmengine.config import Config

from autopose_mm.datasets import generate_coco


def test_demo_end_to_end(tmp_path):
    workspace = str(tmp_path)
    generate_coco(
        osp.join(workspace, 'data', 'sample_coco'),
        num_train=120,
        num_val=20,
        image_size=(192, 192),
        seed=5)
    # the search's own test set, small (the tools generate 400 images)
    generate_coco(
        osp.join(workspace, 'data', 'sample_coco_search400'),
        num_train=0,
        num_val=20,
        image_size=(192, 192),
        seed=7)
    proc = run_tool(
        'demo.py',
        '--epochs',
        '2',
        '--workers',
        '1',
        '--budget-epochs',
        '2',
        '--study-options',
        'train_cfg.max_epochs=2',
        '--work-dir',
        'work_dirs/demo',
        cwd=workspace)
    work_dir = osp.join(workspace, 'work_dirs', 'demo')
    lines = proc.stdout.splitlines()
    for step in range(1, 8):
        assert any(f' {step}/7 ' in ln for ln in lines), step
    # a log a person reads: the tools' own output is in the work dir
    assert len(lines) < 50, proc.stdout
    for tool in ('search', 'train', 'test', 'export'):
        assert osp.getsize(osp.join(work_dir, 'logs', f'{tool}.log')) > 0
    # the search: one whole-network study, its front of networks with
    # trials of the shortened schedule (the options reach every trial)
    with open(osp.join(work_dir, 'search', 'pareto.json')) as f:
        pareto = json.load(f)
    assert len(pareto['studies']) == 1 and pareto['front']
    assert pareto['studies'][0]['best']['epochs'] == 2
    for r in pareto['front']:
        assert r['describe'] in proc.stdout
    with open(osp.join(work_dir, 'summary.json')) as f:
        summary = json.load(f)
    # the trained network is the front's most accurate, as its config says
    best = max(pareto['front'], key=lambda r: r['value'])
    assert summary['network'] == best['describe']
    cfg = Config.fromfile(osp.join(workspace, summary['config']))
    assert cfg.model.backbone.base_channels == best['network']['width']
    assert cfg.model.neck.num_stages == best['network']['stages']
    with open(osp.join(work_dir, 'metrics.json')) as f:
        metrics = json.load(f)
    assert 0 <= metrics['coco/AP'] <= 1
    assert summary['metrics'] == metrics
    assert summary['openvino_ms'] > 0
    assert f'| {metrics["coco/AP"]:.3f} |' in proc.stdout  # the table
    for name in ('autopose_searched.onnx', 'autopose_searched.xml',
                 'autopose_searched.bin'):
        assert osp.getsize(osp.join(work_dir, 'export', name)) > 0
    for name in ('front.png', 'architecture.png', 'predictions.png'):
        img = cv2.imread(osp.join(work_dir, name))
        assert img is not None and min(img.shape[:2]) > 100, name
