"""Fail fast, before anything is built: dataset paths that are missing
(with the expected layout), and annotation or detection files whose content
is wrong (with the file's name and what to fix)."""
import json
import os.path as osp
from typing import Any, Dict, Iterable, List, Optional, Set

from mmengine.config import Config
from mmengine.logging import print_log

# files above this size are left to the dataset to parse (COCO's training
# annotations are 240 MB); the checks below read the smaller ones up front
MAX_CHECKED_BYTES = 64 * 2**20

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


def _read_json(path: str, what: str) -> Optional[Any]:
    """The parsed file, or None when it is too large to check up front."""
    if osp.getsize(path) > MAX_CHECKED_BYTES:
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DataFileError(
            f'{what} {path!r} is not valid JSON: {e.msg} (line {e.lineno}, '
            f'column {e.colno})') from None
    except UnicodeDecodeError:
        raise DataFileError(f'{what} {path!r} is not a JSON text file '
                            f'(it is binary)') from None


def check_coco_annotations(path: str, data: Any) -> Dict[int, Dict]:
    """Check a COCO keypoint annotation file; returns its images by id.

    Raises:
        DataFileError: Not a COCO dict, missing keys, or no annotated person.
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
    for i, ann in enumerate(data['annotations']):
        lack = [k for k in ('image_id', 'bbox', 'keypoints') if k not in ann]
        if lack:
            raise DataFileError(
                f'annotation file {path!r}: annotations[{i}] lacks '
                f'{", ".join(lack)}')
    people = [
        a for a in data['annotations']
        if a.get('num_keypoints', 1) > 0 and not a.get('iscrowd', 0)
    ]
    if not people:
        raise DataFileError(
            f'annotation file {path!r} has no annotated person (no '
            f'annotation with num_keypoints > 0); training and evaluation '
            f'need at least one')
    images = {}
    for i, img in enumerate(data['images']):
        if 'id' not in img:
            raise DataFileError(
                f'annotation file {path!r}: images[{i}] lacks "id"')
        images[img['id']] = img
    return images


def check_mpii_annotations(path: str, data: Any) -> None:
    """Check an MPII-style JSON list of people (``image``, ``joints``,
    ``center``, ``scale``)."""
    if not isinstance(data, list) or not data:
        raise DataFileError(
            f'annotation file {path!r} must be a non-empty list of people '
            f'(MPII format), got {type(data).__name__} of length '
            f'{len(data) if hasattr(data, "__len__") else "?"}')
    for i, person in enumerate(data):
        lack = [
            k for k in ('image', 'joints', 'center', 'scale')
            if k not in person
        ]
        if lack:
            raise DataFileError(f'annotation file {path!r}: entry {i} '
                                f'lacks {", ".join(lack)}')


def check_detections(path: str, data: Any,
                     images: Optional[Dict[int, Dict]]) -> None:
    """Check a person detection file: a list of ``image_id``, ``bbox``
    ``[x, y, w, h]`` and ``score``, for images of the annotation file.
    Warns when the boxes look like ``[x1, y1, x2, y2]``.

    Raises:
        DataFileError: Naming the file, the entry and the fix.
    """
    fmt = ('a list of {"image_id": int, "bbox": [x, y, w, h], "score": '
           'float} (COCO detection results)')
    if not isinstance(data, list) or not data:
        raise DataFileError(f'detection file {path!r} must be {fmt}; it is '
                            f'empty or not a list')
    unknown: Set[Any] = set()
    outside = 0
    for i, det in enumerate(data):
        if not isinstance(det, dict):
            raise DataFileError(f'detection file {path!r}: entry {i} is not '
                                f'a dict; the file must be {fmt}')
        lack = [k for k in ('image_id', 'bbox', 'score') if k not in det]
        if lack:
            raise DataFileError(f'detection file {path!r}: entry {i} lacks '
                                f'{", ".join(lack)}; the file must be {fmt}')
        box = det['bbox']
        if not isinstance(box, (list, tuple)) or len(box) != 4:
            raise DataFileError(
                f'detection file {path!r}: entry {i} has bbox {box!r}; a box '
                f'is 4 numbers [x, y, w, h]')
        if images is None:
            continue
        img = images.get(det['image_id'])
        if img is None:
            unknown.add(det['image_id'])
        elif 'width' in img and 'height' in img:
            x, y, w, h = box
            outside += (
                x + w > 1.05 * img['width'] or y + h > 1.05 * img['height'])
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
    than ``MAX_CHECKED_BYTES`` are left to the dataset.

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
            data = _read_json(ann, 'annotation file')
            images = None
            if data is not None:
                if 'mpii' in str(ds.get('type', '')).lower():
                    check_mpii_annotations(ann, data)
                else:
                    images = check_coco_annotations(ann, data)
            bbox_file = ds.get('bbox_file')
            if bbox_file:
                dets = _read_json(bbox_file, 'detection file')
                if dets is not None:
                    check_detections(bbox_file, dets, images)
