"""The supernet: AutoPoseNet and AutoPoseDecoder built from a search space.

Both sit in MMPose's ``TopdownPoseEstimator`` as backbone and neck, under a
``HeatmapHead``, and train with the same datasets, pipelines and codec as the
fixed networks. The backbone owns the alphas of the ``normal`` and
``reduce`` cells, the neck those of the three decoder cells; each in an
:class:`ArchParams` module, which the search's optimiser constructor puts in
the architecture optimiser.
"""
from typing import Sequence

from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig

from .backbone import AutoPoseNet
from .decoder import AutoPoseDecoder
from .genotype import DECODER_CELLS, ENCODER_CELLS
from .operations import OPERATION_NAMES
from .search_space import ArchParams, SearchSpace

SEARCH_NORM_CFG = dict(type='BN', affine=False)


@MODELS.register_module()
class AutoPoseSearchNet(AutoPoseNet):
    """The searchable encoder: :class:`AutoPoseNet` whose normal and
    reduction cells are mixtures of every candidate operation.

    Args:
        candidates (Sequence[str]): Candidate operations (must include
            ``none``). Defaults to all of ARCHITECTURE.md's.
        nodes (int): Intermediate nodes per cell. Defaults to 4.
        partial_channels (int): K: 1/K of each edge's channels go through
            the candidates. Defaults to 4.
        norm_cfg (dict): Normalisation config; non-affine BN by default, as
            usual in differentiable search.
        **kwargs: ``arch``, ``num_cells``, ``base_channels``,
            ``reduction_indices`` and the other :class:`AutoPoseNet`
            arguments except ``genotype``.
    """

    def __init__(self,
                 candidates: Sequence[str] = OPERATION_NAMES,
                 nodes: int = 4,
                 partial_channels: int = 4,
                 norm_cfg: ConfigType = SEARCH_NORM_CFG,
                 init_cfg: OptMultiConfig = None,
                 **kwargs) -> None:
        if 'genotype' in kwargs:
            raise TypeError('AutoPoseSearchNet searches the cells; it takes '
                            'no genotype')
        arch_params = ArchParams(ENCODER_CELLS, nodes, candidates)
        super().__init__(
            genotype=SearchSpace(arch_params, partial_channels),
            norm_cfg=norm_cfg,
            init_cfg=init_cfg,
            **kwargs)
        self.arch_params = arch_params

    def resolve_genotype(self, genotype: SearchSpace) -> SearchSpace:
        return genotype


@MODELS.register_module()
class AutoPoseSearchDecoder(AutoPoseDecoder):
    """The searchable decoder neck (one stage): the three upsample cells are
    mixtures of every candidate operation.

    Args:
        in_channels (Sequence[int]): Channels of the backbone taps.
        candidates (Sequence[str]): Candidate operations.
        nodes (int): Intermediate nodes per cell. Defaults to 4.
        partial_channels (int): K of the partial-channel mixed operations.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Normalisation config (non-affine BN by default).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 candidates: Sequence[str] = OPERATION_NAMES,
                 nodes: int = 4,
                 partial_channels: int = 4,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = SEARCH_NORM_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        arch_params = ArchParams(DECODER_CELLS, nodes, candidates)
        super().__init__(
            in_channels,
            genotype=SearchSpace(arch_params, partial_channels),
            num_stages=1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            init_cfg=init_cfg)
        self.arch_params = arch_params

    def resolve_genotype(self, genotype: SearchSpace) -> SearchSpace:
        return genotype
