"""Mixed cells: a cell's node DAG in which every node reads all earlier
states through mixed edges; the networks built from them are the
supernet (see :class:`~autopose_mm.models.cells.CellGraphs` for the
seam)."""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
from mmpose.models.backbones.utils import channel_shuffle
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor

from ...models.cells import CellWeights
from ...models.genotype import REDUCTION_CELLS, edge_stride
from ...models.operations import DEFAULT_NORM_CFG, OPERATION_NAMES
from .edges import MixedEdges
from .params import ArchParams, edge_sources


class MixedCellGraph(nn.Module):
    """A cell's nodes, each reading all earlier states via mixed ops.

    The mixed operations are grouped by the state they read
    (:class:`MixedEdges`); node ``k`` sums its incoming edges weighted by the
    softmax of their betas. With K > 1 the node sums the active and the
    bypassed channels of its edges separately and shuffles once (the shuffle
    is a fixed permutation, so this equals shuffling every edge).

    Args:
        cell_type (str): The cell type (``'reduce'`` has stride 2 on the
            edges that read the cell inputs).
        channels (int): Width of every state.
        nodes (int): Intermediate nodes.
        candidates (Sequence[str]): Candidate operations, in alpha order.
        partial_channels (int): K.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Config of the normalisation layers.
    """

    def __init__(self,
                 cell_type: str,
                 channels: int,
                 nodes: int = 4,
                 candidates: Sequence[str] = OPERATION_NAMES,
                 partial_channels: int = 1,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        self.cell_type = cell_type
        self.nodes = nodes
        self.k = partial_channels
        sources = edge_sources(nodes)
        # edges (indices into the alphas) grouped by the state they read
        self.edges_of: List[List[int]] = [[] for _ in range(1 + nodes)]
        for e, src in enumerate(sources):
            self.edges_of[src].append(e)
        # per node: (state, position among that state's edges, edge index)
        self.inputs_of: List[List[Tuple[int, int, int]]] = []
        e = 0
        for k in range(nodes):
            self.inputs_of.append([])
            for src in range(2 + k):
                self.inputs_of[k].append((src, self.edges_of[src].index(e), e))
                e += 1
        self.banks = nn.ModuleList(
            MixedEdges(channels, edge_stride(cell_type in REDUCTION_CELLS, s),
                       len(edges), candidates, self.k, conv_cfg, norm_cfg)
            for s, edges in enumerate(self.edges_of))

    def forward(self, s0: Tensor, s1: Tensor, weights: CellWeights) -> Tensor:
        """``weights``: this cell type's (op weights, edge weights), from
        :meth:`ArchParams.cell_weights`."""
        op_w, edge_w = weights
        # the edge weights scale the mixed outputs with the op weights
        op_w = op_w * edge_w[:, None]
        states = [s0, s1]
        outputs = []  # per state: (mixed outputs of its edges, bypass)
        for k in range(self.nodes):
            for s in range(len(outputs), len(states)):
                outputs.append(self.banks[s](states[s],
                                             op_w[self.edges_of[s]]))
            active, rest = None, None
            for s, i, e in self.inputs_of[k]:
                mixed, bypass = outputs[s]
                a = mixed[:, i]
                active = a if active is None else active + a
                if self.k > 1:
                    r = edge_w[e] * bypass
                    rest = r if rest is None else rest + r
            if self.k > 1:
                node = channel_shuffle(
                    torch.cat([active, rest], dim=1), self.k)
            else:
                node = active
            states.append(node)
        return torch.cat(states[2:], dim=1)


class MixedGraphs:
    """Builds a :class:`MixedCellGraph` for every cell, as
    :class:`~autopose_mm.models.cells.GenotypeGraphs` builds the fixed
    ones: the networks built from it are the supernet.

    Args:
        arch (ArchParams): The architecture weights whose node count and
            candidates the graphs follow (the graphs keep no reference to
            it: the weights come with every forward pass).
        partial_channels (int): K of the partial-channel mixed operations.
    """

    def __init__(self, arch: ArchParams, partial_channels: int = 4) -> None:
        self.nodes = arch.nodes
        self.candidates = arch.candidates
        self.partial_channels = partial_channels

    def multiplier(self, cell_type: str) -> int:
        return self.nodes

    def build(self, cell_type: str, channels: int, reduction: bool,
              conv_cfg: OptConfigType, norm_cfg: ConfigType) -> MixedCellGraph:
        if reduction != (cell_type in REDUCTION_CELLS):
            raise ValueError(f'cell type {cell_type!r} used with '
                             f'reduction={reduction}')
        return MixedCellGraph(cell_type, channels, self.nodes, self.candidates,
                              self.partial_channels, conv_cfg, norm_cfg)
