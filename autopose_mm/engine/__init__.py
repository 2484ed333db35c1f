"""The search loop, its hook and its optimiser constructor."""
from .hooks import GenotypeExportHook
from .loops import BiLevelSearchLoop, CellSearchLoop, split_in_halves
from .optimizers import SearchOptimWrapperConstructor

__all__ = [
    'GenotypeExportHook', 'BiLevelSearchLoop', 'CellSearchLoop', 'split_in_halves',
    'SearchOptimWrapperConstructor'
]
