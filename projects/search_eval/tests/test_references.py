"""Placing a comparison's picks beside hand-designed networks: reading the
comparison, refusing a reference trained differently, timing in rounds."""
import json
import os.path as osp

import pytest
import torch.nn as nn
from conftest import PROJECT, REPO
from search_eval import references

DEMO = osp.join(REPO, 'configs', 'autopose', 'demo')
PROXY = osp.join(DEMO, 'proxy_l6_c16_sample_coco_128x96.py')
RTMPOSE_T = 'rtmpose_t_sample_coco_128x96.py'


def test_a_file_that_is_not_a_comparison_is_refused(tmp_path):
    path = tmp_path / 'pareto.json'
    path.write_text(json.dumps({'front': []}))
    with pytest.raises(ValueError, match='study_vs_random.py'):
        references.read_comparison(str(path))


def test_a_reference_with_another_schedule_is_refused(tmp_path):
    cfg = tmp_path / 'other_optimizer.py'
    cfg.write_text(
        f"_base_ = ['{osp.join(PROJECT, 'configs', RTMPOSE_T)}']\n"
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=1e-3))\n")
    results = tmp_path / 'results.json'
    results.write_text(
        json.dumps(
            dict(
                final_config=PROXY,
                final_epochs=None,
                metric='coco/AP',
                train_seeds=[0, 1],
                methods={})))
    plan = references.ReferenceComparison(
        results=str(results),
        references=[str(cfg)],
        work_dir=str(tmp_path / 'fvr'))
    with pytest.raises(ValueError, match='other_optimizer.py does not train'):
        references.front_vs_references(plan)


def test_the_demo_references_share_the_picks_schedule():
    from mmengine.config import Config
    proxy = references.schedule(Config.fromfile(PROXY))
    for size in ('t', 's'):
        cfg = Config.fromfile(
            osp.join(PROJECT, 'configs',
                     f'rtmpose_{size}_sample_coco_128x96.py'))
        assert references.schedule(cfg) == proxy
        assert cfg.model.backbone.init_cfg is None
        assert cfg.codec.input_size == (96, 128)


def test_latency_is_measured_in_rounds():
    models = {
        'small': nn.Conv2d(3, 4, 3),
        'large': nn.Sequential(nn.Conv2d(3, 64, 3), nn.Conv2d(64, 64, 3))
    }
    for m in models.values():
        m._forward = m.forward
    out = references.measure_latency(
        models, (32, 32), 'eager', threads=1, rounds=3, repeats=3)
    for name in models:
        assert len(out[name]['rounds']) == 3
        assert out[name]['spread'] == pytest.approx(
            max(out[name]['rounds']) - min(out[name]['rounds']))
        assert min(out[name]['rounds']) <= out[name]['ms'] <= max(
            out[name]['rounds'])
