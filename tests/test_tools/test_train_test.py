"""End to end through tools/train.py, tools/test.py and tools/dist_train.sh."""
import glob
import json
import os
import os.path as osp
import pickle
import sys

import pytest
import torch
from conftest import REPO, TINY_CFG, run_cmd, run_tool


def _scalars(work_dir: str) -> list:
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', '*.json')))
    assert logs, f'no scalar log under {work_dir}'
    return [json.loads(line) for line in open(logs[-1])]


def _last_val_metrics(work_dir: str) -> dict:
    evals = [r for r in _scalars(work_dir) if 'coco/AP' in r]
    assert evals, 'the run logged no COCO metric'
    return evals[-1]


@pytest.fixture(scope='module')
def trained(sample_workspace, tmp_path_factory):
    """Train the tiny config for 4 epochs; returns its work dir."""
    work_dir = str(tmp_path_factory.mktemp('train'))
    run_tool(
        'train.py',
        TINY_CFG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        'train_cfg.max_epochs=4',
        'train_cfg.val_interval=4',
        cwd=sample_workspace)
    return work_dir


def test_train_writes_checkpoints_and_evaluates(trained):
    # max_keep_ckpts=3 removed the first one
    assert not osp.exists(osp.join(trained, 'epoch_1.pth'))
    for epoch in (2, 3, 4):
        assert osp.isfile(osp.join(trained, f'epoch_{epoch}.pth'))
    metrics = _last_val_metrics(trained)
    assert 0.0 <= metrics['coco/AP'] <= 1.0
    assert 0.0 <= metrics['coco/AR'] <= 1.0


def test_training_lowers_the_loss(trained):
    losses = [r['loss'] for r in _scalars(trained) if 'loss' in r]
    assert len(losses) >= 16
    first, last = losses[:4], losses[-4:]
    assert sum(last) / 4 < 0.9 * sum(first) / 4, losses


def test_test_tool_computes_coco_metric(trained, sample_workspace, tmp_path):
    out = tmp_path / 'metrics.json'
    dump = tmp_path / 'preds.pkl'
    run_tool(
        'test.py',
        TINY_CFG,
        osp.join(trained, 'epoch_4.pth'),
        '--work-dir',
        str(tmp_path),
        '--out',
        str(out),
        '--dump',
        str(dump),
        cwd=sample_workspace)
    metrics = json.loads(out.read_text())
    assert set(metrics) >= {'coco/AP', 'coco/AP .5', 'coco/AR'}
    # -1 marks an area range without objects (COCO's convention)
    assert all(0.0 <= v <= 1.0 or v == -1 for v in metrics.values())
    # the metric of the saved weights equals the one logged after training
    logged = _last_val_metrics(trained)
    assert metrics['coco/AP'] == pytest.approx(logged['coco/AP'], abs=1e-6)
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) > 0 and 'pred_instances' in preds[0]


def test_resume_continues_from_saved_state(sample_workspace, tmp_path):
    work_dir = str(tmp_path)
    run_tool(
        'train.py',
        TINY_CFG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        'train_cfg.max_epochs=1',
        cwd=sample_workspace)
    first = torch.load(osp.join(work_dir, 'epoch_1.pth'), weights_only=False)
    proc = run_tool(
        'train.py',
        TINY_CFG,
        '--work-dir',
        work_dir,
        '--resume',
        cwd=sample_workspace)
    assert 'resumed epoch: 1' in proc.stdout
    second = torch.load(osp.join(work_dir, 'epoch_2.pth'), weights_only=False)
    iters = first['meta']['iter']
    assert second['meta']['epoch'] == 2
    assert second['meta']['iter'] == 2 * iters
    # Adam's step counter continued from the first run's state
    steps = {int(s['step']) for s in second['optimizer']['state'].values()}
    assert steps == {2 * iters}


