"""Fail fast, before anything is built: dataset paths that are missing
(with the expected layout), and annotation or detection files whose content
is wrong (with the file's name and what to fix)."""
import math
import os.path as osp
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set

from mmengine.config import Config
from mmengine.logging import print_log

from .limits import StructureError, limit, read_structured

COCO_LAYOUT = """\
data/coco
|-- annotations
|   |-- person_keypoints_train2017.json
|   `-- person_keypoints_val2017.json
|-- person_detection_results
|   |-- COCO_val2017_detections_AP_H_56_person.json
|   `-- COCO_test-dev2017_detections_AP_H_609_person.json
`-- images
    |-- train2017
    |-- val2017
    `-- test2017 (only for the test-dev configs)"""

MPII_LAYOUT = """\
data/mpii
|-- annot
|   |-- gt_valid.mat
|   |-- train.json
|   `-- valid.json
`-- images"""


def _layout(dataset_type: str) -> str:
    if 'mpii' in dataset_type.lower():
        return MPII_LAYOUT
    return COCO_LAYOUT


def _join(root: str, path: Optional[str]) -> Optional[str]:
    if not path:
        return None
    return path if osp.isabs(path) or not root else osp.join(root, path)


def _datasets(cfg: dict) -> Iterable[dict]:
    """Yield a dataset config and, for wrappers, the datasets inside it."""
    yield cfg
    inner = cfg.get('datasets') or ([cfg['dataset']]
                                    if 'dataset' in cfg else [])
    for sub in inner:
        yield from _datasets(sub)


def check_data_paths(cfg: Config, loaders: Iterable[str]) -> None:
    """Check that the data of the given dataloaders exist.

    Looks at ``data_root``, ``ann_file`` and the image directory
    (``data_prefix['img']``), both relative to ``data_root`` as MMEngine
    reads them, and at ``bbox_file`` / ``headbox_file``, which MMPose reads
    relative to the working directory, of every dataset (including those
    inside dataset wrappers) of each named dataloader, and of the evaluators'
    ``ann_file``.

    Args:
        cfg (Config): The full config.
        loaders (Iterable[str]): Names such as ``'train_dataloader'``.

    Raises:
        FileNotFoundError: Names every missing path, what it is for, and the
            expected directory layout.
    """
    missing: List[str] = []
    layout = COCO_LAYOUT
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not loader_cfg or 'dataset' not in loader_cfg:
            continue
        for ds in _datasets(loader_cfg['dataset']):
            if 'ann_file' not in ds and 'data_root' not in ds:
                continue
            layout = _layout(str(ds.get('type', '')))
            root = ds.get('data_root', '') or ''
            if root and not osp.isdir(root):
                missing.append(f'{loader}: data_root {root!r}')
                continue
            checks = [('ann_file', _join(root,
                                         ds.get('ann_file')), osp.isfile),
                      ('bbox_file', ds.get('bbox_file'), osp.isfile),
                      ('headbox_file', ds.get('headbox_file'), osp.isfile)]
            prefix = ds.get('data_prefix') or {}
            checks.append(('image directory (data_prefix.img)',
                           _join(root, prefix.get('img')), osp.isdir))
            for what, path, exists in checks:
                if path and not exists(path):
                    missing.append(f'{loader}: {what} {path!r}')
    for evaluator in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(evaluator)
        if not ev or (evaluator == 'val_evaluator' and 'val_dataloader'
                      not in loaders) or (evaluator == 'test_evaluator' and
                                          'test_dataloader' not in loaders):
            continue
        for metric in ev if isinstance(ev, (list, tuple)) else [ev]:
            path = metric.get('ann_file')
            if path and not osp.isfile(path):
                missing.append(f'{evaluator}: ann_file {path!r}')
    if not missing:
        check_data_files(cfg, loaders)
        return
    if missing:
        lines = '\n  '.join(missing)
        raise FileNotFoundError(
            f'dataset files are missing:\n  {lines}\n'
            f'Expected layout (relative to the working directory, or set '
            f'data_root / ann_file / bbox_file with --cfg-options):\n'
            f'{layout}\n'
            f'To try the pipeline without downloading anything, generate '
            f'the sample data: python tools/misc/generate_sample_data.py')


