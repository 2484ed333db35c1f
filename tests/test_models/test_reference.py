"""The published networks compute the reference release's function, and its
checkpoints convert (fixtures: tests/data/reference/README.md)."""
import json
import os.path as osp
from typing import Dict, Tuple

import numpy as np
import pytest
import torch
from conftest import REPO, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from autopose_mm.engine.guards import check_checkpoint
from autopose_mm.models.reference import (
    ReferenceConversionError,
    ReferenceLayout,
    convert_reference,
    map_name,
    preset_config_name,
    read_layout,
    reference_state_dict,
)
from autopose_mm.utils.checkpoint import load_from_local_safely

DATA = osp.join(REPO, 'tests', 'data', 'reference')
CONFIGS = osp.join(REPO, 'configs', 'autopose')
TOOL = 'model_converters/posenas2autopose.py'


def fixture(name: str) -> Tuple[Dict, Dict[str, np.ndarray]]:
    with open(osp.join(DATA, f'reference_{name}_128x96.json')) as f:
        spec = json.load(f)
    with np.load(osp.join(DATA, f'reference_{name}_128x96.npz')) as npz:
        outputs = {k: npz[k] for k in npz.files}
    return spec, outputs


def reference_weights(spec: Dict) -> Dict[str, torch.Tensor]:
    """The reference's state dict filled by the fixtures' rule."""
    rng = np.random.default_rng(2020)
    state = {}
    for name, shape, dtype in spec['tensors']:
        if name.endswith('num_batches_tracked'):
            state[name] = torch.zeros(shape, dtype=getattr(torch, dtype))
            continue
        v = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.1)
        if name.endswith('running_var'):
            v = np.abs(v) + np.float32(0.5)
        state[name] = torch.from_numpy(np.asarray(v, dtype=np.float32))
    return state


def reference_input(spec: Dict) -> torch.Tensor:
    x = np.random.default_rng(7).standard_normal(
        spec['input_shape'], dtype=np.float32)
    return torch.from_numpy(x)


def build(config: str):
    init_default_scope('mmpose')
    return MODELS.build(Config.fromfile(osp.join(CONFIGS, config)).model)


def heatmaps(model, x: torch.Tensor):
    model.eval()
    with torch.no_grad():
        return model.head(model.neck(model.backbone(x)))


def relative_error(ours: torch.Tensor, ref: np.ndarray) -> float:
    ref = torch.from_numpy(ref)
    return float((ours - ref).abs().max() / (ref.max() - ref.min()))


@pytest.mark.parametrize('name,shape', [('l12_c32', 'train.py'),
                                        ('l18_c48', 'bare')])
def test_converted_checkpoint_gives_the_reference_heatmaps(
        name, shape, tmp_path):
    spec, outputs = fixture(name)
    state = reference_weights(spec)
    if shape == 'train.py':  # DataParallel names, beside other entries
        wrapped = {f'module.{k}': v for k, v in state.items()}
        saved = dict(
            epoch=3,
            model='pose_autopose',
            state_dict=wrapped,
            best_state_dict=state,
            perf=0.5)
    else:  # model_best.pth
        saved = state
    src = tmp_path / 'checkpoint.pth'
    dst = tmp_path / f'{name}.pth'
    torch.save(saved, src)
    out = run_tool(TOOL, str(src), str(dst), cwd=str(tmp_path)).stdout
    assert f'{len(state)} tensors' in out
    assert f'{name}_coco_256x192.py' in out  # the preset, from the shapes

    converted = load_from_local_safely(str(dst), map_location='cpu')
    meta = converted['meta']
    assert meta['genotype']['name'] == 'autopose-published'
    assert meta['converted_from']['file'] == 'checkpoint.pth'
    assert len(meta['converted_from']['sha256']) == 64
    model = build(f'{name}_coco_256x192.py')
    check_checkpoint(model, converted, str(dst))  # strict keys and genotype
    model.load_state_dict(converted['state_dict'], strict=True)
    stage1, stage2 = heatmaps(model, reference_input(spec))
    assert stage1.shape == stage2.shape == outputs['stage1'].shape
    assert relative_error(stage1, outputs['stage1']) <= 1e-5
    assert relative_error(stage2, outputs['stage2']) <= 1e-5


def test_encoder_taps_variant_is_another_function():
    """The documented deviation loads the same weights and computes another
    stage 2 (stage 1 unchanged)."""
    spec, outputs = fixture('l12_c32')
    init_default_scope('mmpose')
    cfg = Config.fromfile(osp.join(CONFIGS, 'l12_c32_coco_256x192.py'))
    cfg.model.neck.stage2_inputs = 'encoder_taps'
    model = MODELS.build(cfg.model)
    state = convert_reference(
        reference_weights(spec), model.state_dict(), 'fixture')
    model.load_state_dict(state, strict=True)
    stage1, stage2 = heatmaps(model, reference_input(spec))
    assert relative_error(stage1, outputs['stage1']) <= 1e-5
    assert relative_error(stage2, outputs['stage2']) > 1e-3


