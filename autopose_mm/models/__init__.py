"""AutoPose models: operations, cells, the encoder backbone and the decoder
neck, all registered in MMPose's ``MODELS`` registry."""
from .backbone import (
    ARCH_SETTINGS,
    AutoPoseNet,
    CellStack,
    cells_to_reductions,
    default_reduction_indices,
)
from .cells import CellGraph, EncoderCell, UpsampleCell
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
    FactorizedReduce,
    PoolBN,
    ReLUConvBN,
    SEConnect,
    Zero,
    build_operation,
)
from .search_space import (
    ArchParams,
    MixedCellGraph,
    MixedEdges,
    MixedOp,
    SearchSpace,
    arch_modules,
    derive_genotype,
)
from .supernet import (
    AutoPoseBiLevelSearchNet,
    AutoPoseSearchDecoder,
    AutoPoseSearchNet,
)

__all__ = [
    'ARCH_SETTINGS', 'AutoPoseNet', 'CellStack', 'cells_to_reductions',
    'default_reduction_indices', 'CellGraph', 'EncoderCell', 'UpsampleCell',
    'AutoPoseDecoder', 'Decoder', 'AutoPoseEstimator', 'CELL_TYPES',
    'DECODER_CELLS', 'ENCODER_CELLS', 'CellGenotype', 'Genotype',
    'load_genotype', 'OPERATION_NAMES', 'FactorizedReduce', 'PoolBN',
    'ReLUConvBN', 'SEConnect', 'Zero', 'build_operation', 'ArchParams',
    'MixedCellGraph', 'MixedEdges', 'MixedOp', 'SearchSpace', 'arch_modules',
    'derive_genotype', 'AutoPoseSearchDecoder', 'AutoPoseSearchNet',
    'AutoPoseBiLevelSearchNet', 'LayoutController', 'LayoutSpace',
    'analytic_macs'
]
