"""The search algorithms, each a model that owns its steps and writes its
genotype: differentiable (:class:`AutoPoseSearchEstimator`), bi-level
(:class:`AutoPoseBiLevelSearchEstimator`) and single-path
(:class:`AutoPoseSinglePathSearchEstimator`)."""
from .base import SearchEstimator, find_controller, heatmap_pck
from .bilevel import AutoPoseBiLevelSearchEstimator
from .differentiable import AutoPoseSearchEstimator
from .single_path import AutoPoseSinglePathSearchEstimator

__all__ = [
    'SearchEstimator', 'find_controller', 'heatmap_pck',
    'AutoPoseSearchEstimator', 'AutoPoseBiLevelSearchEstimator',
    'AutoPoseSinglePathSearchEstimator'
]