def test_unknown_stage2_inputs_refused():
    with pytest.raises(ValueError, match='stage2_inputs must be one of'):
        build_neck = MODELS.get('AutoPoseDecoder')
        build_neck([16, 32, 64, 128], num_stages=2, stage2_inputs='taps')


def test_layout_and_preset_read_from_the_shapes():
    spec, _ = fixture('l18_c48')
    state = reference_weights(spec)
    layout = read_layout(state, 'fixture')
    assert layout == ReferenceLayout(18, 48, (3, 8, 15), 17, 2)
    assert preset_config_name(layout, 'fixture') == 'l18_c48_coco_256x192'
    mpii = ReferenceLayout(18, 64, (3, 8, 15), 16, 2)
    assert preset_config_name(mpii, 'x') == 'l18_c64_mpii_256x256'
    with pytest.raises(ReferenceConversionError, match='none of the presets'):
        preset_config_name(ReferenceLayout(14, 48, (3, 8, 11), 17, 2), 'x')
    with pytest.raises(ReferenceConversionError, match='21 heatmaps'):
        preset_config_name(ReferenceLayout(12, 32, (3, 6, 9), 21, 2), 'x')


def test_name_rules():
    assert map_name('stem1.1.running_var') == 'backbone.stem0.4.running_var'
    assert map_name('cells.4.preprocess0.conv1.weight') == (
        'backbone.cells.cells.4.preprocess0.conv_1.weight')
    assert map_name('stage2.upsamples.1.preprocess0.1.net.2.bias') == (
        'neck.decoder2.cells.1.preprocess0.proj.bn.bias')
    assert map_name('refine_cells.3._ops.2.conv2.weight') == (
        'neck.refine.cells.3.graph.ops.2.conv_2.weight')
    assert map_name('stage1.upsamples.0._ops.1.fc1.bias') == (
        'neck.decoder.cells.0.graph.ops.1.squeeze.bias')
    assert map_name('reduce_channel3.2.weight') == (
        'neck.refine_out.3.bn.weight')
    assert map_name('cells.0.extra.weight') is None
    assert map_name('stem0.0.weight.grad') is None


def test_conversion_refuses_what_does_not_fit():
    spec, _ = fixture('l12_c32')
    state = reference_weights(spec)
    model_state = build('l12_c32_coco_256x192.py').state_dict()
    bad = dict(state)
    bad['cells.5._ops.2.net.1.weight'] = torch.zeros(3, 3, 3, 3)
    with pytest.raises(
            ReferenceConversionError,
            match=r'cells\.5\._ops\.2\.net\.1\.weight: '
            r'\(3, 3, 3, 3\)'):
        convert_reference(bad, model_state, 'ckpt.pth')
    extra = dict(state, **{'cells.0.extra.weight': torch.zeros(1)})
    with pytest.raises(
            ReferenceConversionError,
            match=r'1 tensors no rule covers: '
            r'cells\.0\.extra\.weight'):
        convert_reference(extra, model_state, 'ckpt.pth')
    short = {k: v for k, v in state.items() if not k.startswith('stage2.')}
    with pytest.raises(
            ReferenceConversionError,
            match=r'model tensors the checkpoint lacks: '
            r'neck\.decoder2\.'):
        convert_reference(short, model_state, 'ckpt.pth')
    with pytest.raises(ReferenceConversionError, match='not a tensor'):
        reference_state_dict({'state_dict': {'a': 1}}, 'ckpt.pth')


def test_tool_refuses_another_preset_and_writes_nothing(tmp_path):
    spec, _ = fixture('l12_c32')
    src = tmp_path / 'model_best.pth'
    torch.save(reference_weights(spec), src)
    dst = tmp_path / 'out.pth'
    proc = run_tool(
        TOOL,
        str(src),
        str(dst),
        '--config',
        osp.join(CONFIGS, 'l18_c48_coco_256x192.py'),
        cwd=str(tmp_path),
        check=False)
    assert proc.returncode != 0
    assert 'tensors of another shape: stem0.0.weight: (32, 3, 3, 3)' in (
        proc.stdout)
    assert 'nothing was written' in proc.stdout
    assert not dst.exists()
    proc = run_tool(TOOL, str(src), str(src), cwd=str(tmp_path), check=False)
    assert proc.returncode != 0 and 'would destroy the input' in proc.stdout
