"""ONNX and OpenVINO export of AutoPose networks, the graph passes, and
parity of both runtimes with PyTorch."""
import os.path as osp

import numpy as np
import onnx
import pytest
import torch
from conftest import TINY_CFG, run_cmd

from autopose_mm.deploy import (
    DEFAULT_PASSES,
    OnnxRuntimeNetwork,
    OpenVINONetwork,
    compare_outputs,
    export_onnx,
    export_openvino,
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


def _op_count(path: str, op_type: str) -> int:
    return sum(n.op_type == op_type for n in onnx.load(path).graph.node)


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
    xml = str(tmp_path / 'model.xml')
    export_openvino(out, xml)
    assert osp.isfile(str(tmp_path / 'model.bin'))
    x = torch.linspace(-2, 2, 2 * 3 * 64 * 48).view(2, 3, 64, 48)
    with torch.no_grad():
        ref = model._forward(x)
    for runtime, path, net in (('onnxruntime', out, OnnxRuntimeNetwork(out)),
                               ('openvino', xml, OpenVINONetwork(xml))):
        assert net.precision == 'f32'
        result = compare_outputs(
            model, path, (64, 48), batch=3, runtime=runtime)
        assert result['relative'] <= 1e-4, (runtime, result)
        assert result['max_keypoint_px'] <= 0.5, (runtime, result)
        # the folded graph and PyTorch agree on one more, fixed input
        got = net(x)
        assert isinstance(got, tuple) and len(got) == 2, runtime
        for a, b in zip(ref, got):
            assert a.shape == b.shape == (2, 17, 16, 12)
            span = float(a.max() - a.min())
            assert float((a - b).abs().max()) <= 1e-4 * span, runtime


def test_graph_passes_keep_the_function(tmp_path):
    model, _ = load_pose_model(TINY_CFG, None, genotype=every_op_genotype())
    model = _with_bn_statistics(model)
    plain, lean = str(tmp_path / 'plain.onnx'), str(tmp_path / 'lean.onnx')
    export_onnx(model, plain, (64, 48), passes=())
    export_onnx(model, lean, (64, 48))  # the default passes
    # the shared-input convolutions run as one conv and a Split in
    # PyTorch's graph, as separate convolutions in the lean one; duplicate
    # ReLUs of one state become one
    # ReLUs of one state become one; the factorized reductions lose their
    # strided slices
    assert _op_count(plain, 'Split') > 0
    assert _op_count(lean, 'Split') == 0

    def relu_inputs(path):
        return [
            n.input[0] for n in onnx.load(path).graph.node
            if n.op_type == 'Relu'
        ]

    assert len(set(relu_inputs(lean))) == len(relu_inputs(lean))
    assert _op_count(plain, 'Slice') > 0
    assert _op_count(lean, 'Slice') < _op_count(plain, 'Slice')

    # a ReLU over a concatenated cell output stays only where something
    # else reads the concatenation (a decoder tap); otherwise the
    # concatenation reads the ReLUs of its parts
    def relus_of_sole_concats(path):
        graph = onnx.load(path).graph
        made_by = {o: n.op_type for n in graph.node for o in n.output}
        reads = [i for n in graph.node for i in n.input]
        return sum(n.op_type == 'Relu' and made_by.get(n.input[0]) == 'Concat'
                   and reads.count(n.input[0]) == 1 for n in graph.node)

    assert relus_of_sole_concats(plain) > 0
    assert relus_of_sole_concats(lean) == 0
    for runtime in ('onnxruntime', 'openvino'):
        for path in (plain, lean):
            result = compare_outputs(
                model, path, (64, 48), batch=2, runtime=runtime)
            assert result['relative'] <= 1e-4, (runtime, path, result)
            assert result['max_keypoint_px'] <= 0.5, (runtime, path, result)
    with pytest.raises(ValueError, match='unknown graph passes'):
        export_onnx(model, lean, (64, 48), passes=['fold_everything'])


@pytest.mark.parametrize('size', [(8, 6), (7, 5)])
def test_strided_reduce_is_the_factorized_reduce(size):
    from autopose_mm.deploy.fusion import StridedReduce, fuse_conv_bn
    from autopose_mm.models import FactorizedReduce
    torch.manual_seed(0)
    reduce = _with_bn_statistics(FactorizedReduce(6, 8))
    x = torch.randn(2, 6, *size)
    with torch.no_grad():
        ref = reduce(x)
        got = StridedReduce(fuse_conv_bn(reduce))(x)
    assert got.shape == ref.shape == (2, 8, (size[0] + 1) // 2,
                                      (size[1] + 1) // 2)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_openvino_refuses_bad_files(tmp_path):
    model, _ = load_pose_model(TINY_CFG, None)
    out = str(tmp_path / 'model.onnx')
    export_onnx(model, out, (64, 48))
    xml = str(tmp_path / 'model.xml')
    export_openvino(out, xml)
    import openvino as ov
    broken = ov.Core().read_model(xml)
    for op in broken.get_ops():  # one weight becomes NaN
        if op.get_type_name() == 'Constant' and op.get_data().size > 16:
            data = op.get_data().copy()
            data.flat[0] = np.nan
            replacement = ov.opset13.constant(data)
            for target in op.output(0).get_target_inputs():
                target.replace_source_output(replacement.output(0))
            break
    bad = str(tmp_path / 'nan.xml')
    ov.save_model(broken, bad, compress_to_fp16=False)
    with pytest.raises(FloatingPointError, match='nan.xml'):
        OpenVINONetwork(bad)
    with pytest.raises(FileNotFoundError, match='--openvino'):
        OpenVINONetwork(str(tmp_path / 'missing.xml'))
    with pytest.raises(ValueError, match='precision'):
        OpenVINONetwork(xml, precision='f16')


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
        str(out), '--dynamic-batch', '--openvino'
    ],
                   cwd=str(tmp_path))
    assert out.is_file()
    assert (tmp_path / 'exported.xml').is_file()
    assert (tmp_path / 'exported.bin').is_file()
    assert 'onnx.checker passed' in proc.stdout
    assert f'graph passes: {" ".join(DEFAULT_PASSES)}' in proc.stdout
    assert 'ONNX Runtime and OpenVINO reproduce PyTorch' in proc.stdout
    assert 'OpenVINO bf16' in proc.stdout  # measured, or why not
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.tmp')]
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
