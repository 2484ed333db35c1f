"""AutoPose models, registered in MMPose's ``MODELS`` registry.

The fixed networks (``operations``, ``cells``, ``backbone``, ``decoder``,
``estimator``) import nothing of the search; the search (``search_space``,
``supernet``, ``layout``, ``search_estimator``) builds the same networks
from mixed cells (see :mod:`autopose_mm.models.cells` for the seam).
"""
from .backbone import (
    ARCH_SETTINGS,
    AutoPoseNet,
    CellEncoder,
    CellStack,
    cells_to_reductions,
    default_reduction_indices,
    plan_cells,
    resolve_arch,
)
from .cells import (
    CellGraph,
    CellGraphs,
    EncoderCell,
    GenotypeGraphs,
    UpsampleCell,
)
from .decoder import AutoPoseDecoder, Decoder
from .estimator import AutoPoseEstimator
from .genotype import (
    CELL_TYPES,
    DECODER_CELLS,
    ENCODER_CELLS,
    CellGenotype,
    Genotype,
    load_genotype,
)
from .layout import LayoutController, LayoutSpace, analytic_macs
from .operations import (
    OPERATION_NAMES,
    OPERATION_SPECS,
    FactorizedReduce,
    OpSpec,
    PoolBN,
    ReLUConvBN,
    SEConnect,
    Zero,
    build_operation,
)
from .search_estimator import AutoPoseSearchEstimator, find_controller
from .search_space import (
    ArchParams,
    MixedCellGraph,
    MixedEdges,
    MixedGraphs,
    MixedOp,
    arch_modules,
    derive_genotype,
)
from .supernet import (
    AutoPoseBiLevelSearchNet,
    AutoPoseSearchDecoder,
    AutoPoseSearchNet,
)

__all__ = [
    'ARCH_SETTINGS', 'AutoPoseNet', 'CellEncoder', 'CellStack',
    'cells_to_reductions', 'plan_cells', 'resolve_arch',
    'default_reduction_indices', 'CellGraph', 'CellGraphs', 'EncoderCell',
    'GenotypeGraphs', 'UpsampleCell', 'AutoPoseDecoder', 'Decoder',
    'AutoPoseEstimator', 'CELL_TYPES', 'DECODER_CELLS', 'ENCODER_CELLS',
    'CellGenotype', 'Genotype', 'load_genotype', 'OPERATION_NAMES',
    'OPERATION_SPECS', 'OpSpec', 'FactorizedReduce', 'PoolBN', 'ReLUConvBN',
    'SEConnect', 'Zero', 'build_operation', 'ArchParams', 'MixedCellGraph',
    'MixedEdges', 'MixedGraphs', 'MixedOp', 'arch_modules', 'derive_genotype',
    'AutoPoseSearchDecoder', 'AutoPoseSearchNet', 'AutoPoseBiLevelSearchNet',
    'AutoPoseSearchEstimator', 'find_controller', 'LayoutController',
    'LayoutSpace', 'analytic_macs'
]
