"""Int8 quantization of the exported OpenVINO model: calibration crops,
the tool end to end (its parity report, the file in tools/test.py and
tools/infer.py) and the refusals."""
import json
import os
import os.path as osp
import re

import numpy as np
import pytest
import torch
from conftest import TINY_CFG, run_tool
from mmengine.config import Config

from autopose_mm.deploy import load_pose_model
from autopose_mm.deploy.quantize import (
    CropSet,
    check_calibration,
    keypoint_accuracy,
    person_crops,
    quantize_openvino,
)


@pytest.fixture(scope='module')
def exported(sample_workspace, tmp_path_factory):
    """The tiny network with trained-looking BN statistics, exported to
    OpenVINO f32."""
    tmp = tmp_path_factory.mktemp('int8')
    torch.manual_seed(0)
    model, _ = load_pose_model(TINY_CFG, None)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    ckpt = tmp / 'model.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    run_tool(
        'deployment/pytorch2onnx.py',
        TINY_CFG,
        str(ckpt),
        '--out',
        str(tmp / 'model.onnx'),
        '--openvino',
        cwd=sample_workspace)
    return str(tmp / 'model.xml')


def test_crops_are_what_the_network_reads(sample_workspace, monkeypatch):
    monkeypatch.chdir(sample_workspace)
    cfg = Config.fromfile(TINY_CFG)
    crops = person_crops(cfg, 5, 'train', seed=0)
    assert crops.inputs.shape == (5, 3, 64, 48)
    assert crops.keypoints.shape == (5, 17, 2)
    assert crops.visible.shape == (5, 17) and crops.visible.any()
    # the visible keypoints in crop pixels, where the network sees them
    seen = crops.keypoints[crops.visible > 0]
    assert (seen >= -1).all() and (seen[:, 0] <= 49).all() and \
        (seen[:, 1] <= 65).all()
    # normalised with the config's mean and std, not raw pixels
    assert -3 < crops.inputs.mean() < 3 and crops.inputs.std() < 5
    # seeded draws: the same crops again, others with another seed
    again = person_crops(cfg, 5, 'train', seed=0)
    np.testing.assert_array_equal(crops.inputs, again.inputs)
    other = person_crops(cfg, 5, 'train', seed=1)
    assert not np.array_equal(crops.inputs, other.inputs)
    # validation crops are the annotated people, not the detection file's
    # boxes (which carry no keypoints)
    assert cfg.val_dataloader.dataset.get('bbox_file')
    val = person_crops(cfg, 5, 'val', seed=0)
    assert np.abs(val.keypoints[val.visible > 0]).sum() > 0
    with pytest.raises(ValueError, match='at least 1'):
        person_crops(cfg, 0)


def test_perfect_and_wrong_keypoints_score_as_pck():
    kpts = np.random.default_rng(0).uniform(0, 40, (4, 17, 2))
    crops = CropSet(
        np.zeros((4, 3, 64, 48), np.float32), kpts.astype(np.float32),
        np.ones((4, 17), np.float32))
    assert keypoint_accuracy(kpts, crops, (64, 48)) == 1.0
    assert keypoint_accuracy(kpts + 20, crops, (64, 48)) == 0.0


@pytest.mark.parametrize('inputs, match', [
    (np.zeros((0, 3, 64, 48), np.float32), 'no calibration input'),
    (np.zeros((2, 3, 32, 48), np.float32), r'shape \(2, 3, 32, 48\).*'
     r'N x 3 x 64 x 48'),
    (np.full((2, 3, 64, 48), np.nan, np.float32), 'NaN or infinite'),
])
def test_bad_calibration_is_refused(inputs, match):
    with pytest.raises(ValueError, match=match) as err:
        check_calibration(inputs, (64, 48), 'model.xml')
    assert 'model.xml' in str(err.value)


def test_quantized_file_end_to_end(exported, sample_workspace):
    tmp = osp.dirname(exported)
    out = osp.join(tmp, 'model_int8.xml')
    proc = run_tool(
        'deployment/quantize.py',
        TINY_CFG,
        exported,
        '--calibration',
        '16',
        '--validation',
        '8',
        cwd=sample_workspace)
    assert 'calibrating on 16 training crops 64x48' in proc.stdout
    report = json.loads(
        re.search(r'int8 vs f32 on validation crops: (\{.*\})',
                  proc.stdout).group(1))
    assert set(report) == {
        'relative', 'mean_keypoint_px', 'max_keypoint_px', 'accuracy_f32',
        'accuracy_int8'
    }
    assert 0 < report['relative'] < 1  # quantized, and still the network
    with open(out) as f:
        assert 'FakeQuantize' in f.read()
    assert osp.isfile(osp.join(tmp, 'model_int8.bin'))
    # the int8 file in MMPose's test loop and the inferencer
    metrics = osp.join(tmp, 'int8_metrics.json')
    run_tool(
        'test.py',
        TINY_CFG,
        out,
        '--backend',
        'openvino',
        '--work-dir',
        osp.join(tmp, 'test'),
        '--out',
        metrics,
        cwd=sample_workspace)
    with open(metrics) as f:
        assert 0 <= json.load(f)['coco/AP'] <= 1
    folder = osp.join(sample_workspace, 'data', 'sample_coco', 'images',
                      'val2017')
    image = osp.join(folder, sorted(os.listdir(folder))[0])
    proc = run_tool(
        'infer.py',
        TINY_CFG,
        out,
        image,
        '--backend',
        'openvino',
        '--out-dir',
        osp.join(tmp, 'infer'),
        cwd=sample_workspace)
    assert re.search(r'\d+ frame\(s\) drawn', proc.stdout)
    # the input is never overwritten, and a missing model is named
    proc = run_tool(
        'deployment/quantize.py',
        TINY_CFG,
        exported,
        '--out',
        exported,
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0 and 'would destroy the input' in proc.stdout
    proc = run_tool(
        'deployment/quantize.py',
        TINY_CFG,
        osp.join(tmp, 'absent.xml'),
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0 and "absent.xml' does not exist" in (
        proc.stdout)


def test_accuracy_control_keeps_the_drop_within_bounds(exported,
                                                       sample_workspace,
                                                       monkeypatch):
    monkeypatch.chdir(sample_workspace)
    cfg = Config.fromfile(TINY_CFG)
    calibration = person_crops(cfg, 16, 'train', seed=0)
    validation = person_crops(cfg, 8, 'val', seed=1)
    quantized, kept = quantize_openvino(
        exported,
        calibration.inputs,
        validation,
        max_drop=0.5,
        log=lambda line: None)
    assert isinstance(kept, list)
    types = {op.get_type_name() for op in quantized.get_ops()}
    assert 'FakeQuantize' in types
    with pytest.raises(ValueError, match='needs validation crops'):
        quantize_openvino(exported, calibration.inputs, None, max_drop=0.1)
