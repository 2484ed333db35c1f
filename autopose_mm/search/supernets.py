"""The supernets: AutoPoseNet's and AutoPoseDecoder's structure built from
mixed cells (:class:`~autopose_mm.search.space.MixedGraphs` instead of
a genotype's :class:`~autopose_mm.models.cells.GenotypeGraphs`).

Both sit in MMPose's ``TopdownPoseEstimator`` as backbone and neck, under a
``HeatmapHead``, and train with the same datasets, pipelines and codec as the
fixed networks. The backbone owns the alphas of the ``normal`` and
``reduce`` cells, the neck those of the three decoder cells; each in an
:class:`ArchParams` module, which the search's optimiser constructor puts in
the architecture optimiser.
"""
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.dist import broadcast, get_rank
from mmengine.model import BaseModule
from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from ..models.backbone import CellEncoder, build_stem, resolve_arch
from ..models.cells import EncoderCell, run_graph
from ..models.decoder import Decoder
from ..models.genotype import DECODER_CELLS, ENCODER_CELLS
from ..models.operations import OPERATION_NAMES, FactorizedReduce
from ..models.plan import plan_network
from .space import (
    ArchParams,
    Layout,
    LayoutController,
    LayoutSpace,
    MixedGraphs,
)

SEARCH_NORM_CFG = dict(type='BN', affine=False)


@MODELS.register_module()
class AutoPoseSearchNet(CellEncoder):
    """The searchable encoder: :class:`AutoPoseNet`'s stem and cell stack
    with every cell a mixture of every candidate operation.

    It owns the :class:`ArchParams` of the ``normal`` and ``reduce`` cells
    and passes their weights to the cells in every forward pass.

    Args:
        candidates (Sequence[str]): Candidate operations (must include
            ``none``). Defaults to all of docs/architecture.md's.
        nodes (int): Intermediate nodes per cell. Defaults to 4.
        partial_channels (int): K: 1/K of each edge's channels go through
            the candidates. Defaults to 4.
        gumbel_tau (float, optional): Sample one operation per edge in
            every training pass (the ``GumbelSampling`` rule of
            :mod:`autopose_mm.search.space`) instead of mixing all of them.
            Defaults to None (mixing).
        sample_paths (bool): Run one random derived-shaped cell per cell
            type in every training pass (the ``SinglePathSampling`` rule;
            single-path one-shot search). Defaults to False.
        arch, num_cells, base_channels, reduction_indices: As for
            :class:`AutoPoseNet`.
        in_channels (int): Image channels. Defaults to 3.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Normalisation config; non-affine BN by default, as
            usual in differentiable search.
        norm_eval (bool): Keep normalisation layers in eval mode.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 candidates: Sequence[str] = OPERATION_NAMES,
                 nodes: int = 4,
                 partial_channels: int = 4,
                 gumbel_tau: Optional[float] = None,
                 sample_paths: bool = False,
                 arch: Optional[str] = 'L12-C32',
                 num_cells: Optional[int] = None,
                 base_channels: Optional[int] = None,
                 reduction_indices: Optional[Sequence[int]] = None,
                 in_channels: int = 3,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = SEARCH_NORM_CFG,
                 norm_eval: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        arch_params = ArchParams(
            ENCODER_CELLS,
            nodes,
            candidates,
            gumbel_tau=gumbel_tau,
            sample_paths=sample_paths)
        super().__init__(
            MixedGraphs(arch_params, partial_channels),
            resolve_arch(arch, num_cells, base_channels, reduction_indices),
            in_channels=in_channels,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            norm_eval=norm_eval,
            init_cfg=init_cfg)
        self.arch_params = arch_params

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return super().forward(x, self.arch_params.cell_weights())


@MODELS.register_module()
class AutoPoseSearchDecoder(BaseModule):
    """The searchable decoder neck (one stage): the three upsample cells are
    mixtures of every candidate operation. Like :class:`AutoPoseDecoder`
    with ``num_stages=1``, it returns the 1/4-resolution feature after a
    ReLU.

    Args:
        in_channels (Sequence[int]): Channels of the backbone taps.
        candidates (Sequence[str]): Candidate operations.
        nodes (int): Intermediate nodes per cell. Defaults to 4.
        partial_channels (int): K of the partial-channel mixed operations.
        gumbel_tau (float, optional): As in :class:`AutoPoseSearchNet`.
        sample_paths (bool): As in :class:`AutoPoseSearchNet`.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Normalisation config (non-affine BN by default).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 candidates: Sequence[str] = OPERATION_NAMES,
                 nodes: int = 4,
                 partial_channels: int = 4,
                 gumbel_tau: Optional[float] = None,
                 sample_paths: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = SEARCH_NORM_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.arch_params = ArchParams(
            DECODER_CELLS,
            nodes,
            candidates,
            gumbel_tau=gumbel_tau,
            sample_paths=sample_paths)
        self.in_channels = tuple(in_channels)
        self.out_channels = self.in_channels[0]
        self.num_stages = 1
        self.decoder = Decoder(
            self.in_channels,
            MixedGraphs(self.arch_params, partial_channels),
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, taps: Sequence[Tensor]) -> Tuple[Tensor]:
        decoded = self.decoder(taps, self.arch_params.cell_weights())
        return (self.relu(decoded[0]), )


