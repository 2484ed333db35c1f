"""Is the search worth its compute? Searched cells and layouts against
random ones of equal cost, trained and evaluated identically
(:func:`compare`), with the statistics and pictures that judge them."""
from .compare import cell_level, compare, network_cost, network_level
from .progress import Progress
from .report import draw, entropy_rows, group_stats, print_table

__all__ = [
    'cell_level', 'compare', 'network_cost', 'network_level', 'Progress',
    'draw', 'entropy_rows', 'group_stats', 'print_table'
]
