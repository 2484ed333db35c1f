"""A deterministic generator of synthetic people in COCO and MPII formats.

Each image holds a textured, cluttered background and several articulated
figures: a torso, a head with eyes and nose, and two-segment limbs, in random
poses, proportions, widths and colours. The person's left limbs are drawn in
a lighter shade and the right limbs in a darker one, so that left and right
can be told apart as in real images. Figures overlap each other and the image
border, so some keypoints are occluded (``v=1``) or outside the image and
unlabeled (``v=0``).

:func:`generate_coco` writes the images, ``person_keypoints_{split}.json`` in
the COCO keypoints format (with a few crowd regions and a few annotations
without keypoints) and a detection-results file in the COCO results format.
:func:`generate_mpii` writes the MPII variant that MMPose's ``MpiiDataset``
reads.
"""
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ..utils.io import atomic_write_text

COCO_KEYPOINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
                  'left_shoulder', 'right_shoulder', 'left_elbow',
                  'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
                  'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                  'right_ankle')
# 1-based, as in the COCO annotation files.
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12],
                 [7, 13], [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3],
                 [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]
K = {name: i for i, name in enumerate(COCO_KEYPOINTS)}
# Limbs drawn as thick segments: (from, to, side) with side 'l' / 'r'.
LIMBS = [('left_shoulder', 'left_elbow', 'l'),
         ('left_elbow', 'left_wrist', 'l'),
         ('right_shoulder', 'right_elbow', 'r'),
         ('right_elbow', 'right_wrist', 'r'), ('left_hip', 'left_knee', 'l'),
         ('left_knee', 'left_ankle', 'l'), ('right_hip', 'right_knee', 'r'),
         ('right_knee', 'right_ankle', 'r')]
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


@dataclass
class Person:
    """One drawn figure: COCO keypoints (17, 2), their visibility (17,), its
    mask, the head box used for PCKh, and the head top and neck points that
    MPII labels."""
    keypoints: np.ndarray
    visible: np.ndarray
    mask: np.ndarray
    head_box: Tuple[float, float, float, float]
    head_top: np.ndarray
    neck: np.ndarray


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _pose(rng: np.random.Generator, center: np.ndarray,
          height: float) -> Tuple[np.ndarray, Dict[str, float]]:
    """Sample the 17 keypoints of a standing figure ``height`` pixels tall."""
    tilt = rng.normal(0, 12)
    up = _rot(np.array([0., -1.]), tilt)
    right = np.array([-up[1], up[0]])  # image right when facing the camera
    yaw = rng.uniform(0.45, 1.0)  # turning the body narrows it
    torso = height * rng.uniform(0.27, 0.33)
    shoulder_w = height * rng.uniform(0.19, 0.25) * yaw
    hip_w = height * rng.uniform(0.12, 0.17) * yaw
    head_r = height * rng.uniform(0.06, 0.08)
    upper_arm, fore_arm = height * rng.uniform(0.15, 0.19, size=2)
    thigh, shin = height * rng.uniform(0.21, 0.26, size=2)

    kp = np.zeros((17, 2))
    pelvis = center + up * height * 0.02
    neck = pelvis + up * torso
    # Facing the camera, the person's left is on the image right.
    kp[K['left_hip']] = pelvis + right * hip_w / 2
    kp[K['right_hip']] = pelvis - right * hip_w / 2
    kp[K['left_shoulder']] = neck + right * shoulder_w / 2
    kp[K['right_shoulder']] = neck - right * shoulder_w / 2
    head = neck + up * head_r * 1.6 + right * rng.normal(0, 0.15) * head_r
    kp[K['nose']] = head - up * head_r * 0.15
    kp[K['left_eye']] = head + up * head_r * 0.25 + right * head_r * 0.4
    kp[K['right_eye']] = head + up * head_r * 0.25 - right * head_r * 0.4
    kp[K['left_ear']] = head + right * head_r * 0.95 * yaw
    kp[K['right_ear']] = head - right * head_r * 0.95 * yaw
    down = -up
    for side, sign in (('left', 1), ('right', -1)):
        # Arms swing out to the person's side (angles in image space).
        a1 = -sign * rng.uniform(5, 150)
        a2 = a1 - sign * rng.uniform(-10, 120)
        elbow = kp[K[f'{side}_shoulder']] + _rot(down, a1) * upper_arm
        kp[K[f'{side}_elbow']] = elbow
        kp[K[f'{side}_wrist']] = elbow + _rot(down, a2) * fore_arm
        l1 = -sign * rng.uniform(-15, 40)
        l2 = l1 + rng.uniform(-60, 60)
        knee = kp[K[f'{side}_hip']] + _rot(down, l1) * thigh
        kp[K[f'{side}_knee']] = knee
        kp[K[f'{side}_ankle']] = knee + _rot(down, l2) * shin
    head_box = (head[0] - head_r * 1.2, head[1] - head_r * 1.4,
                head[0] + head_r * 1.2, head[1] + head_r * 1.2)
    return kp, dict(
        head_r=head_r,
        width=height * rng.uniform(0.035, 0.055),
        head_x=head[0],
        head_y=head[1],
        box=head_box,
        head_top=head + up * head_r,
        neck=neck + up * head_r * 0.5)


