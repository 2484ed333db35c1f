"""AutoPose for MMPose: searched-cell pose networks and their search.

Importing this package registers its models (:mod:`autopose_mm.models`),
the search (:mod:`autopose_mm.search`), the guard hooks
(:mod:`autopose_mm.engine`) and the datasets in MMPose's registries (use
``custom_imports=dict(imports=['autopose_mm'])`` in a config), and applies
the patches of :mod:`autopose_mm.patches` (safe checkpoint loading, the
drawing fix).
"""
from . import datasets, deploy, engine, models, search, utils  # noqa: F401
from .patches import apply_patches
from .version import __version__

apply_patches()

__all__ = ['__version__']
