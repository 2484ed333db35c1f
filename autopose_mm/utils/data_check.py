"""Fail fast, with the expected layout, when a dataset path is missing."""
import os.path as osp
from typing import Iterable, List, Optional

from mmengine.config import Config

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
            checks = [('ann_file', _join(root, ds.get('ann_file')), osp.isfile),
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
        if not ev or (evaluator == 'val_evaluator'
                      and 'val_dataloader' not in loaders) or (
                          evaluator == 'test_evaluator'
                          and 'test_dataloader' not in loaders):
            continue
        for metric in ev if isinstance(ev, (list, tuple)) else [ev]:
            path = metric.get('ann_file')
            if path and not osp.isfile(path):
                missing.append(f'{evaluator}: ann_file {path!r}')
    if missing:
        lines = '\n  '.join(missing)
        raise FileNotFoundError(
            f'dataset files are missing:\n  {lines}\n'
            f'Expected layout (relative to the working directory, or set '
            f'data_root / ann_file / bbox_file with --cfg-options):\n'
            f'{layout}\n'
            f'To try the pipeline without downloading anything, generate '
            f'the sample data: python tools/misc/generate_sample_data.py')
