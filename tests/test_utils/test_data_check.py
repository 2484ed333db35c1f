import json

import pytest
from conftest import REPO, run_tool
from mmengine.config import Config
from mmengine.logging import MMLogger

from autopose_mm.utils import DataFileError, check_data_paths


def test_missing_data_root_stops_training_at_once(tmp_path):
    cfg = f'{REPO}/configs/autopose/l18_c64_coco_384x288.py'
    proc = run_tool(
        'train.py',
        cfg,
        '--work-dir',
        str(tmp_path / 'w'),
        cwd=str(tmp_path),
        check=False)
    assert proc.returncode != 0
    assert "data_root 'data/coco/'" in proc.stdout
    assert 'person_keypoints_train2017.json' in proc.stdout  # the layout
    assert 'Epoch' not in proc.stdout
    assert not (tmp_path / 'w').exists() or not any(
        p.suffix == '.pth' for p in (tmp_path / 'w').rglob('*'))


def test_each_missing_file_is_named(sample_workspace):
    cfg = Config.fromfile(f'{REPO}/tests/configs/tiny_coco.py')
    root = f'{sample_workspace}/data/sample_coco/'
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root':
        root,
        'val_dataloader.dataset.data_root':
        root,
        'val_dataloader.dataset.bbox_file':
        root + 'nope/dets.json',
        'val_evaluator.ann_file':
        root + 'annotations/missing.json',
    })
    check_data_paths(cfg, ['train_dataloader'])
    with pytest.raises(FileNotFoundError) as err:
        check_data_paths(cfg, ['train_dataloader', 'val_dataloader'])
    msg = str(err.value)
    assert 'bbox_file' in msg and 'nope/dets.json' in msg
    assert 'val_evaluator: ann_file' in msg and 'missing.json' in msg
    assert 'image directory' not in msg


def test_mpii_layout_is_shown(tmp_path):
    cfg = Config.fromfile(f'{REPO}/configs/autopose/l12_c32_mpii_256x256.py')
    with pytest.raises(FileNotFoundError, match=r'data/mpii(.|\n)*gt_valid'):
        check_data_paths(cfg, ['train_dataloader'])


def _coco(tmp_path, annotations=None):
    """A one-image COCO keypoint file and its config."""
    ann = dict(
        images=[dict(id=1, file_name='a.jpg', width=100, height=80)],
        annotations=annotations if annotations is not None else [
            dict(
                id=1,
                image_id=1,
                bbox=[10, 10, 30, 40],
                keypoints=[0] * 51,
                num_keypoints=3,
                iscrowd=0)
        ],
        categories=[dict(id=1, name='person')])
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    (tmp_path / 'img').mkdir(exist_ok=True)
    return Config(
        dict(
            test_dataloader=dict(
                dataset=dict(
                    type='CocoDataset',
                    data_root=str(tmp_path),
                    ann_file='ann.json',
                    data_prefix=dict(img='img/'),
                    bbox_file=str(tmp_path / 'dets.json')))))


def _dets(tmp_path, dets):
    path = tmp_path / 'dets.json'
    path.write_text(dets if isinstance(dets, str) else json.dumps(dets))
    return str(path)


GOOD_DET = dict(image_id=1, bbox=[10, 10, 30, 40], score=0.9)


def test_good_files_pass(tmp_path):
    cfg = _coco(tmp_path)
    _dets(tmp_path, [GOOD_DET])
    check_data_paths(cfg, ['test_dataloader'])


@pytest.mark.parametrize('dets, match', [
    ('[{"image_id": 1, "bbox": [1, 2', 'not valid JSON.*line 1'),
    ([], 'empty or not a list'),
    ([dict(image_id=1, bbox=[1, 2, 3])], r'lacks score'),
    ([dict(image_id=1, bbox=[1, 2, 3], score=1.)], r'bbox \[1, 2, 3\]'),
    ([dict(GOOD_DET, image_id=2000000)], r'1 image ids.*2000000'),
])
def test_bad_detection_files_are_named(tmp_path, dets, match):
    cfg = _coco(tmp_path)
    path = _dets(tmp_path, dets)
    with pytest.raises(DataFileError, match=match) as err:
        check_data_paths(cfg, ['test_dataloader'])
    assert path in str(err.value)


def test_xyxy_boxes_are_warned_about(tmp_path):
    cfg = _coco(tmp_path)
    _dets(tmp_path, [dict(GOOD_DET, bbox=[50, 40, 95, 78])] * 3)
    log = tmp_path / 'check.log'
    MMLogger.get_instance('data_check_test', log_file=str(log))
    check_data_paths(cfg, ['test_dataloader'])
    assert '3 of 3 boxes reach past the image' in log.read_text()
    assert '[x1, y1, x2, y2]' in log.read_text()


@pytest.mark.parametrize('annotations, match', [
    ([], 'no annotated person'),
    ([
        dict(
            id=1,
            image_id=1,
            bbox=[0, 0, 1, 1],
            keypoints=[0] * 51,
            num_keypoints=0)
    ], 'no annotated person'),
    ([dict(id=1, image_id=1, bbox=[0, 0, 1, 1])], r'annotations\[0\] lacks '
     'keypoints'),
])
def test_bad_annotation_files_are_named(tmp_path, annotations, match):
    cfg = _coco(tmp_path, annotations)
    _dets(tmp_path, [GOOD_DET])
    with pytest.raises(DataFileError, match=match) as err:
        check_data_paths(cfg, ['test_dataloader'])
    assert str(tmp_path / 'ann.json') in str(err.value)


def test_annotation_file_that_is_not_json(tmp_path):
    cfg = _coco(tmp_path)
    _dets(tmp_path, [GOOD_DET])
    (tmp_path / 'ann.json').write_text('{"images": [}')
    with pytest.raises(DataFileError, match=r"ann.json' is not valid JSON"):
        check_data_paths(cfg, ['test_dataloader'])
