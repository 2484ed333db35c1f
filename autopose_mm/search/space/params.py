"""The architecture weights of the cell search and the rules that turn
them into the weights a supernet's forward pass uses.

:class:`ArchParams` holds, for every searched cell type, one ``alpha``
tensor (edges x candidate operations) and one ``beta`` vector (edge
normalisation); it derives a :class:`~autopose_mm.models.genotype.
CellGenotype` from them (:meth:`ArchParams.derive`). What a training forward
pass runs is a sampling rule, one class per rule:

- :class:`SoftmaxMixing`: every candidate, weighted by the softmax of its
  alphas (DARTS, PC-DARTS);
- :class:`GumbelSampling`: one operation per edge, a hard Gumbel-softmax
  sample with straight-through gradients (GDAS-style);
- :class:`SinglePathSampling`: one random derived-shaped cell per cell type
  (single-path one-shot; the alphas do not train).

In eval mode every rule mixes. :meth:`ArchParams.fixed` overrides all rules
with the one-hot weights of given cells, so that a supernet computes a
discrete genotype with its inherited weights (scoring).

``se_connect`` is defined for stride 1 only, so it is not a candidate on the
stride-2 edges of reduction cells (its alpha there is masked out).
"""
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch import Tensor

from ...models.cells import CellWeights
from ...models.genotype import (
    REDUCTION_CELLS,
    CellGenotype,
    Genotype,
    edge_stride,
)
from ...models.operations import (
    OPERATION_NAMES,
    OPERATION_SPECS,
    supports_stride,
)
from .sampling import sample_cell


def edge_sources(nodes: int) -> List[int]:
    """Input index of every edge, node by node: 0, 1 | 0, 1, 2 | ..."""
    return [src for k in range(nodes) for src in range(2 + k)]


class SamplingRule:
    """How the architecture weights become the weights of a training
    forward pass (eval passes always mix)."""

    #: whether the alphas and betas train by gradient under this rule
    trains_arch = True

    def op_weights(self, arch: 'ArchParams', cell_type: str) -> Tensor:
        """The op weights (edges, ops) of ``cell_type`` in training mode."""
        return arch.op_weights(cell_type)

    def cell_weights(self, arch: 'ArchParams') -> Dict[str, CellWeights]:
        """The (op weights, edge weights) of every cell type that is not
        fixed by :meth:`ArchParams.fixed`, for one training pass."""
        return {t: arch.mixing_weights(t) for t in arch.cell_types}


class SoftmaxMixing(SamplingRule):
    """Every candidate of an edge, weighted by the softmax of its alphas."""


class GumbelSampling(SamplingRule):
    """One operation per edge, sampled from the softmax of its alphas (hard
    Gumbel-softmax at temperature ``tau``): one-hot in the forward pass, the
    softmax's gradient backwards, so the weights train every operation on
    its own, as it will run in the derived network.

    Args:
        tau (float): The temperature, > 0.
    """

    def __init__(self, tau: float) -> None:
        if not tau > 0:
            raise ValueError(f'gumbel_tau must be positive, got {tau}')
        self.tau = tau

    def op_weights(self, arch: 'ArchParams', cell_type: str) -> Tensor:
        return F.gumbel_softmax(
            arch.masked_alphas(cell_type), tau=self.tau, hard=True)


class SinglePathSampling(SamplingRule):
    """One random cell per cell type, shaped as a derived cell (two inputs
    per node, one operation each), drawn anew for every pass; the alphas do
    not train (the architecture is chosen by scoring)."""

    trains_arch = False

    def cell_weights(self, arch: 'ArchParams') -> Dict[str, CellWeights]:
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))
        return {
            t:
            arch.fixed_weights(t) or arch.one_hot(
                t, sample_cell(t, rng, arch.nodes, arch.candidates))
            for t in arch.cell_types
        }


def build_rule(gumbel_tau: Optional[float] = None,
               sample_paths: bool = False) -> SamplingRule:
    """The rule that the supernets' ``gumbel_tau`` / ``sample_paths``
    arguments name (neither: softmax mixing)."""
    if sample_paths and gumbel_tau is not None:
        raise ValueError('sample_paths and gumbel_tau are two ways of '
                         'sampling operations; set only one of them')
    if sample_paths:
        return SinglePathSampling()
    if gumbel_tau is not None:
        return GumbelSampling(gumbel_tau)
    return SoftmaxMixing()


