"""ONNX export of AutoPose networks and ONNX Runtime parity."""
import os.path as osp

import numpy as np
import onnx
import pytest
import torch
from conftest import TINY_CFG, run_cmd

from autopose_mm.deploy import (
    OnnxRuntimeNetwork,
    compare_outputs,
    export_onnx,
    load_pose_model,
)
from autopose_mm.models.genotype import CELL_TYPES
from autopose_mm.models.operations import OPERATION_NAMES

# Every candidate operation, on stride-1 edges (normal and decoder cells)
# and on the stride-2 edges of a reduction cell (se_connect, defined at
# stride 1 only, reads a node there).
STRIDE_1_CELL = dict(
    edges=[[['skip_connect', 0], ['avg_pool_3x3', 1]],
           [['max_pool_3x3', 0], ['std_conv_1x1', 1]],
           [['std_conv_3x3', 0], ['dil_conv_3x3_2', 1]],
           [['dil_conv_3x3_4', 0], ['se_connect', 1], ['none', 2]]])
REDUCE_CELL = dict(
    edges=[[['skip_connect', 0], ['avg_pool_3x3', 1]],
           [['max_pool_3x3', 0], ['se_connect', 2]],
           [['std_conv_1x1', 0], ['std_conv_3x3', 1]],
           [['dil_conv_3x3_2', 0], ['dil_conv_3x3_4', 1], ['none', 2]]])


def every_op_genotype() -> dict:
    cells = {
        t: REDUCE_CELL if t == 'reduce' else STRIDE_1_CELL
        for t in CELL_TYPES
    }
    return dict(
        name='every-op',
        nodes=4,
        encoder={t: cells[t]
                 for t in ('normal', 'reduce')},
        decoder={
            t: c
            for t, c in cells.items() if t not in ('normal', 'reduce')
        })


def _with_bn_statistics(model: torch.nn.Module) -> torch.nn.Module:
    """Give every BN non-trivial running statistics (and affine weights),
    so that folding them is really checked."""
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def test_every_candidate_operation_is_in_the_genotype():
    used = {
        op
        for cell in (STRIDE_1_CELL, REDUCE_CELL)
        for node in cell['edges']
        for op, _ in node
    }
    assert used == set(OPERATION_NAMES)


@pytest.mark.parametrize('genotype', ['published', 'every_op'])
def test_export_reproduces_pytorch(genotype, tmp_path):
    geno = every_op_genotype() if genotype == 'every_op' else 'published'
    model, _ = load_pose_model(TINY_CFG, None, genotype=geno)
    model = _with_bn_statistics(model)
    out = str(tmp_path / 'model.onnx')
    names = export_onnx(model, out, (64, 48), dynamic_batch=True)
    assert names == ['heatmaps_0', 'heatmaps_1']  # two-stage CPM head
    proto = onnx.load(out)
    onnx.checker.check_model(proto)
    # every BN after a convolution is folded; those after a pooling stay
    from autopose_mm.deploy import prepare_for_export
    from autopose_mm.models import PoolBN
    kept = [
        m for m in prepare_for_export(model).modules()
        if isinstance(m, PoolBN)
    ]
    bn_nodes = [
        n for n in proto.graph.node if n.op_type == 'BatchNormalization'
    ]
    assert len(bn_nodes) == len(kept)
    total = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert total > 2 * len(kept)
    result = compare_outputs(model, out, (64, 48), batch=3)
    assert result['relative'] <= 1e-4, result
    assert result['max_keypoint_px'] <= 0.5, result
    # the folded graph and PyTorch agree on one more, fixed input
    net = OnnxRuntimeNetwork(out)
    x = torch.linspace(-2, 2, 2 * 3 * 64 * 48).view(2, 3, 64, 48)
    with torch.no_grad():
        ref = model._forward(x)
    got = net(x)
    assert isinstance(got, tuple) and len(got) == 2
    for a, b in zip(ref, got):
        assert a.shape == b.shape == (2, 17, 16, 12)
        span = float(a.max() - a.min())
        assert float((a - b).abs().max()) <= 1e-4 * span


def test_fixed_batch_file_runs_images_one_by_one(tmp_path):
    model, _ = load_pose_model(TINY_CFG, None)
    model = _with_bn_statistics(model)
    out = str(tmp_path / 'fixed.onnx')
    export_onnx(model, out, (64, 48), dynamic_batch=False)
    net = OnnxRuntimeNetwork(out)
    assert net.fixed_batch == 1 and net.input_hw == (64, 48)
    x = np.random.default_rng(0).standard_normal((3, 3, 64, 48))
    outs = net.run(x.astype(np.float32))
    assert outs[-1].shape == (3, 17, 16, 12)
    single = net.run(x[1:2].astype(np.float32))
    np.testing.assert_allclose(outs[-1][1:2], single[-1], rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match='--shape 32 48'):
        net.run(np.zeros((1, 3, 32, 48), np.float32))


def test_export_tool_checks_the_file(tmp_path):
    model, _ = load_pose_model(TINY_CFG, None, genotype=every_op_genotype())
    model = _with_bn_statistics(model)
    ckpt = tmp_path / 'model.pth'
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(genotype=every_op_genotype())), ckpt)
    out = tmp_path / 'exported.onnx'
    script = osp.join(
        osp.dirname(TINY_CFG), '..', '..', 'tools', 'deployment',
        'pytorch2onnx.py')
    import sys
    proc = run_cmd([
        sys.executable, script, TINY_CFG,
        str(ckpt), '--out',
        str(out), '--dynamic-batch'
    ],
                   cwd=str(tmp_path))
    assert out.is_file()
    assert 'onnx.checker passed' in proc.stdout
    assert 'ONNX Runtime reproduces PyTorch' in proc.stdout
    assert 'using the genotype stored in' in proc.stdout
    # a checkpoint of another architecture is refused, nothing written
    wide = tmp_path / 'wide.py'
    wide.write_text(f"_base_ = ['{TINY_CFG}']\n"
                    "model = dict(backbone=dict(base_channels=16))\n")
    proc = run_cmd([
        sys.executable, script,
        str(wide),
        str(ckpt), '--out',
        str(tmp_path / 'wide.onnx')
    ],
                   cwd=str(tmp_path),
                   check=False)
    assert proc.returncode != 0
    assert 'does not match the model' in proc.stdout
    assert not (tmp_path / 'wide.onnx').exists()
