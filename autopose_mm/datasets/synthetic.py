"""A deterministic generator of synthetic people in COCO and MPII formats.

The people are drawn by :mod:`.drawing`. :func:`generate_coco` writes the
images, ``person_keypoints_{split}.json`` in the COCO keypoints format (with a
few crowd regions and a few annotations without keypoints) and a
detection-results file in the COCO results format. :func:`generate_mpii`
writes the MPII variant that MMPose's ``MpiiDataset`` reads.
"""
import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ..utils.io import atomic_write_text
from .drawing import (
    COCO_KEYPOINTS,
    COCO_SKELETON,
    K,
    Person,
    draw_image,
    draw_person,
    sample_pose,
)

MPII_FROM_COCO = {  # MPII joint -> COCO keypoint, or None when derived
    0: 'right_ankle',
    1: 'right_knee',
    2: 'right_hip',
    3: 'left_hip',
    4: 'left_knee',
    5: 'left_ankle',
    6: None,
    7: None,
    8: None,
    9: None,
    10: 'right_wrist',
    11: 'right_elbow',
    12: 'right_shoulder',
    13: 'left_shoulder',
    14: 'left_elbow',
    15: 'left_wrist'
}


def _bbox_from_mask(mask: np.ndarray) -> Optional[List[float]]:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


def _crowd_annotation(rng: np.random.Generator, img: np.ndarray,
                      occupied: np.ndarray) -> Optional[Dict]:
    """Draw a cluster of small far-away figures and annotate it as a crowd
    region (``iscrowd=1``, RLE mask, no keypoints)."""
    h, w = img.shape[:2]
    region = np.zeros((h, w), bool)
    x0, y0 = rng.uniform(0, w * 0.7), rng.uniform(0, h * 0.5)
    for _ in range(int(rng.integers(3, 6))):
        center = np.array(
            [x0 + rng.uniform(0, w * 0.3), y0 + rng.uniform(0, h * 0.2)])
        kp, geo = sample_pose(rng, center, rng.uniform(0.12, 0.2) * h)
        region |= draw_person(img, rng, kp, geo)
    region &= ~occupied
    if region.sum() < 20:
        return None
    return dict(
        segmentation=_uncompressed_rle(region),
        area=float(region.sum()),
        bbox=_bbox_from_mask(region),
        iscrowd=1,
        num_keypoints=0,
        keypoints=[0] * 51)


def _uncompressed_rle(mask: np.ndarray) -> Dict:
    """COCO's uncompressed RLE: run lengths of the column-major mask,
    starting with a run of zeros."""
    flat = mask.flatten(order='F').astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0] + counts
    return dict(counts=counts, size=list(mask.shape))


def _coco_annotation(person: Person, w: int, h: int) -> Optional[Dict]:
    bbox = _bbox_from_mask(person.mask)
    if bbox is None:
        return None
    kps = []
    for (x, y), v in zip(person.keypoints, person.visible):
        kps += [float(x), float(y), int(v)] if v > 0 else [0, 0, 0]
    return dict(
        keypoints=kps,
        num_keypoints=int((person.visible > 0).sum()),
        bbox=bbox,
        area=float(person.mask.sum()),
        iscrowd=0)


def _detections(rng: np.random.Generator, image_id: int, anns: Sequence[Dict],
                w: int, h: int) -> List[Dict]:
    """Jittered ground-truth boxes plus a few false positives."""
    dets = []
    for ann in anns:
        if ann['iscrowd'] or rng.random() < 0.05:  # some people are missed
            continue
        x, y, bw, bh = ann['bbox']
        cx = x + bw / 2 + rng.normal(0, 0.04) * bw
        cy = y + bh / 2 + rng.normal(0, 0.04) * bh
        bw, bh = bw * rng.uniform(0.9, 1.1), bh * rng.uniform(0.9, 1.1)
        dets.append(
            dict(
                image_id=image_id,
                category_id=1,
                bbox=[cx - bw / 2, cy - bh / 2, bw, bh],
                score=float(rng.uniform(0.6, 1.0))))
    for _ in range(int(rng.poisson(0.5))):
        bw, bh = rng.uniform(0.1, 0.4) * w, rng.uniform(0.2, 0.6) * h
        dets.append(
            dict(
                image_id=image_id,
                category_id=1,
                bbox=[
                    float(rng.uniform(0, w - bw)),
                    float(rng.uniform(0, h - bh)), bw, bh
                ],
                score=float(rng.uniform(0.05, 0.5))))
    return dets