class DataFileError(ValueError):
    """An annotation or detection file exists but its content is wrong."""


SHOWN = 3  # offending entries named in a message


def read_data_json(path: str, what: str) -> Any:
    """The parsed file (UTF-8 JSON, keys unique, at most
    ``limit('data_file_bytes')`` bytes)."""
    try:
        return read_structured(
            path, what, limit('data_file_bytes'), 0, yaml_ok=False)
    except StructureError as e:
        raise DataFileError(str(e)) from None


def _finite_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _numbers(value: Any, count: Optional[int] = None) -> bool:
    """``value`` is a list of finite numbers (of ``count`` values)."""
    return (isinstance(value, (list, tuple))
            and (count is None or len(value) == count)
            and all(_finite_number(v) for v in value))


def _complain(path: str, what: str, bad: List[str], total: int,
              fix: str) -> None:
    if bad:
        shown = '; '.join(bad[:SHOWN])
        more = f' (and {len(bad) - SHOWN} more)' if len(bad) > SHOWN else ''
        raise DataFileError(f'{what} {path!r}: {len(bad)} of {total} '
                            f'entries are wrong: {shown}{more}. {fix}')


def _keypoint_count(path: str, data: dict) -> Optional[int]:
    """Keypoints per person, from the person category's ``keypoints``."""
    counts = {
        len(c['keypoints'])
        for c in data['categories']
        if isinstance(c, dict) and isinstance(c.get('keypoints'), list)
    }
    if len(counts) > 1:
        raise DataFileError(
            f'annotation file {path!r}: the categories name different '
            f'numbers of keypoints ({sorted(counts)})')
    return counts.pop() if counts else None


def _annotation_problem(ann: Any, num_keypoints: Optional[int],
                        images: Dict[Any, Dict]) -> Optional[str]:
    """What is wrong with one COCO annotation, or None."""
    if not isinstance(ann, dict):
        return f'a {type(ann).__name__}, not a dict'
    lack = [k for k in ('image_id', 'bbox', 'keypoints') if k not in ann]
    if lack:
        return f'lacks {", ".join(lack)}'
    if isinstance(ann['image_id'], (list, dict)) or \
            ann['image_id'] not in images:
        return (f'image_id {ann["image_id"]!r} is not among the file\'s '
                f'images')
    if not _numbers(ann['bbox'], 4) or ann['bbox'][2] < 0 or \
            ann['bbox'][3] < 0:
        return f'bbox {ann["bbox"]!r} is not 4 finite numbers [x, y, w, h]'
    kpts = ann['keypoints']
    if isinstance(kpts, list) and num_keypoints is not None and len(
            kpts) != 3 * num_keypoints:
        return (f'{len(kpts)} keypoint values, but the category has '
                f'{num_keypoints} keypoints ({3 * num_keypoints} values)')
    if not _numbers(kpts) or len(kpts) % 3:
        return ('keypoints are not finite numbers in (x, y, visibility) '
                'triples')
    if any(v not in (0, 1, 2) for v in kpts[2::3]):
        return 'a keypoint visibility is not 0, 1 or 2'
    if 'num_keypoints' in ann and (not isinstance(ann['num_keypoints'], int)
                                   or isinstance(ann['num_keypoints'], bool)
                                   or ann['num_keypoints'] < 0):
        return (f'num_keypoints {ann["num_keypoints"]!r} is not a '
                f'non-negative integer')
    if 'area' in ann and (not _finite_number(ann['area']) or ann['area'] < 0):
        return f'area {ann["area"]!r} is not a finite number >= 0'
    if 'iscrowd' in ann and ann['iscrowd'] not in (0, 1):
        return f'iscrowd {ann["iscrowd"]!r} is not 0 or 1'
    return None


