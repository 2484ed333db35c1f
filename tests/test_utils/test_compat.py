"""MMPose's keypoint drawing on the pinned numpy."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample
from mmpose.visualization import PoseLocalVisualizer, opencv_backend_visualizer

import autopose_mm  # noqa: F401  (applies the patch)
from autopose_mm.datasets import COCO_SKELETON
from autopose_mm.utils.compat import patch_pose_visualizer

OpencvBackendVisualizer = opencv_backend_visualizer.OpencvBackendVisualizer


def test_exact_failing_call_draws():
    vis = OpencvBackendVisualizer(name='compat_exact', backend='opencv')
    img = np.zeros((40, 40, 3), np.uint8)
    vis.set_image(img)
    # the call PoseLocalVisualizer makes: a one-element radius array
    vis.draw_circles(
        np.array([20.0, 20.0]), radius=np.array([3]), face_colors=(255, 0, 0))
    out = vis.get_image()
    assert out[20, 20].tolist() == [255, 0, 0]
    assert out[0, 0].tolist() == [0, 0, 0]
    vis.draw_circles(
        torch.tensor([5.0, 5.0]),
        radius=torch.tensor([2.0]),
        face_colors=(0, 255, 0))
    b, g, r = vis.get_image()[5, 5].tolist()
    assert g > 200 and b == r == 0


def test_patch_is_idempotent():
    assert patch_pose_visualizer() is False
    assert OpencvBackendVisualizer.draw_circles._autopose_scalar_args


@pytest.mark.parametrize('backend', ['opencv', 'matplotlib'])
def test_pose_visualizer_draws_a_skeleton(backend, tmp_path):
    vis = PoseLocalVisualizer(
        name=f'compat_{backend}', backend=backend, radius=3, line_width=2)
    vis.set_dataset_meta(
        dict(
            dataset_name='coco',
            num_keypoints=17,
            skeleton_links=[(a - 1, b - 1) for a, b in COCO_SKELETON],
            keypoint_colors=np.full((17, 3), 255, np.uint8),
            skeleton_link_colors=np.full((len(COCO_SKELETON), 3), 200,
                                         np.uint8)))
    kpts = np.stack([np.linspace(10, 50, 17), np.linspace(10, 70, 17)], 1)
    sample = PoseDataSample()
    sample.pred_instances = InstanceData(
        keypoints=kpts[None],
        keypoint_scores=np.ones((1, 17)),
        bboxes=np.array([[5., 5., 55., 75.]]))
    img = np.zeros((80, 64, 3), np.uint8)
    out_file = str(tmp_path / f'{backend}.png')
    drawn = vis.add_datasample(
        'x', img, sample, draw_gt=False, out_file=out_file)
    assert drawn.shape == img.shape and drawn.sum() > 0
    assert (tmp_path / f'{backend}.png').is_file()
