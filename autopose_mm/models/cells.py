"""Cells: a DAG of operations over two inputs.

A cell projects its two inputs (the outputs of the two cells before it, older
first) to the cell width, computes its intermediate nodes and concatenates
them. :class:`EncoderCell` keeps or halves the resolution;
:class:`UpsampleCell` fuses a coarser decoded feature with an encoder tap one
scale finer.

The node graph inside a cell comes from a :class:`CellGraphs` factory, the
one seam between the networks and their search: :class:`GenotypeGraphs`
builds the fixed :class:`CellGraph` of a genotype; the search builds mixed
graphs, which take the architecture weights as a forward argument
(``cell(s0, s1, weights)``). The networks pass ``weights`` through and
know nothing else of the search.
"""
from typing import Dict, List, Optional, Protocol, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor

from .genotype import CellGenotype, Genotype, edge_stride
from .operations import (
    DEFAULT_NORM_CFG,
    FactorizedReduce,
    ReLUConvBN,
    build_operation,
    run_shared_input,
    shared_input_key,
)


class CellGraph(nn.Module):
    """The intermediate nodes of a cell with fixed operations.

    Edges whose operation is a ReLU-conv-BN of the same shape and read the
    same state run as one convolution (their weights concatenated on the
    fly, each keeping its own normalisation): the result is the same, and
    wider convolutions are faster than several narrow ones.

    Args:
        genotype (CellGenotype): The operations and inputs of every node.
        channels (int): Width of every state in the cell.
        reduction (bool): Use stride 2 on the edges that read the cell
            inputs.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Config of the normalisation layers.
    """

    def __init__(self,
                 genotype: CellGenotype,
                 channels: int,
                 reduction: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        self.ops = nn.ModuleList()
        self.sources: List[List[int]] = []
        groups: Dict[tuple, List[int]] = {}
        for node in genotype.edges:
            sources = []
            for op_name, src in node:
                stride = edge_stride(reduction, src)
                op = build_operation(op_name, channels, stride, conv_cfg,
                                     norm_cfg)
                key = shared_input_key(op)
                if key is not None:
                    groups.setdefault((src, ) + key, []).append(len(self.ops))
                self.ops.append(op)
                sources.append(src)
            self.sources.append(sources)
        self.concat = list(genotype.concat)
        # per state, the groups of edges computed together
        self.fused: List[List[List[int]]] = [
            [] for _ in range(2 + len(genotype.edges))
        ]
        for key, members in groups.items():
            if len(members) > 1:
                self.fused[key[0]].append(members)

    def _run_fused(self, members: List[int], x: Tensor,
                   out: Dict[int, Tensor]) -> None:
        results = run_shared_input([self.ops[i] for i in members], x)
        out.update(zip(members, results))

    def forward(self, s0: Tensor, s1: Tensor) -> Tensor:
        states = [s0, s1]
        ready: Dict[int, Tensor] = {}
        for s in (0, 1):
            for members in self.fused[s]:
                self._run_fused(members, states[s], ready)
        i = 0
        for sources in self.sources:
            node = None
            for src in sources:
                out = ready.pop(i) if i in ready else self.ops[i](states[src])
                node = out if node is None else node + out
                i += 1
            states.append(node)
            for members in self.fused[len(states) - 1]:
                self._run_fused(members, node, ready)
        return torch.cat([states[i] for i in self.concat], dim=1)


# The architecture weights of one mixed cell: (op weights (edges, ops),
# edge weights (edges, )).
CellWeights = Tuple[Tensor, Tensor]


class CellGraphs(Protocol):
    """Builds the node graph of every cell of a network.

    A fixed network uses :class:`GenotypeGraphs`; the search supernet its
    mixed graphs (``autopose_mm.search.space.MixedGraphs``).
    """

    def multiplier(self, cell_type: str) -> int:
        """How many node outputs the cell concatenates."""

    def build(self, cell_type: str, channels: int, reduction: bool,
              conv_cfg: OptConfigType, norm_cfg: ConfigType) -> nn.Module:
        """The graph of a ``cell_type`` cell of width ``channels``: a module
        called as ``graph(s0, s1)`` (fixed) or ``graph(s0, s1, weights)``
        (mixed)."""


class GenotypeGraphs:
    """The fixed :class:`CellGraph` of every cell type of a genotype.

    Args:
        genotype (Genotype): The cells.
    """

    def __init__(self, genotype: Genotype) -> None:
        self.genotype = genotype

    def multiplier(self, cell_type: str) -> int:
        return len(self.genotype.cells[cell_type].concat)

    def build(self, cell_type: str, channels: int, reduction: bool,
              conv_cfg: OptConfigType, norm_cfg: ConfigType) -> CellGraph:
        return CellGraph(self.genotype.cells[cell_type], channels, reduction,
                         conv_cfg, norm_cfg)


def run_graph(graph: nn.Module, s0: Tensor, s1: Tensor,
              weights: Optional[CellWeights]) -> Tensor:
    """Call a cell's graph: with its architecture weights when given (a
    mixed graph), without them otherwise (a fixed graph)."""
    return graph(s0, s1) if weights is None else graph(s0, s1, weights)


class BaseCell(BaseModule):
    """Shared part of all cells: two input projections and the node graph.

    Subclasses build ``preprocess0``, ``preprocess1`` and ``graph`` (from a
    :class:`CellGraphs`) and set ``cell_type``.
    """

    cell_type: str

    def __init__(self, init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)

    def forward(self,
                s0: Tensor,
                s1: Tensor,
                weights: Optional[CellWeights] = None) -> Tensor:
        """``weights``: the architecture weights of a mixed cell; None for
        a fixed one."""
        return run_graph(self.graph, self.preprocess0(s0),
                         self.preprocess1(s1), weights)


@MODELS.register_module()
class EncoderCell(BaseCell):
    """A normal (stride 1) or reduction (stride 2) encoder cell.

    Args:
        prev_prev_channels (int): Channels of the older input.
        prev_channels (int): Channels of the newer input.
        channels (int): Width of every node; the cell outputs
            ``graphs.multiplier(cell_type) * channels``.
        graphs (CellGraphs): Builds the node graph (cell type ``'reduce'``
            when ``reduction``, else ``'normal'``).
        reduction (bool): Whether this cell halves the resolution.
        reduction_prev (bool): Whether the previous cell halved it, so that
            the older input is twice as large as the newer one.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Config of the normalisation layers.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 prev_prev_channels: int,
                 prev_channels: int,
                 channels: int,
                 graphs: CellGraphs,
                 reduction: bool = False,
                 reduction_prev: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.reduction = reduction
        self.cell_type = 'reduce' if reduction else 'normal'
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(prev_prev_channels, channels,
                                                conv_cfg, norm_cfg)
        else:
            self.preprocess0 = ReLUConvBN(prev_prev_channels, channels, 1, 1,
                                          1, conv_cfg, norm_cfg)
        self.preprocess1 = ReLUConvBN(prev_channels, channels, 1, 1, 1,
                                      conv_cfg, norm_cfg)
        self.graph = graphs.build(self.cell_type, channels, reduction,
                                  conv_cfg, norm_cfg)
        self.out_channels = graphs.multiplier(self.cell_type) * channels


class _UpsampleProjection(nn.Module):
    """Nearest upsampling to the size of a reference map, then ReLU-conv-BN.

    ReLU and the 1x1 convolution act on each pixel alone, so they commute
    with nearest upsampling: they run at the coarse resolution (a quarter of
    the work) and only the narrow projected map is upsampled before the
    normalisation, which thus sees exactly the tensor of the spelled-out
    order.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 conv_cfg: OptConfigType, norm_cfg: ConfigType) -> None:
        super().__init__()
        self.proj = ReLUConvBN(in_channels, out_channels, 1, 1, 1, conv_cfg,
                               norm_cfg)

    def forward(self, x: Tensor, size: torch.Size) -> Tensor:
        x = self.proj.conv(self.proj.relu(x))
        return self.proj.bn(F.interpolate(x, size=size, mode='nearest'))