def check_coco_annotations(path: str, data: Any) -> Dict[int, Dict]:
    """Check a COCO keypoint annotation file; returns its images by id.

    Every annotation must be a dict with an ``image_id`` of the file's
    images, a ``bbox`` of 4 finite numbers, ``keypoints`` of finite (x, y,
    visibility) triples, one per keypoint of the category, visibilities 0,
    1 or 2, and, where given, an integer ``num_keypoints`` and a finite
    ``area`` >= 0 (COCO's evaluation weights people by it).

    Raises:
        DataFileError: Not a COCO dict, missing keys, wrong entries (the
            first few named), or no annotated person.
    """
    if not isinstance(data, dict):
        raise DataFileError(
            f'annotation file {path!r} holds a {type(data).__name__}; a COCO '
            f'keypoint file is a dict with "images", "annotations" and '
            f'"categories"')
    lacking = [
        k for k in ('images', 'annotations', 'categories') if k not in data
    ]
    if lacking:
        raise DataFileError(
            f'annotation file {path!r} lacks {", ".join(lacking)}; a COCO '
            f'keypoint file has "images", "annotations" and "categories"')
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(data[key], list):
            raise DataFileError(
                f'annotation file {path!r}: "{key}" is a '
                f'{type(data[key]).__name__}; it must be a list')
    images = {}
    for i, img in enumerate(data['images']):
        if not isinstance(img, dict) or 'id' not in img:
            raise DataFileError(
                f'annotation file {path!r}: images[{i}] is not a dict with '
                f'an "id"')
        if isinstance(img['id'], (list, dict)):
            raise DataFileError(
                f'annotation file {path!r}: images[{i}] has id '
                f'{img["id"]!r}; an image id is a number or a string')
        images[img['id']] = img
    num_keypoints = _keypoint_count(path, data)
    bad = []
    for i, ann in enumerate(data['annotations']):
        problem = _annotation_problem(ann, num_keypoints, images)
        if problem:
            bad.append(f'annotations[{i}] {problem}')
    _complain(
        path, 'annotation file', bad, len(data['annotations']),
        'Fix or drop these annotations (COCO keypoint format: '
        'https://cocodataset.org/#format-data)')
    people = [
        a for a in data['annotations']
        if a.get('num_keypoints', 1) > 0 and not a.get('iscrowd', 0)
    ]
    if not people:
        raise DataFileError(
            f'annotation file {path!r} has no annotated person (no '
            f'annotation with num_keypoints > 0); training and evaluation '
            f'need at least one')
    return images


def check_mpii_annotations(path: str, data: Any) -> None:
    """Check an MPII-style JSON list of people (``image``, ``joints``,
    ``center``, ``scale``), every number finite."""
    if not isinstance(data, list) or not data:
        raise DataFileError(
            f'annotation file {path!r} must be a non-empty list of people '
            f'(MPII format), got {type(data).__name__} of length '
            f'{len(data) if hasattr(data, "__len__") else "?"}')
    bad = []
    for i, person in enumerate(data):
        if not isinstance(person, dict):
            bad.append(f'entry {i} is a {type(person).__name__}, not a dict')
            continue
        lack = [
            k for k in ('image', 'joints', 'center', 'scale')
            if k not in person
        ]
        if lack:
            bad.append(f'entry {i} lacks {", ".join(lack)}')
        elif not (_numbers(person['center'], 2)
                  and _finite_number(person['scale']) and person['scale'] > 0
                  and isinstance(person['joints'], list)
                  and all(_numbers(j, 2) for j in person['joints'])):
            bad.append(f'entry {i} has a center, scale or joint that is not '
                       f'finite (scale must be > 0)')
    _complain(path, 'annotation file', bad, len(data),
              'Fix or drop these people')


def box_problem(box: Sequence[float], width: Optional[float],
                height: Optional[float]) -> Optional[str]:
    """What makes a person box ``[x, y, w, h]`` unusable, or None: no area,
    or (when the image size is known) no overlap with the image or a reach
    of more than one image size beyond it. A box overhanging the image a
    little, as detectors' boxes do, is fine.
    """
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        return 'has no area'
    if width is None or height is None:
        return None
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        return f'lies outside the {width:g}x{height:g} image'
    if x < -width or y < -height or x + w > 2 * width or \
            y + h > 2 * height:
        return (f'reaches more than the image size past the '
                f'{width:g}x{height:g} image')
    return None