@MODELS.register_module()
class ArchParams(BaseModule):
    """Architecture weights of the searched cell types.

    Args:
        cell_types (Sequence[str]): The cell types, e.g. ``('normal',
            'reduce')``.
        nodes (int): Intermediate nodes per cell. Defaults to 4.
        candidates (Sequence[str]): Candidate operations. Defaults to all.
        init_std (float): Std of the initial random alphas and betas.
        gumbel_tau (float, optional): Train with
            :class:`GumbelSampling` at this temperature.
        sample_paths (bool): Train with :class:`SinglePathSampling`.
            Neither: :class:`SoftmaxMixing`.
    """

    def __init__(self,
                 cell_types: Sequence[str],
                 nodes: int = 4,
                 candidates: Sequence[str] = OPERATION_NAMES,
                 init_std: float = 1e-3,
                 gumbel_tau: Optional[float] = None,
                 sample_paths: bool = False) -> None:
        super().__init__()
        self.rule = build_rule(gumbel_tau, sample_paths)
        unknown = [c for c in candidates if c not in OPERATION_SPECS]
        if unknown or 'none' not in candidates or len(candidates) < 2:
            raise ValueError(
                f'candidates must include "none" and at least one other '
                f'operation from {", ".join(OPERATION_SPECS)}; got '
                f'{list(candidates)}')
        self.cell_types = tuple(cell_types)
        self.nodes = nodes
        self.candidates = tuple(candidates)
        self.sources = edge_sources(nodes)
        num_edges = len(self.sources)
        self.alphas = nn.ParameterDict({
            t:
            nn.Parameter(init_std * torch.randn(num_edges, len(candidates)))
            for t in self.cell_types
        })
        self.betas = nn.ParameterDict({
            t:
            nn.Parameter(init_std * torch.randn(num_edges))
            for t in self.cell_types
        })
        if not self.rule.trains_arch:  # chosen by scoring
            self.requires_grad_(False)
        for t in self.cell_types:
            mask = torch.ones(num_edges, len(candidates), dtype=torch.bool)
            for e, src in enumerate(self.sources):
                stride = edge_stride(t in REDUCTION_CELLS, src)
                for o, op in enumerate(candidates):
                    mask[e, o] = supports_stride(op, stride)
            self.register_buffer(f'mask_{t}', mask, persistent=False)
        # cell type -> (op weights, edge weights) while a genotype is fixed
        self._fixed: Dict[str, Tuple[Tensor, Tensor]] = {}

    @property
    def sample_paths(self) -> bool:
        """Whether training passes run single random paths."""
        return isinstance(self.rule, SinglePathSampling)

    def masked_alphas(self, cell_type: str) -> Tensor:
        """The alphas, -inf where a candidate lacks the edge's stride."""
        mask = getattr(self, f'mask_{cell_type}')
        return self.alphas[cell_type].masked_fill(~mask, float('-inf'))

    def op_weights(self, cell_type: str) -> Tensor:
        """Softmax over the candidates of every edge, shape (edges, ops)."""
        return F.softmax(self.masked_alphas(cell_type), dim=-1)

    def edge_weights(self, cell_type: str) -> Tensor:
        """Softmax over the edges into each node, shape (edges, )."""
        betas = self.betas[cell_type]
        out, start = [], 0
        for k in range(self.nodes):
            out.append(F.softmax(betas[start:start + 2 + k], dim=-1))
            start += 2 + k
        return torch.cat(out)

    def fixed_weights(self, cell_type: str) -> Optional[CellWeights]:
        """The one-hot weights of ``cell_type`` inside :meth:`fixed`, else
        None."""
        return self._fixed.get(cell_type)

    def mixing_weights(self, cell_type: str) -> CellWeights:
        """The op weights (edges, ops) and edge weights (edges, ) that the
        mixed cells of ``cell_type`` use in a forward pass: inside
        :meth:`fixed` the fixed cell's, in eval mode the softmaxes
        (:meth:`op_weights`, :meth:`edge_weights`), in training mode the
        rule's op weights (:meth:`SamplingRule.op_weights`)."""
        if cell_type in self._fixed:
            return self._fixed[cell_type]
        edges = self.edge_weights(cell_type)
        if not self.training:
            return self.op_weights(cell_type), edges
        return self.rule.op_weights(self, cell_type), edges

    def cell_weights(self) -> Dict[str, CellWeights]:
        """What the mixed cells receive in a forward pass, by cell type:
        :meth:`mixing_weights` in eval mode, the rule's
        (:meth:`SamplingRule.cell_weights`) in training mode."""
        if not self.training:
            return {t: self.mixing_weights(t) for t in self.cell_types}
        return self.rule.cell_weights(self)

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
            edges.append(
                tuple((self.candidates[int(best_op[e])], self.sources[e])
                      for e in keep))
            start += 2 + k
        return CellGenotype(tuple(edges), tuple(range(2, 2 + self.nodes)))

    def one_hot(self, cell_type: str,
                cell: CellGenotype) -> Tuple[Tensor, Tensor]:
        """The op and edge weights under which the mixed cell computes the
        derived ``cell``: weight 1 on its (input, operation) pairs, 0
        elsewhere.

        Raises:
            ValueError: When ``cell`` has another node count, or uses an
                operation or edge that this search space lacks.
        """
        if cell.num_nodes != self.nodes:
            raise ValueError(f'cell {cell_type!r} has {cell.num_nodes} nodes, '
                             f'the search space {self.nodes}')
        alphas = self.alphas[cell_type]
        ops = torch.zeros_like(alphas)
        edges = torch.zeros_like(self.betas[cell_type])
        mask = getattr(self, f'mask_{cell_type}')
        start = 0
        for k, node in enumerate(cell.edges):
            for op, src in node:
                e = start + src
                if op not in self.candidates or not mask[
                        e, self.candidates.index(op)]:
                    raise ValueError(
                        f'cell {cell_type!r}, node {k}: operation {op!r} on '
                        f'input {src} is not in this search space')
                ops[e, self.candidates.index(op)] = 1.
                edges[e] = 1.
            start += 2 + k
        return ops, edges

    @contextmanager
    def fixed(self, cells: Dict[str, CellGenotype]) -> Iterator[None]:
        """Within the block, the mixed cells of these types compute the
        given discrete cells (see :meth:`one_hot`): the supernet scores a
        derived architecture with its inherited weights."""
        saved = dict(self._fixed)
        self._fixed.update({
            t: self.one_hot(t, cell)
            for t, cell in cells.items() if t in self.cell_types
        })
        try:
            yield
        finally:
            self._fixed = saved

    @torch.no_grad()
    def set_cells(self,
                  cells: Dict[str, CellGenotype],
                  strength: float = 10.) -> None:
        """Set the alphas and betas so that :meth:`derive` gives ``cells``:
        ``strength`` on their (input, operation) pairs, 0 elsewhere. This is
        how a test or a warm start puts chosen cells into a supernet."""
        for t, cell in cells.items():
            if t not in self.cell_types:
                continue
            ops, edges = self.one_hot(t, cell)
            self.alphas[t].copy_(ops * strength)
            self.betas[t].copy_(edges * strength)

    def summary(self) -> Dict[str, Dict[str, list]]:
        """Softmaxed alphas and edge weights per cell type, as plain lists."""
        return {
            t:
            dict(
                alphas=self.op_weights(t).detach().cpu().tolist(),
                edges=self.edge_weights(t).detach().cpu().tolist())
            for t in self.cell_types
        }


def derive_genotype(
        arch_params: Sequence[ArchParams],
        name: str = 'searched',
        extra: Optional[dict] = None,
        cells_per_scale: Optional[Sequence[int]] = None) -> Genotype:
    """Combine the cells derived from several :class:`ArchParams` (e.g. the
    encoder's and the decoder's), and optionally a network-level layout,
    into one validated :class:`Genotype`."""
    cells: Dict[str, CellGenotype] = {}
    nodes = None
    for arch in arch_params:
        nodes = arch.nodes
        for t in arch.cell_types:
            cells[t] = arch.derive(t)
    layout = tuple(cells_per_scale) if cells_per_scale else None
    data = Genotype(cells, nodes or 4, name, dict(extra or {}),
                    layout).to_dict()
    return Genotype.from_dict(data)  # validates that every cell is there


def arch_modules(model: nn.Module) -> Tuple[ArchParams, ...]:
    """The :class:`ArchParams` of a model, in registration order."""
    return tuple(m for m in model.modules() if isinstance(m, ArchParams))
