"""The differentiable cell search space.

Three pieces, mirroring a genotype:

- :class:`ArchParams` holds the architecture weights: for every cell type one
  ``alpha`` tensor (edges x candidate operations) and one ``beta`` vector
  (edge normalisation). It derives a :class:`CellGenotype` from them.
- :class:`MixedOp` is one edge: it holds every candidate operation and sums
  their outputs, weighted by the softmax of the edge's alphas. With
  ``partial_channels=K`` only 1/K of the channels go through the candidates;
  the rest bypass them and the channels are shuffled (PC-DARTS).
- :class:`MixedCellGraph` is a cell's node DAG in which every node reads all
  earlier states through mixed operations, the edges into a node weighted by
  the softmax of their betas.

A :class:`SearchSpace` stands where a :class:`Genotype` stands when the
fixed networks are built (``space.normal``, ``space.cells[name]``), so the
supernet is :class:`AutoPoseNet` / :class:`AutoPoseDecoder` built from a
search space instead of a genotype.

``se_connect`` is defined for stride 1 only, so it is not a candidate on the
stride-2 edges of reduction cells (its alpha there is masked out).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpose.models.backbones.utils import channel_shuffle
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor

from .genotype import CellGenotype, Genotype
from .operations import (DEFAULT_NORM_CFG, OPERATION_NAMES, build_operation,
                         supports_stride)

REDUCTION_CELLS = ('reduce', )


def edge_sources(nodes: int) -> List[int]:
    """Input index of every edge, node by node: 0, 1 | 0, 1, 2 | ..."""
    return [src for k in range(nodes) for src in range(2 + k)]


@MODELS.register_module()
class ArchParams(BaseModule):
    """Architecture weights of the searched cell types.

    Args:
        cell_types (Sequence[str]): The cell types, e.g. ``('normal',
            'reduce')``.
        nodes (int): Intermediate nodes per cell. Defaults to 4.
        candidates (Sequence[str]): Candidate operations. Defaults to all.
        init_std (float): Std of the initial random alphas and betas.
    """

    def __init__(self,
                 cell_types: Sequence[str],
                 nodes: int = 4,
                 candidates: Sequence[str] = OPERATION_NAMES,
                 init_std: float = 1e-3) -> None:
        super().__init__()
        unknown = [c for c in candidates if c not in OPERATION_NAMES]
        if unknown or 'none' not in candidates or len(candidates) < 2:
            raise ValueError(
                f'candidates must include "none" and at least one other '
                f'operation from {", ".join(OPERATION_NAMES)}; got '
                f'{list(candidates)}')
        self.cell_types = tuple(cell_types)
        self.nodes = nodes
        self.candidates = tuple(candidates)
        self.sources = edge_sources(nodes)
        num_edges = len(self.sources)
        self.alphas = nn.ParameterDict({
            t: nn.Parameter(init_std * torch.randn(num_edges,
                                                   len(candidates)))
            for t in self.cell_types
        })
        self.betas = nn.ParameterDict({
            t: nn.Parameter(init_std * torch.randn(num_edges))
            for t in self.cell_types
        })
        for t in self.cell_types:
            mask = torch.ones(num_edges, len(candidates), dtype=torch.bool)
            for e, src in enumerate(self.sources):
                stride = self.edge_stride(t, src)
                for o, op in enumerate(candidates):
                    mask[e, o] = supports_stride(op, stride)
            self.register_buffer(f'mask_{t}', mask, persistent=False)

    @staticmethod
    def edge_stride(cell_type: str, source: int) -> int:
        """Stride of an edge: 2 on the inputs of a reduction cell."""
        return 2 if cell_type in REDUCTION_CELLS and source < 2 else 1

    def op_weights(self, cell_type: str) -> Tensor:
        """Softmax over the candidates of every edge, shape (edges, ops)."""
        mask = getattr(self, f'mask_{cell_type}')
        alphas = self.alphas[cell_type].masked_fill(~mask, float('-inf'))
        return F.softmax(alphas, dim=-1)

    def edge_weights(self, cell_type: str) -> Tensor:
        """Softmax over the edges into each node, shape (edges, )."""
        betas = self.betas[cell_type]
        out, start = [], 0
        for k in range(self.nodes):
            out.append(F.softmax(betas[start:start + 2 + k], dim=-1))
            start += 2 + k
        return torch.cat(out)

    @torch.no_grad()
    def derive(self, cell_type: str, edges_per_node: int = 2) -> CellGenotype:
        """The cell of the strongest operations and edges.

        For each node, every incoming edge is scored by its edge weight times
        its strongest operation other than ``none``; the ``edges_per_node``
        best edges are kept with that operation.
        """
        ops = self.op_weights(cell_type).clone()
        ops[:, self.candidates.index('none')] = -1.
        best_w, best_op = ops.max(dim=-1)
        strength = best_w * self.edge_weights(cell_type)
        edges, start = [], 0
        for k in range(self.nodes):
            idx = range(start, start + 2 + k)
            keep = sorted(idx, key=lambda e: -float(strength[e]))
            keep = sorted(keep[:edges_per_node], key=lambda e: self.sources[e])
            edges.append(tuple((self.candidates[int(best_op[e])],
                                self.sources[e]) for e in keep))
            start += 2 + k
        return CellGenotype(tuple(edges), tuple(range(2, 2 + self.nodes)))

    def summary(self) -> Dict[str, Dict[str, list]]:
        """Softmaxed alphas and edge weights per cell type, as plain lists."""
        return {
            t: dict(
                alphas=self.op_weights(t).detach().cpu().tolist(),
                edges=self.edge_weights(t).detach().cpu().tolist())
            for t in self.cell_types
        }


class MixedOp(nn.Module):
    """All candidate operations of one edge, on 1/K of the channels.

    Args:
        channels (int): Channels of the edge.
        stride (int): 1, or 2 on the input edges of a reduction cell.
        candidates (Sequence[str]): Candidate names, in alpha order; those
            undefined at ``stride`` are left out.
        partial_channels (int): K; ``channels`` must be divisible by it.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Config of the normalisation layers.
    """

    def __init__(self,
                 channels: int,
                 stride: int,
                 candidates: Sequence[str],
                 partial_channels: int = 1,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        if channels % partial_channels:
            raise ValueError(
                f'partial_channels={partial_channels} must divide every '
                f'searched cell width, but a cell has {channels} channels; '
                f'choose a divisor or change base_channels')
        self.k = partial_channels
        self.stride = stride
        self.active = channels // partial_channels
        self.op_indices = [
            i for i, name in enumerate(candidates)
            if supports_stride(name, stride)
        ]
        self.ops = nn.ModuleList(
            build_operation(candidates[i], self.active, stride, conv_cfg,
                            norm_cfg) for i in self.op_indices)
        if self.k > 1 and stride == 2:
            self.bypass = nn.MaxPool2d(2, 2, ceil_mode=True)

    def forward(self, x: Tensor, weights: Tensor) -> Tensor:
        """``weights``: the softmaxed alphas of this edge (all candidates)."""
        if self.k > 1:
            x, rest = x[:, :self.active], x[:, self.active:]
        out = None
        for i, op in zip(self.op_indices, self.ops):
            y = weights[i] * op(x)
            out = y if out is None else out + y
        if self.k == 1:
            return out
        if self.stride == 2:
            rest = self.bypass(rest)
        return channel_shuffle(torch.cat([out, rest], dim=1), self.k)


class MixedCellGraph(nn.Module):
    """A cell's nodes, each reading all earlier states via mixed ops.

    Args:
        spec (SearchCellSpec): Which cell type of which :class:`ArchParams`.
        channels (int): Width of every state.
        reduction (bool): Stride 2 on the edges that read the cell inputs.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Config of the normalisation layers.
    """

    def __init__(self,
                 spec: 'SearchCellSpec',
                 channels: int,
                 reduction: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        arch = spec.arch
        if reduction != (spec.cell_type in REDUCTION_CELLS):
            raise ValueError(f'cell type {spec.cell_type!r} used with '
                             f'reduction={reduction}')
        # A plain list keeps the shared ArchParams out of this module's
        # parameters and state dict: its owner registers it once.
        self._arch = [arch]
        self.cell_type = spec.cell_type
        self.nodes = arch.nodes
        self.edges = nn.ModuleList(
            MixedOp(channels, arch.edge_stride(spec.cell_type, src),
                    arch.candidates, spec.partial_channels, conv_cfg,
                    norm_cfg) for src in arch.sources)

    def forward(self, s0: Tensor, s1: Tensor) -> Tensor:
        arch = self._arch[0]
        op_w = arch.op_weights(self.cell_type)
        edge_w = arch.edge_weights(self.cell_type)
        states = [s0, s1]
        e = 0
        for k in range(self.nodes):
            node = None
            for src in range(2 + k):
                y = edge_w[e] * self.edges[e](states[src], op_w[e])
                node = y if node is None else node + y
                e += 1
            states.append(node)
        return torch.cat(states[2:], dim=1)


class SearchCellSpec:
    """Stands for a :class:`CellGenotype` in a supernet: which cell type of
    which :class:`ArchParams`, and the partial-channel K."""

    def __init__(self, arch: ArchParams, cell_type: str,
                 partial_channels: int) -> None:
        self.arch = arch
        self.cell_type = cell_type
        self.partial_channels = partial_channels
        self.concat = tuple(range(2, 2 + arch.nodes))

    def build_graph(self, channels: int, reduction: bool,
                    conv_cfg: OptConfigType,
                    norm_cfg: ConfigType) -> nn.Module:
        return MixedCellGraph(self, channels, reduction, conv_cfg, norm_cfg)


class SearchSpace:
    """Stands for a :class:`Genotype` in a supernet (same cell look-ups).

    Args:
        arch (ArchParams): The architecture weights of the searched cells.
        partial_channels (int): K of the partial-channel mixed operations.
    """

    def __init__(self, arch: ArchParams, partial_channels: int = 4) -> None:
        self.arch = arch
        self.cells = {
            t: SearchCellSpec(arch, t, partial_channels)
            for t in arch.cell_types
        }

    @property
    def normal(self) -> SearchCellSpec:
        return self.cells['normal']

    @property
    def reduce(self) -> SearchCellSpec:
        return self.cells['reduce']


def derive_genotype(arch_params: Sequence[ArchParams],
                    name: str = 'searched',
                    extra: Optional[dict] = None) -> Genotype:
    """Combine the cells derived from several :class:`ArchParams` (e.g. the
    encoder's and the decoder's) into one validated :class:`Genotype`."""
    cells: Dict[str, CellGenotype] = {}
    nodes = None
    for arch in arch_params:
        nodes = arch.nodes
        for t in arch.cell_types:
            cells[t] = arch.derive(t)
    data = Genotype(cells, nodes or 4, name, dict(extra or {})).to_dict()
    return Genotype.from_dict(data)  # validates that every cell is there


def arch_modules(model: nn.Module) -> Tuple[ArchParams, ...]:
    """The :class:`ArchParams` of a model, in registration order."""
    return tuple(m for m in model.modules() if isinstance(m, ArchParams))
