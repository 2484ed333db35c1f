"""The fixed AutoPose networks, registered in MMPose's ``MODELS`` registry:
candidate operations (``operations``), cells (``cells``), the network plan
(``plan``), the encoder (``backbone``), the decoder neck (``decoder``), the
estimator (``estimator``) and the genotype format (``genotype``). They
import nothing of the search (:mod:`autopose_mm.search`), which builds the
same networks from mixed cells through the :class:`CellGraphs` seam.
"""
from .backbone import (
    ARCH_SETTINGS,
    AutoPoseNet,
    CellEncoder,
    CellStack,
    default_reduction_indices,
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
    edge_stride,
    load_genotype,
)
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
    register_operation,
)
from .plan import (
    CellPlan,
    NetworkPlan,
    cells_to_reductions,
    plan_decoder,
    plan_network,
    plan_stack,
    reductions_to_cells,
)

__all__ = [
    'ARCH_SETTINGS', 'AutoPoseNet', 'CellEncoder', 'CellStack', 'resolve_arch',
    'default_reduction_indices', 'CellGraph', 'CellGraphs', 'EncoderCell',
    'GenotypeGraphs', 'UpsampleCell', 'AutoPoseDecoder', 'Decoder',
    'AutoPoseEstimator', 'CELL_TYPES', 'DECODER_CELLS', 'ENCODER_CELLS',
    'CellGenotype', 'Genotype', 'edge_stride', 'load_genotype',
    'OPERATION_NAMES', 'OPERATION_SPECS', 'OpSpec', 'FactorizedReduce',
    'PoolBN', 'ReLUConvBN', 'SEConnect', 'Zero', 'build_operation',
    'register_operation', 'CellPlan', 'NetworkPlan', 'cells_to_reductions',
    'reductions_to_cells', 'plan_decoder', 'plan_network', 'plan_stack'
]
