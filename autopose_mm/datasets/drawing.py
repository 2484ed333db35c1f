"""Drawing synthetic people: a textured, cluttered background and several
articulated figures (a torso, a head with eyes and nose, two-segment limbs) in
random poses, proportions, widths and colours. A person's left limbs are drawn
in a lighter shade than the right ones, so that left and right can be told
apart as in real images. Figures overlap each other and the image border, so
some keypoints are occluded (``v=1``) or outside the image (``v=0``).
"""
from dataclasses import dataclass
from typing import Dict, List, Tuple

import cv2
import numpy as np

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


def sample_pose(rng: np.random.Generator, center: np.ndarray,
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


def draw_person(img: np.ndarray, rng: np.random.Generator, kp: np.ndarray,
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
        kp, geo = sample_pose(rng, center, height)
        mask = draw_person(img, rng, kp, geo)
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
