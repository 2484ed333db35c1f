"""The search loop, its hook and its optimiser constructor."""
from .hooks import ArchGradientStatsHook, GenotypeExportHook
from .loops import BiLevelSearchLoop, CellSearchLoop, split_in_halves
from .optimizers import SearchOptimWrapperConstructor

__all__ = [
    'ArchGradientStatsHook', 'GenotypeExportHook', 'BiLevelSearchLoop', 'CellSearchLoop', 'split_in_halves',
    'SearchOptimWrapperConstructor'
]
