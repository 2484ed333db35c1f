import pytest
from mmengine.config import Config

from autopose_mm.utils import check_data_paths
from conftest import REPO, run_tool


def test_missing_data_root_stops_training_at_once(tmp_path):
    cfg = f'{REPO}/configs/autopose/l18_c64_coco_384x288.py'
    proc = run_tool('train.py', cfg, '--work-dir', str(tmp_path / 'w'),
                    cwd=str(tmp_path), check=False)
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
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.bbox_file': root + 'nope/dets.json',
        'val_evaluator.ann_file': root + 'annotations/missing.json',
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
