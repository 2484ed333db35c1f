import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from autopose_mm.models import AutoPoseDecoder, AutoPoseNet
from autopose_mm.models.cells import _UpsampleProjection
from autopose_mm.utils.complexity import count_macs, count_params

CONFIG_DIR = osp.join(REPO, 'configs', 'autopose')
# docs/architecture.md: model params (M) and GMACs at 256x192, K = 17,
# for the stage-1 and the two-stage model, counted in the spelled-out order
# (upsample, then project).
MODEL_FIGURES = {
    'l12_c32': dict(stage1=(5.51, 1.06), two_stage=(11.31, 2.00)),
    'l18_c48': dict(stage1=(15.70, 3.22), two_stage=(22.11, 4.33)),
    'l18_c64': dict(stage1=(27.90, 5.72), two_stage=(35.08, 7.05)),
}


def stage1_model_cfg(cfg: Config) -> dict:
    """The config's model with the refinement stage removed."""
    model = cfg.model.copy()
    model.neck = dict(model.neck, num_stages=1)
    head = dict(model.head)
    head.pop('num_stages')
    model.head = dict(head, type='HeatmapHead')
    return model


def upsample_then_project(self, x, size):
    """The decoder's coarse-input projection in the spelled-out order."""
    return self.proj(F.interpolate(x, size=size, mode='nearest'))


@pytest.mark.parametrize('name', list(MODEL_FIGURES))
def test_full_model_fidelity(name, monkeypatch):
    init_default_scope('mmpose')
    cfg = Config.fromfile(osp.join(CONFIG_DIR, f'{name}_coco_256x192.py'))
    for variant, model_cfg in (('two_stage', cfg.model),
                               ('stage1', stage1_model_cfg(cfg))):
        model = MODELS.build(model_cfg)
        params, gmacs = MODEL_FIGURES[name][variant]
        assert count_params(model) / 1e6 == pytest.approx(params, rel=0.01)
        executed = count_macs(model, (3, 256, 192))
        with monkeypatch.context() as m:
            m.setattr(_UpsampleProjection, 'forward', upsample_then_project)
            spelled_out = count_macs(model, (3, 256, 192))
        assert spelled_out / 1e9 == pytest.approx(gmacs, rel=0.01)
        # projecting before upsampling saves 3/4 of those 1x1 convs
        assert 0.97 * spelled_out < executed < spelled_out


@pytest.mark.parametrize('size', [(8, 6), (7, 5)])
def test_projecting_before_upsampling_is_the_same_function(size):
    torch.manual_seed(0)
    ours = _UpsampleProjection(12, 4, None, dict(type='BN', momentum=0.1))
    ref = copy.deepcopy(ours)
    x = torch.randn(4, 12, 4, 3)
    for training in (True, False):
        ours.train(training)
        ref.train(training)
        x1 = x.clone().requires_grad_()
        x2 = x.clone().requires_grad_()
        y1 = ours(x1, size)
        y2 = upsample_then_project(ref, x2, size)
        assert y1.shape == (4, 4) + size
        torch.testing.assert_close(y1, y2)
        if training:
            g = torch.randn_like(y1)
            y1.backward(g)
            y2.backward(g)
            torch.testing.assert_close(x1.grad, x2.grad)
            torch.testing.assert_close(ours.proj.conv.weight.grad,
                                       ref.proj.conv.weight.grad)
            torch.testing.assert_close(ours.proj.bn.running_var,
                                       ref.proj.bn.running_var)


@pytest.mark.parametrize('num_stages', [1, 2])
def test_neck_returns_one_quarter_feature_per_stage(num_stages):
    backbone = AutoPoseNet(arch=None, num_cells=4, base_channels=8)
    neck = AutoPoseDecoder(
        backbone.out_channels,
        num_stages=num_stages,
        refine_channels=16,
        refine_num_cells=4,
        refine_reduction_indices=(1, 2, 3))
    x = torch.rand(2, 3, 64, 48)
    outs = neck(backbone(x))
    assert len(outs) == num_stages
    for out in outs:
        assert out.shape == (2, 16, 16, 12)
        assert out.min() >= 0  # features leave the neck after a ReLU
    sum(o.sum() for o in outs).backward()
    assert all(p.grad is not None for p in backbone.parameters())
    assert all(p.grad is not None for p in neck.parameters())


def test_neck_rejects_bad_stages():
    with pytest.raises(ValueError, match='num_stages must be 1 or 2'):
        AutoPoseDecoder([16, 32, 64, 128], num_stages=3)
    with pytest.raises(ValueError, match='4 taps'):
        AutoPoseDecoder([16, 32, 64])
