"""The search loops, their hooks and optimiser constructor, and the guard
hooks that stop a run on a mismatched checkpoint or a non-finite loss."""
from .guards import (
    CheckpointGuardHook,
    CheckpointMismatchError,
    NonFiniteLossHook,
)
from .hooks import ArchGradientStatsHook, GenotypeExportHook
from .loops import (
    BiLevelSearchLoop,
    CellSearchLoop,
    SinglePathSearchLoop,
    split_in_halves,
)
from .optimizers import SearchOptimWrapperConstructor

__all__ = [
    'CheckpointGuardHook', 'CheckpointMismatchError', 'NonFiniteLossHook',
    'ArchGradientStatsHook', 'GenotypeExportHook', 'BiLevelSearchLoop',
    'CellSearchLoop', 'SinglePathSearchLoop', 'split_in_halves',
    'SearchOptimWrapperConstructor'
]
