"""The architecture search, registered in MMPose's registries.

- :mod:`~autopose_mm.search.space`: architecture weights and their
  sampling rules, mixed edges and cells, random genotypes, layouts;
- :mod:`~autopose_mm.search.supernets`: the search backbones and neck;
- :mod:`~autopose_mm.search.algorithms`: the search models, each owning
  its steps and its genotype (differentiable, bi-level, single-path);
- :mod:`~autopose_mm.search.costs`: analytic GMACs, latency tables and
  budgets;
- :mod:`~autopose_mm.search.selection`: choosing cells by scoring and
  short trainings;
- :mod:`~autopose_mm.search.loops`, :mod:`~autopose_mm.search.hooks`,
  :mod:`~autopose_mm.search.optimizers`: the MMEngine side;
- :mod:`~autopose_mm.search.training`, :mod:`~autopose_mm.search.evaluation`,
  :mod:`~autopose_mm.search.stats`, :mod:`~autopose_mm.search.plots`:
  running, judging and drawing searches.
"""
from .algorithms import (
    AutoPoseBiLevelSearchEstimator,
    AutoPoseSearchEstimator,
    AutoPoseSinglePathSearchEstimator,
)
from .hooks import ArchGradientStatsHook, GenotypeExportHook
from .loops import (
    BiLevelSearchLoop,
    CellSearchLoop,
    SinglePathSearchLoop,
    split_in_halves,
)
from .optimizers import SearchOptimWrapperConstructor
from .space import ArchParams, LayoutController, LayoutSpace
from .supernets import (
    AutoPoseBiLevelSearchNet,
    AutoPoseSearchDecoder,
    AutoPoseSearchNet,
)

__all__ = [
    'AutoPoseSearchEstimator', 'AutoPoseBiLevelSearchEstimator',
    'AutoPoseSinglePathSearchEstimator', 'ArchGradientStatsHook',
    'GenotypeExportHook', 'BiLevelSearchLoop', 'CellSearchLoop',
    'SinglePathSearchLoop', 'split_in_halves', 'SearchOptimWrapperConstructor',
    'ArchParams', 'LayoutController', 'LayoutSpace',
    'AutoPoseBiLevelSearchNet', 'AutoPoseSearchDecoder', 'AutoPoseSearchNet'
]