class _RunsShell:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_malicious_checkpoint_is_refused(sample_workspace, tmp_path):
    marker = tmp_path / 'pwned'
    ckpt = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _RunsShell(marker)}, ckpt)
    proc = run_tool(
        'test.py',
        TINY_CFG,
        str(ckpt),
        '--work-dir',
        str(tmp_path),
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0
    assert 'refused to load checkpoint' in proc.stdout
    assert 'posix.system' in proc.stdout or 'os.system' in proc.stdout
    assert not marker.exists()


def test_dist_train_two_gloo_processes_agree(sample_workspace, tmp_path):
    cfg = osp.join(REPO, 'tests', 'configs', 'tiny_coco_dist.py')
    work_dir = str(tmp_path)
    run_tool(
        'dist_train.sh',
        cfg,
        '2',
        '--work-dir',
        work_dir,
        cwd=sample_workspace,
        env=dict(PORT='29731'))
    states = [torch.load(osp.join(work_dir, f'rank_{r}.pth')) for r in (0, 1)]
    assert states[0].keys() == states[1].keys()
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))  # from rank 0


def test_mim_train_and_test(sample_workspace, tmp_path):
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    work_dir = str(tmp_path)
    run_cmd([
        mim, 'train', 'autopose_mm', TINY_CFG, '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs=1'
    ],
            cwd=sample_workspace)
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    proc = run_cmd([
        mim, 'test', 'autopose_mm', TINY_CFG, '--checkpoint', ckpt,
        '--work-dir', work_dir
    ],
                   cwd=sample_workspace)
    assert 'coco/AP' in proc.stdout


def test_mpii_config_trains_and_reports_pckh(tmp_path):
    from autopose_mm.datasets import generate_mpii
    generate_mpii(
        str(tmp_path / 'data' / 'mpii'),
        num_train=16,
        num_val=8,
        image_size=(128, 128),
        seed=0)
    cfg = osp.join(REPO, 'configs', 'autopose', 'l12_c32_mpii_256x256.py')
    tiny = [
        'model.backbone.arch=None', 'model.backbone.num_cells=4',
        'model.backbone.base_channels=8',
        'model.neck.in_channels=[16,32,64,128]',
        'model.neck.refine_channels=16', 'model.neck.refine_num_cells=4',
        'model.neck.refine_reduction_indices=[1,2,3]',
        'model.head.in_channels=16', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1', 'train_dataloader.batch_size=8',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False'
    ]
    work_dir = str(tmp_path / 'work')
    run_tool(
        'train.py',
        cfg,
        '--work-dir',
        work_dir,
        '--cfg-options',
        *tiny,
        cwd=str(tmp_path))
    evals = [r for r in _scalars(work_dir) if 'PCK' in r]
    # MpiiPCKAccuracy reports percentages, per joint group too
    assert evals and 0 <= evals[-1]['PCK'] <= 100
    assert 0 <= evals[-1]['PCK@0.1'] <= evals[-1]['PCK'] + 1e-9
    assert 0 <= evals[-1]['Head PCK'] <= 100
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))


def test_test_tool_show_dir_draws_predictions(trained, sample_workspace,
                                              tmp_path):
    import cv2
    proc = run_tool(
        'test.py',
        TINY_CFG,
        osp.join(trained, 'epoch_4.pth'),
        '--work-dir',
        str(tmp_path),
        '--show-dir',
        'vis',
        cwd=sample_workspace)
    drawn = sorted(glob.glob(osp.join(str(tmp_path), '*', 'vis', '*.jpg')))
    # one picture per detected person box of the 8 validation images
    assert len(drawn) >= 8, proc.stdout[-2000:]
    assert 'predictions drawn into' in proc.stdout
    img = cv2.imread(drawn[0])
    src = cv2.imread(
        osp.join(sample_workspace, 'data', 'sample_coco', 'images', 'val2017',
                 osp.basename(drawn[0]).rsplit('_', 1)[0] + '.jpg'))
    # MMPose's visualiser puts the picture beside its heatmap
    assert img is not None and img.shape[0] >= src.shape[0]
    assert img.shape[1] >= src.shape[1]


