"""Every shipped config loads and builds its model, which gives heatmaps
(or, for the RTMPose references, SimCC vectors) of the codec's size."""
import glob
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(REPO, 'configs', 'autopose', '**', '*.py'), recursive=True)
    if '_base_' not in p)


def test_all_configs_are_found():
    names = {osp.basename(p) for p in CONFIGS}
    for arch in ('l12_c32', 'l18_c48', 'l18_c64'):
        for suffix in ('coco_256x192', 'coco_384x288', 'coco_384x288_test-dev',
                       'mpii_256x256'):
            assert f'{arch}_{suffix}.py' in names


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, REPO) for p in CONFIGS])
def test_config_builds_its_model(path):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    model = MODELS.build(cfg.model)
    w, h = cfg.codec['input_size']
    num_keypoints = cfg.model.head.out_channels
    model.eval()
    with torch.no_grad():
        out = model._forward(torch.rand(1, 3, h, w))
    if cfg.codec['type'] == 'SimCCLabel':  # the RTMPose references
        ratio = cfg.codec['simcc_split_ratio']
        simcc_x, simcc_y = out
        assert simcc_x.shape == (1, num_keypoints, int(w * ratio))
        assert simcc_y.shape == (1, num_keypoints, int(h * ratio))
    else:
        heatmaps = out[-1] if isinstance(out, (list, tuple)) else out
        hw, hh = cfg.codec['heatmap_size']
        assert heatmaps.shape == (1, num_keypoints, hh, hw)
    assert cfg.model.backbone.get('init_cfg') is None  # nothing downloaded
