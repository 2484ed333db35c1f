"""Person boxes from a detection-results file, served to MMPose's
inferencer in place of a detector."""
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from mmengine.structures import InstanceData

from ..utils.data_check import (
    DataFileError,
    box_problem,
    check_detections,
    read_data_json,
)


class _Detections:
    """What the inferencer reads from a detector's data sample."""

    def __init__(self, boxes: np.ndarray, scores: np.ndarray) -> None:
        self.pred_instances = InstanceData(
            bboxes=boxes,
            scores=scores,
            labels=np.zeros(len(scores), dtype=np.int64))


class DetectionFileBoxes:
    """Person boxes of images, read from a COCO detection-results file.

    The file is a list of ``{"image_id", "bbox": [x, y, w, h], "score"}``
    (what ``tools/test.py`` reads as ``bbox_file``). Image ids are matched
    to image files by the ``images`` list (``id``, ``file_name``) of a COCO
    annotation or image-info file; entries may instead carry a
    ``file_name`` themselves. Calling an instance as MMPose's inferencer
    calls its detector returns the boxes of that image (``x1, y1, x2, y2``
    and score), so the inferencer's score threshold and NMS apply as they
    would to a detector's boxes. An image without boxes is skipped with an
    empty result (the inferencer then uses the whole image).

    Args:
        det_file (str): The detection-results JSON.
        images_file (str, optional): A COCO JSON whose ``images`` name the
            files of the ids.
    """

    def __init__(self,
                 det_file: str,
                 images_file: Optional[str] = None) -> None:
        for what, path in (('detection file', det_file), ('images file',
                                                          images_file)):
            if path is not None and not osp.isfile(path):
                raise FileNotFoundError(f'{what} {path!r} does not exist')
        data = read_data_json(det_file, 'detection file')
        names: Dict[int, str] = {}
        if images_file is not None:
            info = read_data_json(images_file, 'images file')
            if not isinstance(info, dict) or not isinstance(
                    info.get('images'), list):
                raise DataFileError(
                    f'images file {images_file!r} has no "images" list of '
                    f'{{"id", "file_name"}} (a COCO annotation or image-info '
                    f'file)')
            bad = [
                i for i, img in enumerate(info['images'])
                if not isinstance(img, dict)
                or not isinstance(img.get('file_name'), str)
                or isinstance(img.get('id'), (list, dict, type(None)))
            ]
            if bad:
                raise DataFileError(
                    f'images file {images_file!r}: images{bad[:3]} are not '
                    f'{{"id", "file_name"}} entries')
            names = {
                img['id']: osp.basename(img['file_name'])
                for img in info['images']
            }
        if isinstance(data, list) and data and all(
                isinstance(d, dict) and isinstance(d.get('file_name'), str)
                for d in data):
            for d in data:  # entries that name their image directly
                d.setdefault('image_id', osp.basename(d['file_name']))
                names.setdefault(d['image_id'], osp.basename(d['file_name']))
        elif images_file is None:
            raise DataFileError(
                f'detection file {det_file!r} gives image ids: name the '
                f'annotation or image-info file that maps them to image '
                f'files (--det-images)')
        check_detections(det_file, data, {i: {} for i in names})
        self.boxes: Dict[str, List[List[float]]] = {}
        self.entries: Dict[str, List[int]] = {}
        for i, d in enumerate(data):
            x, y, w, h = d['bbox']
            name = names[d['image_id']]
            self.boxes.setdefault(name,
                                  []).append([x, y, x + w, y + h, d['score']])
            self.entries.setdefault(name, []).append(i)
        self.det_file = det_file

    def check_image(self, image: str, width: int, height: int) -> None:
        """Refuse the boxes of ``image`` that lie outside its ``width`` x
        ``height`` pixels or reach far past them.

        Raises:
            DataFileError: Naming the detection file, the first entries and
                the image.
        """
        name = osp.basename(image)
        bad = []
        for i, (x1, y1, x2, y2, _) in zip(
                self.entries.get(name, []), self.boxes.get(name, [])):
            problem = box_problem([x1, y1, x2 - x1, y2 - y1], width, height)
            if problem:
                bad.append(f'entry {i} (bbox [{x1:g}, {y1:g}, {x2 - x1:g}, '
                           f'{y2 - y1:g}]) {problem}')
        if bad:
            raise DataFileError(
                f'detection file {self.det_file!r}: {len(bad)} boxes of '
                f'image {image!r} are not in it: {"; ".join(bad[:3])}. '
                f'Boxes are [x, y, w, h] in the image\'s pixels')

    def __call__(self, image, **kwargs) -> Dict[str, list]:
        if not isinstance(image, str):
            raise ValueError(
                f'boxes from the detection file {self.det_file!r} are looked '
                f'up by image file name; they cannot serve video frames. Use '
                f'a detector (--det-model) or the whole frame')
        from PIL import Image
        with Image.open(image) as img:  # reads the header only
            self.check_image(image, *img.size)
        boxes = np.array(
            self.boxes.get(osp.basename(image), []),
            dtype=np.float32).reshape(-1, 5)
        return {'predictions': [_Detections(boxes[:, :4], boxes[:, 4])]}