def test_train_tool_show_dir_draws_validation(sample_workspace, tmp_path):
    run_tool(
        'train.py',
        TINY_CFG,
        '--work-dir',
        str(tmp_path),
        '--show-dir',
        'val_vis',
        '--cfg-options',
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1',
        cwd=sample_workspace)
    drawn = glob.glob(osp.join(str(tmp_path), 'val_vis', 'vis_image', '*.png'))
    assert drawn, 'no validation picture written'


def test_inferencer_draws_on_an_image(trained, sample_workspace, tmp_path):
    from mmpose.apis import MMPoseInferencer

    import autopose_mm  # noqa: F401
    image = sorted(
        glob.glob(
            osp.join(sample_workspace, 'data', 'sample_coco', 'images',
                     'val2017', '*.jpg')))[0]
    cwd = os.getcwd()
    os.chdir(sample_workspace)
    try:
        inferencer = MMPoseInferencer(
            pose2d=TINY_CFG,
            pose2d_weights=osp.join(trained, 'epoch_4.pth'),
            det_model='whole_image',
            device='cpu')
        results = list(
            inferencer(
                image,
                vis_out_dir=str(tmp_path / 'vis'),
                pred_out_dir=str(tmp_path / 'pred')))
    finally:
        os.chdir(cwd)
    kpts = results[0]['predictions'][0][0]['keypoints']
    assert len(kpts) == 17
    assert osp.isfile(tmp_path / 'vis' / osp.basename(image))
    assert glob.glob(str(tmp_path / 'pred' / '*.json'))


def test_infer_tool_draws_a_folder(trained, sample_workspace, tmp_path):
    import shutil
    folder = tmp_path / 'photos'
    folder.mkdir()
    images = sorted(
        glob.glob(
            osp.join(sample_workspace, 'data', 'sample_coco', 'images',
                     'val2017', '*.jpg')))[:2]
    for img in images:
        shutil.copy(img, folder)
    genotype = osp.join(REPO, 'autopose_mm', 'genotypes', 'published.json')
    proc = run_tool(
        'infer.py',
        TINY_CFG,
        osp.join(trained, 'epoch_4.pth'),
        str(folder),
        '--out-dir',
        str(tmp_path / 'out'),
        '--genotype',
        genotype,
        cwd=sample_workspace)
    assert '2 frame(s) drawn' in proc.stdout
    for img in images:
        assert osp.isfile(tmp_path / 'out' / 'visualizations' /
                          osp.basename(img))
    preds = glob.glob(str(tmp_path / 'out' / 'predictions' / '*.json'))
    assert len(preds) == 2
    with open(preds[0]) as f:
        people = json.load(f)
    assert len(people[0]['keypoints']) == 17
    missing = run_tool(
        'infer.py',
        TINY_CFG,
        osp.join(trained, 'epoch_4.pth'),
        str(tmp_path / 'nope.jpg'),
        cwd=sample_workspace,
        check=False)
    assert missing.returncode != 0 and 'nope.jpg' in missing.stdout


