"""AutoPose for MMPose: searched-cell pose networks and their search.

Importing this package registers its models, loops and hooks in MMPose's
registries (use ``custom_imports=dict(imports=['autopose_mm'])`` in a config)
and routes local checkpoint loading through a ``weights_only`` loader with an
allow-list (:mod:`autopose_mm.utils.checkpoint`). It also lets MMPose's
keypoint drawing run on the pinned numpy (:mod:`autopose_mm.utils.compat`).
"""
from . import datasets, engine, models, utils  # noqa: F401  (registration)
from .utils import install_safe_loader
from .utils.compat import patch_pose_visualizer
from .version import __version__

install_safe_loader()
patch_pose_visualizer()

__all__ = ['__version__']