def check_detections(path: str, data: Any,
                     images: Optional[Dict[int, Dict]]) -> None:
    """Check a person detection file: a list of ``image_id``, ``bbox``
    ``[x, y, w, h]`` (finite, ``w, h >= 0``) and a finite ``score``, for
    images of the annotation file. Warns when the boxes look like ``[x1,
    y1, x2, y2]``.

    Raises:
        DataFileError: Naming the file, the first wrong entries and the fix.
    """
    fmt = ('a list of {"image_id": int, "bbox": [x, y, w, h], "score": '
           'float} (COCO detection results)')
    if not isinstance(data, list) or not data:
        raise DataFileError(f'detection file {path!r} must be {fmt}; it is '
                            f'empty or not a list')
    unknown: Set[Any] = set()
    outside = 0
    bad = []
    for i, det in enumerate(data):
        if not isinstance(det, dict):
            bad.append(f'entry {i} is a {type(det).__name__}, not a dict')
            continue
        lack = [k for k in ('image_id', 'bbox', 'score') if k not in det]
        if lack:
            bad.append(f'entry {i} lacks {", ".join(lack)}')
            continue
        box = det['bbox']
        if not _numbers(box, 4) or box[2] < 0 or box[3] < 0:
            bad.append(f'entry {i} has bbox {box!r}, not 4 finite numbers '
                       f'[x, y, w, h] with w, h >= 0')
            continue
        if not _finite_number(det['score']):
            bad.append(f'entry {i} has score {det["score"]!r}, not a finite '
                       f'number')
            continue
        if isinstance(det['image_id'], (list, dict)):
            bad.append(f'entry {i} has image_id {det["image_id"]!r}')
            continue
        if images is None:
            if box_problem(box, None, None):
                bad.append(f'entry {i} has bbox {box!r}, which has no area')
            continue
        img = images.get(det['image_id'])
        if img is None:
            unknown.add(det['image_id'])
            continue
        sized = _numbers([img.get('width'), img.get('height')], 2)
        problem = box_problem(
            box, *((img['width'], img['height']) if sized else (None, None)))
        if problem:
            bad.append(f'entry {i} (image {det["image_id"]}) has bbox '
                       f'{box!r}, which {problem}')
        elif sized:
            x, y, w, h = box
            outside += (
                x + w > 1.05 * img['width'] or y + h > 1.05 * img['height'])
    _complain(path, 'detection file', bad, len(data),
              f'The file must be {fmt}')
    if unknown:
        shown = ', '.join(str(u) for u in sorted(unknown, key=str)[:5])
        raise DataFileError(
            f'detection file {path!r} has boxes for {len(unknown)} image ids '
            f'that the annotation file does not list (e.g. {shown}); use the '
            f'detections made for this split')
    if outside > len(data) / 2:
        print_log(
            f'detection file {path!r}: {outside} of {len(data)} boxes reach '
            f'past the image; are they [x1, y1, x2, y2]? They must be [x, y, '
            f'w, h]',
            logger='current',
            level=30)


def check_data_files(cfg: Config, loaders: Iterable[str]) -> None:
    """Read the annotation and detection files of the named dataloaders and
    check their content (see :func:`check_coco_annotations`,
    :func:`check_mpii_annotations`, :func:`check_detections`). Files larger
    than ``limit('data_file_bytes')`` are refused.

    Raises:
        DataFileError: For the first wrong file, naming it.
    """
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not loader_cfg or 'dataset' not in loader_cfg:
            continue
        for ds in _datasets(loader_cfg['dataset']):
            ann = _join(ds.get('data_root', '') or '', ds.get('ann_file'))
            if not ann or not ann.endswith('.json'):
                continue
            data = read_data_json(ann, 'annotation file')
            images = None
            if 'mpii' in str(ds.get('type', '')).lower():
                check_mpii_annotations(ann, data)
            else:
                images = check_coco_annotations(ann, data)
            bbox_file = ds.get('bbox_file')
            if bbox_file:
                dets = read_data_json(bbox_file, 'detection file')
                check_detections(bbox_file, dets, images)