@MODELS.register_module()
class AutoPoseBiLevelSearchNet(BaseBackbone):
    """The supernet of the bi-level search: searchable cells (as in
    :class:`AutoPoseSearchNet`) and a searchable network level, i.e. how
    many cells each of the four scales gets.

    Every scale holds as many cells as any layout of the
    :class:`LayoutSpace` gives it; a layout ``(n1, n2, n3, n4)`` runs the
    first ``n_s`` cells of scale ``s``, so a cell's weights are shared by
    every layout. The first cell of a scale reduces the resolution. The
    forward passes inside :meth:`use_layout` run that layout, the others the
    controller's most probable one.

    Args:
        base_channels (int): C.
        num_cells (int | Sequence[int]): Allowed totals L (one value fixes
            the depth).
        min_cells (int): Fewest cells per scale.
        max_cells (int, optional): Most cells per scale.
        candidates (Sequence[str]): Candidate operations of the cells.
        nodes (int): Intermediate nodes per cell.
        partial_channels (int): K of the partial-channel mixed operations.
        baseline_momentum (float): Momentum of the controller's baseline.
        entropy_weight (float): The controller's entropy bonus.
        in_channels (int): Image channels.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Normalisation config (non-affine BN by default).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 base_channels: int = 32,
                 num_cells: Union[int, Sequence[int]] = 12,
                 min_cells: int = 1,
                 max_cells: Optional[int] = None,
                 candidates: Sequence[str] = OPERATION_NAMES,
                 nodes: int = 4,
                 partial_channels: int = 4,
                 baseline_momentum: float = 0.9,
                 entropy_weight: float = 1e-3,
                 in_channels: int = 3,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = SEARCH_NORM_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        resolve_arch(None, 4, base_channels, (1, 2, 3))  # validates C
        C = self.base_channels = base_channels
        self.space = LayoutSpace(num_cells, min_cells, max_cells)
        self.controller = LayoutController(self.space, baseline_momentum,
                                           entropy_weight)
        self.arch_params = ArchParams(ENCODER_CELLS, nodes, candidates)
        graphs = MixedGraphs(self.arch_params, partial_channels)
        self.active_layout: Optional[Layout] = None
        self.stem0, self.stem1 = build_stem(in_channels, C, conv_cfg, norm_cfg)
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        # the cells of the deepest layout, as a fixed network lays them out
        deepest = self.space.max_per_scale
        net = plan_network(deepest, C, nodes)
        plan = iter(net.cells)
        out = net.stack.tap_channels  # 2C .. 16C
        self.out_channels = tuple(out)
        self.cells = nn.ModuleList()
        self.skip_proj = nn.ModuleList()
        for s, count in enumerate(deepest):
            scale = nn.ModuleList()
            for i in range(count):
                p = next(plan)
                # a scale's first cell reads the last output of the scale
                # before as both inputs (a layout with one cell there feeds
                # the older one through skip_proj instead)
                prev_prev = (
                    p.prev_channels if p.reduction else p.prev_prev_channels)
                scale.append(
                    EncoderCell(
                        prev_prev,
                        p.prev_channels,
                        p.channels,
                        graphs,
                        reduction=p.reduction,
                        reduction_prev=p.reduction_prev,
                        **cfg))
            self.cells.append(scale)
            if s >= 2:
                # older input of the reduction cell when the scale before
                # has a single cell: the last cell two scales up (2x size)
                self.skip_proj.append(
                    FactorizedReduce(out[s - 2], out[s] // nodes, conv_cfg,
                                     norm_cfg))

    def sample_layout(self) -> Layout:
        """A layout drawn from the controller on rank 0 and shared by all
        ranks."""
        index = torch.tensor(
            [self.controller.sample() if get_rank() == 0 else 0])
        broadcast(index, src=0)
        return self.space.layouts[int(index)]

    @contextmanager
    def use_layout(self, layout: Sequence[int]) -> Iterator[None]:
        """Run ``layout`` in the forward passes inside the block."""
        layout = tuple(layout)
        if layout not in self.space.layouts:
            raise ValueError(f'layout {layout} is not in the layout space '
                             f'({len(self.space)} layouts)')
        saved, self.active_layout = self.active_layout, layout
        try:
            yield
        finally:
            self.active_layout = saved

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        layout = self.active_layout or self.controller.best()
        weights = self.arch_params.cell_weights()
        s0 = self.stem0(x)
        s1 = self.stem1(s0)
        taps = []
        for s, count in enumerate(layout):
            for i in range(count):
                cell = self.cells[s][i]
                w = weights[cell.cell_type]
                if s >= 2 and i == 0 and layout[s - 1] == 1:
                    out = run_graph(cell.graph, self.skip_proj[s - 2](s0),
                                    cell.preprocess1(s1), w)
                else:
                    out = cell(s0, s1, w)
                s0, s1 = s1, out
            taps.append(s1)
        return tuple(taps)
