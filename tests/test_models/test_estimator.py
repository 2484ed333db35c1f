"""AutoPoseEstimator: the genotype given once, widths that follow the
backbone, and mismatches caught when the model is built."""
import numpy as np
import pytest
import torch
from conftest import TINY_CFG
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from autopose_mm.models import Genotype, load_genotype
from autopose_mm.search.space import sample_genotype


def _model_cfg():
    init_default_scope('mmpose')
    return Config.fromfile(TINY_CFG).model


def test_neck_and_head_follow_the_backbone():
    cfg = _model_cfg()
    assert 'in_channels' not in cfg.neck and 'genotype' not in cfg.neck
    cfg.backbone.base_channels = 12
    model = MODELS.build(cfg)
    assert model.neck.in_channels == (24, 48, 96, 192)
    assert model.neck.genotype is model.backbone.genotype
    assert model.head.in_channels == 24
    out = model._forward(torch.rand(1, 3, 64, 48))
    assert out[-1].shape == (1, 17, 16, 12)


def test_one_genotype_builds_backbone_and_neck(tmp_path):
    genotype = sample_genotype(np.random.default_rng(3))
    path = str(tmp_path / 'g.json')
    genotype.dump(path)
    cfg = _model_cfg()
    cfg.genotype = path
    model = MODELS.build(cfg)
    for part in (model.backbone, model.neck):
        assert part.genotype.cells == genotype.cells


def test_another_genotype_in_the_neck_is_refused(tmp_path):
    path = str(tmp_path / 'g.json')
    sample_genotype(np.random.default_rng(4)).dump(path)
    cfg = _model_cfg()
    cfg.neck.genotype = path
    with pytest.raises(
            ValueError,
            match='model.neck.genotype=.*differs from '
            'model.genotype'):
        MODELS.build(cfg)
    # the same genotype given twice is accepted
    cfg.neck.genotype = 'published'
    MODELS.build(cfg)


@pytest.mark.parametrize('key, value, match', [
    ('neck', dict(in_channels=[64, 128, 256, 512]),
     r'model.neck.in_channels=\[64, 128, 256, 512\] does not match the '
     r"backbone's outputs, \[16, 32, 64, 128\].*base_channels=8"),
    ('head', dict(in_channels=32), r"model.head.in_channels=32 does not "
     r"match the neck's output, 16"),
    ('head', dict(num_stages=1), 'num_stages=1 but .*num_stages=2'),
])
def test_width_mismatches_name_both_sides(key, value, match):
    cfg = _model_cfg()
    cfg[key].update(value)
    with pytest.raises(ValueError, match=match):
        MODELS.build(cfg)


def test_fewer_nodes_change_the_widths_consistently():
    data = load_genotype('published').to_dict()
    for cells in (data['encoder'], data['decoder']):
        for cell in cells.values():
            cell['edges'] = cell['edges'][:3]
            cell['concat'] = [2, 3, 4]
    data['nodes'] = 3
    cfg = _model_cfg()
    cfg.genotype = data
    with pytest.raises(
            ValueError,
            match=r"refine_channels \(16\) must be "
            r"divisible by the genotype's 3 concatenated nodes"):
        MODELS.build(cfg)
    cfg.neck.refine_channels = 12
    model = MODELS.build(cfg)
    assert model.backbone.out_channels == (12, 24, 48, 96)
    assert model.neck.in_channels == model.backbone.out_channels
    assert model._forward(torch.rand(1, 3, 64, 48))[-1].shape[1] == 17


def test_layout_genotype_overriding_a_preset_is_logged(tmp_path):
    data = load_genotype('published').to_dict()
    data['network'] = dict(cells_per_scale=[1, 2, 2, 1])
    cfg = _model_cfg()
    cfg.backbone = dict(type='AutoPoseNet', arch='L12-C32', init_cfg=None)
    cfg.genotype = Genotype.from_dict(data)
    log = tmp_path / 'build.log'
    MMLogger.get_instance('estimator_test', log_file=str(log))
    model = MODELS.build(cfg)
    assert model.backbone.num_cells == 6
    out = log.read_text()
    assert 'cells_per_scale=[1, 2, 2, 1]' in out and 'preset L12-C32' in out
