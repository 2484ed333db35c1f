"""Scoring a genotype with the supernet's inherited weights."""
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

from autopose_mm.models import load_genotype
from autopose_mm.search.selection import score_genotype
from autopose_mm.search.space import sample_genotype

SEARCH_CFG = osp.join(REPO, 'configs', 'autopose', 'demo',
                      'search_tiny_sample_coco_64x48.py')


def _batch(n: int = 4) -> dict:
    samples = []
    for _ in range(n):
        s = PoseDataSample()
        s.gt_fields = PixelData(heatmaps=torch.rand(17, 16, 12))
        s.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, 17))
        s.set_metainfo(dict(input_size=(48, 64)))
        samples.append(s)
    inputs = [
        torch.randint(0, 255, (3, 64, 48), dtype=torch.uint8) for _ in range(n)
    ]
    return dict(inputs=inputs, data_samples=samples)


def test_score_genotype_restores_the_supernet():
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(SEARCH_CFG).model).eval()
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    batches = [_batch(), _batch()]
    published = load_genotype('published')
    score = score_genotype(model, published, batches)
    assert 0.0 <= score <= 1.0
    assert not model.training  # the mode is restored
    for k, v in model.named_buffers():  # BN statistics untouched
        assert torch.equal(v, buffers[k]), k
    # the same genotype scores the same; the alphas do not matter
    with torch.no_grad():
        for p in model.backbone.arch_params.parameters():
            p.add_(1.0)
    assert score_genotype(model, published, batches) == score
    other = sample_genotype(np.random.default_rng(1))
    assert 0.0 <= score_genotype(model, other, batches) <= 1.0


def test_loss_score_is_minus_the_heatmap_loss_of_the_fixed_cells():
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(SEARCH_CFG).model).eval()
    batch = _batch()
    published = load_genotype('published')
    score = score_genotype(model, published, [batch], metric='loss')
    # the same as the loss of the supernet under the published cells
    from contextlib import ExitStack
    model.train()
    with torch.no_grad(), ExitStack() as stack:
        for arch in (model.backbone.arch_params, model.neck.arch_params):
            stack.enter_context(arch.fixed(dict(published.cells)))
        data = model.data_preprocessor(batch, True)
        loss, _ = model.parse_losses(model(**data, mode='loss'))
    assert score == pytest.approx(-float(loss), rel=1e-5)
    with pytest.raises(ValueError, match='metric must be one of'):
        score_genotype(model, published, [batch], metric='ap')
