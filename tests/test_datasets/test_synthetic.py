import hashlib
import json
import os.path as osp

import numpy as np
import pytest
from scipy.io import loadmat

from autopose_mm.datasets import COCO_KEYPOINTS, generate_coco, generate_mpii


def _digest(root: str, files) -> str:
    h = hashlib.sha256()
    for name in files:
        with open(osp.join(root, name), 'rb') as f:
            h.update(f.read())
    return h.hexdigest()


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('coco'))
    generate_coco(
        root,
        num_train=12,
        num_val=30,
        image_size=(128, 96),
        crowd_prob=0.3,
        seed=3)
    return root


def test_coco_files_follow_the_format(coco):
    with open(osp.join(coco, 'annotations',
                       'person_keypoints_val2017.json')) as f:
        data = json.load(f)
    assert data['categories'][0]['keypoints'] == list(COCO_KEYPOINTS)
    assert len(data['categories'][0]['skeleton']) == 19
    assert len(data['images']) == 30
    for img in data['images']:
        assert osp.isfile(
            osp.join(coco, 'images', 'val2017', img['file_name']))
        assert (img['height'], img['width']) == (128, 96)
    anns = data['annotations']
    assert len({a['id'] for a in anns}) == len(anns)
    people = [a for a in anns if not a['iscrowd']]
    crowds = [a for a in anns if a['iscrowd']]
    assert crowds and all(a['num_keypoints'] == 0 for a in crowds)
    assert all(sum(c['segmentation']['counts']) == 128 * 96 for c in crowds)
    vis = np.concatenate(
        [np.array(a['keypoints']).reshape(-1, 3)[:, 2] for a in people])
    # visible, occluded and unlabeled keypoints all occur
    assert {0, 1, 2} <= set(vis.tolist())
    for a in people:
        kps = np.array(a['keypoints']).reshape(17, 3)
        assert a['num_keypoints'] == int((kps[:, 2] > 0).sum())
        x, y, w, h = a['bbox']
        assert 0 <= x and 0 <= y and x + w <= 96 and y + h <= 128
        assert 0 < a['area'] <= w * h
    with open(
            osp.join(coco, 'person_detection_results',
                     'detections_val2017.json')) as f:
        dets = json.load(f)
    assert {d['category_id'] for d in dets} == {1}
    assert min(d['score'] for d in dets) < 0.5 < max(d['score'] for d in dets)
    assert {d['image_id'] for d in dets} <= {i['id'] for i in data['images']}


def test_generation_is_deterministic(coco, tmp_path):
    again = str(tmp_path)
    generate_coco(
        again,
        num_train=12,
        num_val=30,
        image_size=(128, 96),
        crowd_prob=0.3,
        seed=3)
    files = [
        'annotations/person_keypoints_train2017.json',
        'annotations/person_keypoints_val2017.json',
        'person_detection_results/detections_val2017.json',
        'images/val2017/000001000007.jpg'
    ]
    assert _digest(coco, files) == _digest(again, files)
    other = str(tmp_path / 'other')
    generate_coco(
        other,
        num_train=12,
        num_val=30,
        image_size=(128, 96),
        crowd_prob=0.3,
        seed=4)
    assert _digest(coco, files[:1]) != _digest(other, files[:1])


def test_mmpose_reads_both_formats(coco, tmp_path):
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS
    init_default_scope('mmpose')
    ds = DATASETS.build(
        dict(
            type='CocoDataset',
            data_root=coco,
            ann_file='annotations/person_keypoints_train2017.json',
            data_prefix=dict(img='images/train2017/'),
            pipeline=[]))
    assert len(ds) > 12
    mpii = str(tmp_path / 'mpii')
    generate_mpii(mpii, num_train=6, num_val=6, image_size=(128, 128), seed=2)
    val = DATASETS.build(
        dict(
            type='MpiiDataset',
            data_root=mpii,
            ann_file='annot/valid.json',
            headbox_file=osp.join(mpii, 'annot', 'gt_valid.mat'),
            data_prefix=dict(img='images/'),
            test_mode=True,
            pipeline=[]))
    info = val.get_data_info(0)
    assert info['keypoints'].shape == (1, 16, 2)
    assert info['head_size'].item() > 0
    heads = loadmat(osp.join(mpii, 'annot', 'gt_valid.mat'))['headboxes_src']
    assert heads.shape == (2, 2, len(val))


def test_missing_sample_data_is_generated_once(tmp_path, monkeypatch):
    import os

    from autopose_mm.datasets import synthetic
    small = dict(num_val=3, image_size=(64, 64))
    monkeypatch.setattr(
        synthetic, 'SAMPLE_DATASETS', {
            'data/sample_coco': dict(small, num_train=2),
            'data/sample_coco_val400': dict(small, num_train=0),
            'data/sample_coco_search400': dict(small, num_train=0, seed=1),
        })
    monkeypatch.chdir(tmp_path)
    demo = osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
        'configs', 'autopose', 'demo')
    proxy = osp.join(demo, 'proxy_l6_c16_sample_coco_128x96.py')
    screen = osp.join(demo, 'proxy_screen_l6_c16_sample_coco_128x96.py')
    # the proxy reads the sample data and the 400 test images, not the
    # search's screen set
    assert synthetic.ensure_sample_data(proxy) == [
        'data/sample_coco', 'data/sample_coco_val400'
    ]
    assert not osp.exists('data/sample_coco_search400')
    assert synthetic.ensure_sample_data(screen) == [
        'data/sample_coco_search400'
    ]
    written = {}
    for root in synthetic.SAMPLE_DATASETS:
        with open(
                osp.join(root, 'annotations',
                         'person_keypoints_val2017.json')) as f:
            assert len(json.load(f)['images']) == 3
        det = osp.join(root, 'person_detection_results',
                       'detections_val2017.json')
        written[det] = os.stat(det).st_mtime_ns
    # present: nothing is generated again
    assert synthetic.ensure_sample_data(proxy, screen) == []
    assert {d: os.stat(d).st_mtime_ns for d in written} == written
    # another seed: the screen's images are not the comparison's
    with open('data/sample_coco_val400/annotations/'
              'person_keypoints_val2017.json') as f:
        test_set = json.load(f)['annotations']
    with open('data/sample_coco_search400/annotations/'
              'person_keypoints_val2017.json') as f:
        screen_set = json.load(f)['annotations']
    assert [a['keypoints']
            for a in test_set] != [a['keypoints'] for a in screen_set]
