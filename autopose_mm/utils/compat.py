"""Compatibility of MMPose's drawing code with the pinned numpy.

MMPose 1.3.2's OpenCV drawing backend turns the radius of a keypoint circle
into a Python int with ``int(radius)``, and its pose visualiser passes that
radius as a one-element array (``np.array([3])``). numpy 2.4 no longer
converts arrays of one dimension to scalars, so every drawing of keypoints
(``PoseVisualizationHook``, ``MMPoseInferencer(vis_out_dir=...)``,
``--show-dir``) raises ``TypeError: only 0-dimensional arrays can be
converted to Python scalars``. :func:`patch_pose_visualizer` wraps that one
method so that it receives plain numbers; it changes nothing else.
"""
import functools
from typing import Any

import numpy as np


def _scalar(value: Any) -> Any:
    """A one-element array or tensor as a Python number; anything else
    unchanged."""
    if hasattr(value, 'detach'):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.reshape(()).item()
    return value


def _point(value: Any) -> Any:
    """A centre given as an array of shape (2, ) or (1, 2) as two Python
    numbers; anything else unchanged."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.size == 2:
        return tuple(float(v) for v in value.reshape(-1))
    return value


def patch_pose_visualizer() -> bool:
    """Make ``OpencvBackendVisualizer.draw_circles`` accept one-element
    arrays for the radius (and centre). Idempotent.

    Returns:
        bool: Whether the method was wrapped now (False when it already
        was).
    """
    from mmpose.visualization import opencv_backend_visualizer as backend
    OpencvBackendVisualizer = backend.OpencvBackendVisualizer
    original = OpencvBackendVisualizer.draw_circles
    if getattr(original, '_autopose_scalar_args', False):
        return False

    @functools.wraps(original)
    def draw_circles(self, center, radius, *args, **kwargs):
        if self.backend == 'opencv':
            center, radius = _point(center), _scalar(radius)
        return original(self, center, radius, *args, **kwargs)

    draw_circles._autopose_scalar_args = True
    OpencvBackendVisualizer.draw_circles = draw_circles
    return True