def _shade(color: np.ndarray, towards: float, amount: float) -> Tuple:
    return tuple(float(c) for c in color * (1 - amount) + towards * amount)


def _draw_person(img: np.ndarray, rng: np.random.Generator, kp: np.ndarray,
                 geo: Dict) -> np.ndarray:
    """Draw one figure; returns its mask."""
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    base = rng.uniform(40, 215, size=3)
    colors = {'l': _shade(base, 255, 0.45), 'r': _shade(base, 0, 0.45)}
    torso_color = tuple(float(c) for c in base)
    skin = tuple(float(c) for c in rng.uniform([60, 90, 130], [150, 190, 235]))
    pts = np.round(kp * 16).astype(np.int32)  # 4 fractional bits
    width = max(2, int(round(geo['width'])))

    def poly(points, color):
        for target, value in ((img, color), (mask, 255)):
            cv2.fillPoly(target, [points], value, cv2.LINE_AA, shift=4)

    def line(a, b, color, thickness):
        for target, value in ((img, color), (mask, 255)):
            cv2.line(
                target,
                tuple(pts[a]),
                tuple(pts[b]),
                value,
                thickness,
                cv2.LINE_AA,
                shift=4)

    poly(
        pts[[
            K['left_shoulder'], K['right_shoulder'], K['right_hip'],
            K['left_hip']
        ]], torso_color)
    for a, b, side in LIMBS:
        line(K[a], K[b], colors[side], width)
    center = (int(round(geo['head_x'] * 16)), int(round(geo['head_y'] * 16)))
    radius = int(round(geo['head_r'] * 16))
    for target, value in ((img, skin), (mask, 255)):
        cv2.circle(target, center, radius, value, -1, cv2.LINE_AA, shift=4)
    # Joint and face markers make the keypoints locatable, as in real images.
    dot = max(1, width // 3) * 16
    for name in COCO_KEYPOINTS[5:]:
        side = 'l' if name.startswith('left') else 'r'
        cv2.circle(
            img,
            tuple(pts[K[name]]),
            dot,
            _shade(np.array(colors[side]), 0, 0.5),
            -1,
            cv2.LINE_AA,
            shift=4)
    for name in ('left_eye', 'right_eye', 'nose'):
        cv2.circle(
            img,
            tuple(pts[K[name]]),
            max(16, dot // 2), (20, 20, 20),
            -1,
            cv2.LINE_AA,
            shift=4)
    return mask > 0


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth colour noise with random clutter shapes."""
    small = rng.uniform(0, 255, size=(max(2, h // 32), max(2, w // 32), 3))
    img = cv2.resize(
        small.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 12, size=img.shape).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(3, 10)):
        color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        kind = rng.integers(3)
        if kind == 0:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(5, w // 3)),
                                        y + int(rng.integers(5, h // 3))),
                          color, -1)
        elif kind == 1:
            cv2.circle(img, (x, y), int(rng.integers(3, h // 8)), color, -1)
        else:
            cv2.line(img, (x, y),
                     (int(rng.integers(0, w)), int(rng.integers(0, h))), color,
                     int(rng.integers(1, 4)))
    return img


def draw_image(rng: np.random.Generator,
               size: Tuple[int, int] = (256, 256),
               max_people: int = 3) -> Tuple[np.ndarray, List[Person]]:
    """Draw one image (``size`` is (height, width)) and return its people,
    in drawing order."""
    h, w = size
    img = _background(rng, h, w)
    people = []
    for _ in range(int(rng.integers(1, max_people + 1))):
        height = rng.uniform(0.45, 0.95) * h
        # Centres may lie near the border, so some figures are cut off.
        center = np.array([
            rng.uniform(-0.05, 1.05) * w,
            rng.uniform(0.3, 0.75) * h + height * 0.05
        ])
        kp, geo = _pose(rng, center, height)
        mask = _draw_person(img, rng, kp, geo)
        inside = ((kp[:, 0] >= 0) & (kp[:, 0] < w) & (kp[:, 1] >= 0) &
                  (kp[:, 1] < h))
        people.append(
            Person(kp, np.where(inside, 2, 0), mask, geo['box'],
                   geo['head_top'], geo['neck']))
    # A keypoint covered by a later figure is occluded but still labelled.
    for i, person in enumerate(people):
        for later in people[i + 1:]:
            for j in np.flatnonzero(person.visible == 2):
                x, y = person.keypoints[j].astype(int)
                if later.mask[y, x]:
                    person.visible[j] = 1
                    person.mask[y, x] = False
        for later in people[i + 1:]:
            person.mask &= ~later.mask
    return img, people


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
        kp, geo = _pose(rng, center, rng.uniform(0.12, 0.2) * h)
        region |= _draw_person(img, rng, kp, geo)
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