def generate_coco(out_dir: str,
                  num_train: int = 200,
                  num_val: int = 50,
                  image_size: Tuple[int, int] = (256, 256),
                  max_people: int = 3,
                  crowd_prob: float = 0.1,
                  seed: int = 0) -> Dict[str, str]:
    """Write a COCO-keypoints-format sample dataset.

    Layout (as in ``data/coco``)::

        out_dir/annotations/person_keypoints_{train,val}2017.json
        out_dir/person_detection_results/detections_val2017.json
        out_dir/images/{train,val}2017/*.jpg

    Args:
        out_dir (str): Dataset root.
        num_train (int): Training images.
        num_val (int): Validation images.
        image_size (tuple[int, int]): (height, width) of every image.
        max_people (int): At most this many figures per image.
        crowd_prob (float): Chance that an image also gets a crowd region.
        seed (int): The same seed gives the same files.

    Returns:
        dict: Paths of the written annotation and detection files.
    """
    paths = {}
    for split, count, offset in (('train', num_train, 0), ('val', num_val,
                                                           1_000_000)):
        rng = np.random.default_rng([seed, offset])
        img_dir = osp.join(out_dir, 'images', f'{split}2017')
        os.makedirs(img_dir, exist_ok=True)
        images, annotations, detections = [], [], []
        for i in range(count):
            image, anns = _coco_image(rng, img_dir, offset + i + 1, image_size,
                                      max_people, crowd_prob)
            images.append(image)
            for ann in anns:
                ann.update(
                    id=len(annotations) + 1 + offset,
                    image_id=image['id'],
                    category_id=1)
                annotations.append(ann)
            detections += _detections(rng, image['id'], anns, image['width'],
                                      image['height'])
        ann_path = osp.join(out_dir, 'annotations',
                            f'person_keypoints_{split}2017.json')
        atomic_write_text(
            ann_path,
            json.dumps(
                dict(
                    info=dict(
                        description='autopose_mm synthetic people', seed=seed),
                    images=images,
                    annotations=annotations,
                    categories=_COCO_CATEGORIES),
                allow_nan=False))
        paths[f'{split}_ann'] = ann_path
        if split == 'val':
            det_path = osp.join(out_dir, 'person_detection_results',
                                'detections_val2017.json')
            atomic_write_text(det_path,
                              json.dumps(detections, allow_nan=False))
            paths['val_det'] = det_path
    return paths


_COCO_CATEGORIES = [
    dict(
        id=1,
        name='person',
        supercategory='person',
        keypoints=list(COCO_KEYPOINTS),
        skeleton=COCO_SKELETON)
]


