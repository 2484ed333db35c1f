"""Every change this package makes to other libraries, in one place.

Importing :mod:`autopose_mm` (directly, or through
``custom_imports=dict(imports=['autopose_mm'])`` in a config, which is how
MMPose's own tools and ``mim`` get them) applies each of :data:`PATCHES`
once; docs/architecture.md lists what each does and why.

- ``safe_checkpoint_loading``: MMEngine's loader of local checkpoint files
  (the ``''`` scheme of ``CheckpointLoader``) becomes
  :func:`~autopose_mm.utils.checkpoint.load_from_local_safely`, which reads
  with ``torch.load(weights_only=True)`` and an allow-list of the classes
  MMEngine's checkpoints hold, and bounds the file's records.
- ``pose_visualizer_radius``: MMPose's
  ``OpencvBackendVisualizer.draw_circles`` (which ``PoseLocalVisualizer``
  draws keypoints with) receives the radius and centre as plain numbers,
  which the pinned numpy needs (:mod:`autopose_mm.utils.compat`).
- ``atomic_checkpoints``: MMEngine's runner writes checkpoints, and its
  checkpoint hook the ``last_checkpoint`` pointer, through a temporary file
  and a rename; its auto-resume finds the newest checkpoint that loads
  when the pointer is empty or names a damaged file
  (:mod:`autopose_mm.engine.resume`).
"""
from typing import Callable, Dict

from .engine.resume import install_checkpoint_writes
from .utils.checkpoint import install_safe_loader
from .utils.compat import patch_pose_visualizer

PATCHES: Dict[str, Callable[[], object]] = {
    'safe_checkpoint_loading': install_safe_loader,
    'pose_visualizer_radius': patch_pose_visualizer,
    'atomic_checkpoints': install_checkpoint_writes,
}

_applied: Dict[str, object] = {}


def apply_patches() -> Dict[str, object]:
    """Apply every patch of :data:`PATCHES` that is not applied yet.

    Returns:
        dict: Per patch name, what its function returned when applied.
    """
    for name, patch in PATCHES.items():
        if name not in _applied:
            _applied[name] = patch()
    return dict(_applied)