def test_test_tool_refuses_a_checkpoint_of_other_widths(
        trained, sample_workspace, tmp_path):
    out = tmp_path / 'metrics.json'
    proc = run_tool(
        'test.py',
        TINY_CFG,
        osp.join(trained, 'epoch_4.pth'),
        '--work-dir',
        str(tmp_path),
        '--out',
        str(out),
        '--cfg-options',
        'model.backbone.base_channels=16',
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0
    assert 'CheckpointMismatchError' in proc.stdout
    assert 'does not match the model: the widths differ' in proc.stdout
    assert 'keys with other shapes: backbone.stem0.0.weight: checkpoint ' \
        '(8, 3, 3, 3) vs model (16, 3, 3, 3)' in proc.stdout
    assert '--partial-load' in proc.stdout
    assert not out.exists()
    # on purpose, with the flag: a warning, and the run goes on
    proc = run_tool(
        'test.py',
        TINY_CFG,
        osp.join(trained, 'epoch_4.pth'),
        '--work-dir',
        str(tmp_path),
        '--out',
        str(out),
        '--partial-load',
        '--cfg-options',
        'model.head.out_channels=16',
        cwd=sample_workspace,
        check=False)
    assert 'load_partial=True: loading the matching weights only' in \
        proc.stdout


def test_checkpoint_records_and_enforces_its_genotype(trained,
                                                      sample_workspace,
                                                      tmp_path):
    import numpy as np

    from autopose_mm.models import load_genotype
    from autopose_mm.search.space import sample_genotype
    ckpt = osp.join(trained, 'epoch_4.pth')
    meta = torch.load(ckpt, weights_only=False)['meta']
    published = load_genotype('published').to_dict()
    assert meta['genotype']['encoder'] == published['encoder']
    # written back out, ready for a config
    written = tmp_path / 'stored.json'
    run_tool(
        'misc/checkpoint_genotype.py',
        ckpt,
        str(written),
        cwd=sample_workspace)
    assert json.loads(written.read_text())['decoder'] == published['decoder']
    # testing with another genotype of the same shape is refused
    other = tmp_path / 'other.json'
    sample_genotype(np.random.default_rng(0)).dump(str(other))
    out = tmp_path / 'metrics.json'
    proc = run_tool(
        'test.py',
        TINY_CFG,
        ckpt,
        '--work-dir',
        str(tmp_path),
        '--out',
        str(out),
        '--cfg-options',
        f'model.genotype={other}',
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0
    assert 'was trained with genotype' in proc.stdout
    assert 'checkpoint_genotype.py' in proc.stdout
    assert not out.exists()


def test_non_finite_weights_stop_training_and_keep_the_last_checkpoint(
        sample_workspace, tmp_path):
    work_dir = str(tmp_path)
    run_tool(
        'train.py',
        TINY_CFG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        'train_cfg.max_epochs=1',
        cwd=sample_workspace)
    first = (tmp_path / 'epoch_1.pth').read_bytes()
    pointer = (tmp_path / 'last_checkpoint').read_text()
    # a second run in the same directory with an absurd learning rate: its
    # weights and BN statistics overflow within the first iterations
    proc = run_tool(
        'train.py',
        TINY_CFG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        'train_cfg.max_epochs=1',
        'optim_wrapper.optimizer.lr=1e30',
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0
    assert 'FloatingPointError' in proc.stdout
    assert 'at epoch 1, iteration' in proc.stdout
    assert (tmp_path / 'epoch_1.pth').read_bytes() == first
    assert (tmp_path / 'last_checkpoint').read_text() == pointer


def test_unknown_top_level_option_is_refused(sample_workspace, tmp_path):
    proc = run_tool(
        'train.py',
        TINY_CFG,
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        'trian_cfg.max_epochs=1',
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0
    assert "no top-level setting 'trian_cfg'; did you mean 'train_cfg'" in \
        proc.stdout
    assert not list(tmp_path.rglob('*.pth'))


def test_infer_tool_refuses_mismatches_and_unreadable_images(
        trained, sample_workspace, tmp_path):
    ckpt = osp.join(trained, 'epoch_4.pth')
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'not a jpeg')
    proc = run_tool(
        'infer.py',
        TINY_CFG,
        ckpt,
        str(broken),
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0
    assert f"image '{broken}' cannot be read" in proc.stdout
    image = sorted(
        glob.glob(
            osp.join(sample_workspace, 'data', 'sample_coco', 'images',
                     'val2017', '*.jpg')))[0]
    wide = tmp_path / 'wide.py'
    wide.write_text(f"_base_ = ['{TINY_CFG}']\n"
                    "model = dict(backbone=dict(base_channels=16))\n")
    proc = run_tool(
        'infer.py',
        str(wide),
        ckpt,
        image,
        '--out-dir',
        str(tmp_path / 'out'),
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0
    assert 'does not match the model' in proc.stdout
    assert not (tmp_path / 'out' / 'predictions').exists() or not list(
        (tmp_path / 'out' / 'predictions').iterdir())
    proc = run_tool(
        'infer.py',
        TINY_CFG,
        ckpt,
        image,
        '--det-model',
        str(tmp_path / 'det.py'),
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0 and 'det.py' in proc.stdout


def _val_image(workspace: str) -> str:
    return sorted(
        glob.glob(
            osp.join(workspace, 'data', 'sample_coco', 'images', 'val2017',
                     '*.jpg')))[0]


def test_infer_tool_boxes_from_a_detection_file_and_exported_runtimes(
        trained, sample_workspace, tmp_path):
    import numpy as np
    ckpt = osp.join(trained, 'epoch_4.pth')
    image = _val_image(sample_workspace)
    data = osp.join(sample_workspace, 'data', 'sample_coco')
    det_file = osp.join(data, 'person_detection_results',
                        'detections_val2017.json')
    ann_file = osp.join(data, 'annotations', 'person_keypoints_val2017.json')
    onnx_file = str(tmp_path / 'model.onnx')
    run_tool(
        'deployment/pytorch2onnx.py',
        TINY_CFG,
        ckpt,
        '--out',
        onnx_file,
        '--openvino',
        cwd=sample_workspace)
    xml = str(tmp_path / 'model.xml')
    people = {}
    for backend, weights in (('pytorch', ckpt), ('onnxruntime', onnx_file),
                             ('openvino', xml)):
        out = tmp_path / backend
        run_tool(
            'infer.py',
            TINY_CFG,
            weights,
            image,
            '--backend',
            backend,
            '--det-file',
            det_file,
            '--det-images',
            ann_file,
            '--out-dir',
            str(out),
            cwd=sample_workspace)
        assert osp.isfile(out / 'visualizations' / osp.basename(image))
        pred = out / 'predictions' / (
            osp.splitext(osp.basename(image))[0] + '.json')
        with open(pred) as f:
            people[backend] = json.load(f)
    # the boxes are the file's (score above 0.3, after NMS), not the image
    with open(ann_file) as f:
        image_id = next(i['id'] for i in json.load(f)['images']
                        if i['file_name'] == osp.basename(image))
    with open(det_file) as f:
        boxes = [
            d['bbox'] for d in json.load(f)
            if d['image_id'] == image_id and d['score'] > 0.3
        ]
    xyxy = [[x, y, x + w, y + h] for x, y, w, h in boxes]
    assert 1 <= len(people['pytorch']) <= len(boxes)
    for person in people['pytorch']:
        assert any(np.allclose(person['bbox'][0], b, atol=1e-3) for b in xyxy)
    # ONNX Runtime and OpenVINO give the same people and keypoints
    for backend in ('onnxruntime', 'openvino'):
        assert len(people[backend]) == len(people['pytorch'])
        for a, b in zip(people['pytorch'], people[backend]):
            assert np.abs(np.array(a['keypoints']) -
                          np.array(b['keypoints'])).max() <= 0.5, backend
    # the test tool evaluates the exported file on OpenVINO: the same AP
    # as the PyTorch checkpoint logged after training
    metrics = tmp_path / 'openvino_metrics.json'
    run_tool(
        'test.py',
        TINY_CFG,
        xml,
        '--backend',
        'openvino',
        '--work-dir',
        str(tmp_path / 'test_openvino'),
        '--out',
        str(metrics),
        cwd=sample_workspace)
    logged = _last_val_metrics(trained)
    assert json.loads(metrics.read_text())['coco/AP'] == pytest.approx(
        logged['coco/AP'], abs=0.01)
    # a PyTorch checkpoint given to the ONNX backend is refused
    proc = run_tool(
        'infer.py',
        TINY_CFG,
        ckpt,
        image,
        '--backend',
        'onnxruntime',
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0 and '.onnx file' in proc.stdout
    # so is an ONNX file given to the OpenVINO backend with a precision
    # ONNX Runtime cannot run
    proc = run_tool(
        'infer.py',
        TINY_CFG,
        onnx_file,
        image,
        '--precision',
        'bf16',
        '--backend',
        'onnxruntime',
        cwd=sample_workspace,
        check=False)
    assert proc.returncode != 0
    assert '--precision bf16 needs --backend openvino' in proc.stdout


def test_infer_tool_draws_a_video(trained, sample_workspace, tmp_path):
    import cv2
    frames = sorted(
        glob.glob(
            osp.join(sample_workspace, 'data', 'sample_coco', 'images',
                     'val2017', '*.jpg')))[:3]
    video = str(tmp_path / 'clip.mp4')
    first = cv2.imread(frames[0])
    h, w = first.shape[:2]
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5, (w, h))
    for f in frames:
        writer.write(cv2.resize(cv2.imread(f), (w, h)))
    writer.release()
    out = tmp_path / 'out'
    proc = run_tool(
        'infer.py',
        TINY_CFG,
        osp.join(trained, 'epoch_4.pth'),
        video,
        '--out-dir',
        str(out),
        cwd=sample_workspace)
    assert '3 frame(s) drawn' in proc.stdout
    drawn = out / 'visualizations' / 'clip.mp4'
    assert drawn.is_file()
    reader = cv2.VideoCapture(str(drawn))
    count = 0
    while reader.read()[0]:
        count += 1
    reader.release()
    assert count == 3
    with open(out / 'predictions' / 'clip.json') as f:
        pred = json.load(f)
    assert len(pred) == 3
    assert len(pred[0]['instances'][0]['keypoints']) == 17


def test_infer_tool_boxes_from_an_mmdetection_detector(trained,
                                                       sample_workspace,
                                                       tmp_path):
    """An MMDetection config and checkpoint given by the user (here MMDet's
    RTMDet-tiny with random weights, saved as a plain state dict)."""
    import mmdet
    from mmdet.apis import init_detector
    det_cfg = osp.join(
        osp.dirname(mmdet.__file__), '.mim', 'configs', 'rtmdet',
        'rtmdet_tiny_8xb32-300e_coco.py')
    from mmdet.apis import inference_detector
    torch.manual_seed(0)
    detector = init_detector(det_cfg, None, device='cpu')
    det_ckpt = tmp_path / 'det.pth'
    torch.save(dict(state_dict=detector.state_dict()), det_ckpt)
    image = _val_image(sample_workspace)
    # the class this random detector reports most, standing for "person"
    labels = inference_detector(detector, image).pred_instances.labels
    person = int(torch.mode(labels).values)
    out = tmp_path / 'out'
    run_tool(
        'infer.py',
        TINY_CFG,
        osp.join(trained, 'epoch_4.pth'),
        image,
        '--det-model',
        det_cfg,
        '--det-weights',
        str(det_ckpt),
        '--det-cat-ids',
        str(person),
        '--bbox-thr',
        '0',
        '--out-dir',
        str(out),
        cwd=sample_workspace)
    pred = out / 'predictions' / (
        osp.splitext(osp.basename(image))[0] + '.json')
    with open(pred) as f:
        people = json.load(f)
    import cv2
    h, w = cv2.imread(image).shape[:2]
    # the detector's boxes, not the whole image
    assert people and all(p['bbox'][0] != [0, 0, w, h]
                          for p in people), people[:2]
    assert all(len(p['keypoints']) == 17 for p in people)