def _coco_image(rng: np.random.Generator, img_dir: str, image_id: int,
                image_size: Tuple[int, int], max_people: int,
                crowd_prob: float) -> Tuple[Dict, List[Dict]]:
    """Draw and write one image; returns its COCO image entry and its
    annotations (people, and a crowd region with ``crowd_prob``), without
    ids."""
    h, w = image_size
    img, people = draw_image(rng, image_size, max_people)
    anns = [
        a for a in (_coco_annotation(p, w, h) for p in people) if a is not None
    ]
    if rng.random() < crowd_prob:
        occupied = np.zeros((h, w), bool)
        for p in people:
            occupied |= p.mask
        crowd = _crowd_annotation(rng, img, occupied)
        if crowd is not None:
            anns.append(crowd)
    file_name = f'{image_id:012d}.jpg'
    cv2.imwrite(
        osp.join(img_dir, file_name), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    image = dict(id=image_id, file_name=file_name, height=h, width=w)
    return image, anns


def _mpii_joints(person: Person, w: int,
                 h: int) -> Tuple[np.ndarray, np.ndarray]:
    """The 16 MPII joints (pixels) and their visibility flags."""
    kp, vis = person.keypoints, person.visible > 0
    joints = np.zeros((16, 2))
    labelled = np.zeros(16, dtype=int)
    for j, name in MPII_FROM_COCO.items():
        if name is not None:
            joints[j], labelled[j] = kp[K[name]], vis[K[name]]
    derived = {
        6: (kp[K['left_hip']] + kp[K['right_hip']]) / 2,  # pelvis
        7: (kp[K['left_shoulder']] + kp[K['right_shoulder']]) / 2,  # thorax
        8: person.neck,  # upper neck
        9: person.head_top,
    }
    for j, point in derived.items():
        joints[j] = point
        labelled[j] = 0 <= point[0] < w and 0 <= point[1] < h
    joints[labelled == 0] = 0
    return joints, labelled


def generate_mpii(out_dir: str,
                  num_train: int = 200,
                  num_val: int = 50,
                  image_size: Tuple[int, int] = (256, 256),
                  max_people: int = 3,
                  min_joints: int = 8,
                  seed: int = 0) -> Dict[str, str]:
    """Write an MPII-format sample dataset, as MMPose's ``MpiiDataset``
    reads it (layout of ``data/mpii``)::

        out_dir/annot/{train,valid}.json    center, scale, joints, joints_vis
        out_dir/annot/gt_valid.mat          head boxes of the valid people
        out_dir/images/*.jpg

    People with fewer than ``min_joints`` labelled joints are left out, as
    MPII annotates only clearly visible people.

    Returns:
        dict: Paths of the written annotation and head-box files.
    """
    from scipy.io import savemat
    h, w = image_size
    img_dir = osp.join(out_dir, 'images')
    os.makedirs(img_dir, exist_ok=True)
    paths = {}
    for split, count, offset in (('train', num_train, 0), ('valid', num_val,
                                                           500_000)):
        rng = np.random.default_rng([seed, offset, 7])
        anns, head_boxes = [], []
        for i in range(count):
            img, people = draw_image(rng, image_size, max_people)
            name = f'{offset + i + 1:09d}.jpg'
            cv2.imwrite(
                osp.join(img_dir, name), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
            for person in people:
                joints, labelled = _mpii_joints(person, w, h)
                if labelled.sum() < min_joints:
                    continue
                pts = joints[labelled > 0]
                x0, y0 = pts.min(0)
                x1, y1 = pts.max(0)
                anns.append(
                    dict(
                        image=name,
                        center=[
                            float((x0 + x1) / 2 + 1),
                            float((y0 + y1) / 2 + 1)
                        ],
                        scale=float(max(x1 - x0, y1 - y0) * 1.1 / 200),
                        joints=joints.round(2).tolist(),
                        joints_vis=labelled.tolist()))
                head_boxes.append(np.array(person.head_box).reshape(2, 2))
        ann_path = osp.join(out_dir, 'annot', f'{split}.json')
        atomic_write_text(ann_path, json.dumps(anns, allow_nan=False))
        paths[f'{split}_ann'] = ann_path
        if split == 'valid':
            mat_path = osp.join(out_dir, 'annot', 'gt_valid.mat')
            savemat(
                mat_path, {
                    'headboxes_src':
                    np.stack(head_boxes, axis=2) if head_boxes else np.zeros(
                        (2, 2, 0))
                })
            paths['headbox'] = mat_path
    return paths


# The generated datasets that configs of this repository read, by root:
# generate_coco's arguments for each.
SAMPLE_DATASETS: Dict[str, Dict[str, Any]] = {
    'data/sample_coco': dict(),
    # the sample data's 50 validation images and 350 more: the test set of
    # the proxy trainings that compare architectures
    'data/sample_coco_val400': dict(num_train=0, num_val=400),
    # 400 other images (another seed): what a search that trains candidates
    # briefly scores them on, kept apart from the comparison's test set
    'data/sample_coco_search400': dict(num_train=0, num_val=400, seed=1),
    # a larger regime of the same generator: 6x the training images and
    # 1200 test images, for measuring whether more data (at the same
    # number of optimizer steps) makes a benchmark rank networks more
    # reproducibly
    'data/sample_coco_train1200': dict(num_train=1200, num_val=0, seed=2),
    'data/sample_coco_val1200': dict(num_train=0, num_val=1200, seed=3),
}


def ensure_sample_data(*cfgs: Union[str, Any]) -> List[str]:
    """Generate the built-in datasets that the configs (paths or
    ``mmengine.Config`` objects) read and that are not there yet, as
    ``tools/misc/generate_sample_data.py`` does for ``data/sample_coco``.

    Roots are looked up relative to the working directory, as the configs'
    ``data_root`` is; other datasets are left alone.

    Returns:
        list[str]: The roots generated now.
    """
    from mmengine.config import Config
    roots = set()
    for cfg in cfgs:
        if isinstance(cfg, str):
            cfg = Config.fromfile(cfg)
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            root = ((cfg.get(loader) or {}).get('dataset')
                    or {}).get('data_root')
            if root and root.rstrip('/') in SAMPLE_DATASETS:
                roots.add(root.rstrip('/'))
    made = []
    for root in sorted(roots):
        # the detections are the last file generate_coco writes
        if not osp.isfile(
                osp.join(root, 'person_detection_results',
                         'detections_val2017.json')):
            generate_coco(root, **SAMPLE_DATASETS[root])
            made.append(root)
    return made