@MODELS.register_module()
class UpsampleCell(BaseCell):
    """A decoder cell: fuses a coarse feature with the next finer tap.

    The older input is the coarse feature, upsampled to the tap's size; the
    newer input is the encoder tap. Both are projected to
    ``out_channels // nodes`` channels and all edges have stride 1.

    Args:
        coarse_channels (int): Channels of the coarse (older) input.
        fine_channels (int): Channels of the encoder tap (newer input).
        out_channels (int): Channels of the cell output.
        graphs (CellGraphs): Builds the node graph.
        cell_type (str): Which decoder cell, e.g.
            ``'upsample_1_8_to_1_4'``.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Config of the normalisation layers.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 coarse_channels: int,
                 fine_channels: int,
                 out_channels: int,
                 graphs: CellGraphs,
                 cell_type: str,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.cell_type = cell_type
        multiplier = graphs.multiplier(cell_type)
        if out_channels % multiplier:
            raise ValueError(f'UpsampleCell out_channels ({out_channels}) '
                             f'must be divisible by the {multiplier} '
                             f'concatenated nodes')
        channels = out_channels // multiplier
        self.preprocess0 = _UpsampleProjection(coarse_channels, channels,
                                               conv_cfg, norm_cfg)
        self.preprocess1 = ReLUConvBN(fine_channels, channels, 1, 1, 1,
                                      conv_cfg, norm_cfg)
        self.graph = graphs.build(cell_type, channels, False, conv_cfg,
                                  norm_cfg)
        self.out_channels = out_channels

    def forward(self,
                coarse: Tensor,
                fine: Tensor,
                weights: Optional[CellWeights] = None) -> Tensor:
        s0 = self.preprocess0(coarse, fine.shape[-2:])
        return run_graph(self.graph, s0, self.preprocess1(fine), weights)
