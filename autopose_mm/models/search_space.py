"""The differentiable cell search space.

The same cells seen as a search: where a fixed cell runs one operation per
edge (:class:`~autopose_mm.models.cells.CellGraph`), a mixed cell runs every
candidate of :data:`~autopose_mm.models.operations.OPERATION_SPECS` on every
edge and mixes them with architecture weights it receives as a forward
argument:

- :class:`ArchParams` holds the architecture weights: for every cell type one
  ``alpha`` tensor (edges x candidate operations) and one ``beta`` vector
  (edge normalisation). It derives a :class:`CellGenotype` from them, and
  gives the weights a forward pass uses (:meth:`ArchParams.cell_weights`).
- :class:`MixedOp` is one edge: it holds every candidate operation and sums
  their outputs, weighted by the softmax of the edge's alphas. With
  ``partial_channels=K`` only 1/K of the channels go through the candidates;
  the rest bypass them and the channels are shuffled (PC-DARTS).
- :class:`MixedCellGraph` is a cell's node DAG in which every node reads all
  earlier states through mixed operations, the edges into a node weighted by
  the softmax of their betas; :class:`MixedGraphs` builds one per cell, as
  :class:`~autopose_mm.models.cells.GenotypeGraphs` builds the fixed ones.

``se_connect`` is defined for stride 1 only, so it is not a candidate on the
stride-2 edges of reduction cells (its alpha there is masked out).
"""
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpose.models.backbones.utils import channel_shuffle
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor

from .cells import CellWeights
from .genotype import CellGenotype, Genotype
from .operations import (
    DEFAULT_NORM_CFG,
    OPERATION_NAMES,
    OPERATION_SPECS,
    build_operation,
    offset_subsamples,
    operation_spec,
    supports_stride,
)

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
        gumbel_tau (float, optional): When given, every training forward
            pass samples one operation per edge (hard Gumbel-softmax of the
            alphas at this temperature, with straight-through gradients)
            instead of mixing all of them; see :meth:`mixing_weights`.
    """

    def __init__(self,
                 cell_types: Sequence[str],
                 nodes: int = 4,
                 candidates: Sequence[str] = OPERATION_NAMES,
                 init_std: float = 1e-3,
                 gumbel_tau: Optional[float] = None,
                 sample_paths: bool = False) -> None:
        super().__init__()
        if sample_paths and gumbel_tau is not None:
            raise ValueError('sample_paths and gumbel_tau are two ways of '
                             'sampling operations; set only one of them')
        self.sample_paths = sample_paths
        if gumbel_tau is not None and gumbel_tau <= 0:
            raise ValueError(f'gumbel_tau must be positive, got {gumbel_tau}')
        self.gumbel_tau = gumbel_tau
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
        if sample_paths:  # the architecture is chosen by scoring
            self.requires_grad_(False)
        for t in self.cell_types:
            mask = torch.ones(num_edges, len(candidates), dtype=torch.bool)
            for e, src in enumerate(self.sources):
                stride = self.edge_stride(t, src)
                for o, op in enumerate(candidates):
                    mask[e, o] = supports_stride(op, stride)
            self.register_buffer(f'mask_{t}', mask, persistent=False)
        # cell type -> (op weights, edge weights) while a genotype is fixed
        self._fixed: Dict[str, Tuple[Tensor, Tensor]] = {}

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

    def mixing_weights(self, cell_type: str) -> Tuple[Tensor, Tensor]:
        """The op weights (edges, ops) and edge weights (edges, ) that the
        mixed cells of ``cell_type`` use in a forward pass.

        These are :meth:`op_weights` and :meth:`edge_weights`, except:
        inside :meth:`fixed`, the one-hot weights of the fixed cell; and in
        training mode with ``gumbel_tau``, one operation per edge sampled
        from the softmax of its alphas (the weights are one-hot in the
        forward pass and carry the softmax's gradient backwards), so the
        weights train every operation on its own, as it will run in the
        derived network.
        """
        if cell_type in self._fixed:
            return self._fixed[cell_type]
        edges = self.edge_weights(cell_type)
        if self.gumbel_tau is None or not self.training:
            return self.op_weights(cell_type), edges
        mask = getattr(self, f'mask_{cell_type}')
        logits = self.alphas[cell_type].masked_fill(~mask, float('-inf'))
        ops = F.gumbel_softmax(logits, tau=self.gumbel_tau, hard=True)
        return ops, edges

    def cell_weights(self) -> Dict[str, CellWeights]:
        """:meth:`mixing_weights` of every cell type: what the mixed cells
        receive in a forward pass. With ``sample_paths`` in training mode,
        the one-hot weights of one random cell per type (not fixed by
        :meth:`fixed`), drawn anew for every call."""
        if not (self.sample_paths and self.training):
            return {t: self.mixing_weights(t) for t in self.cell_types}
        from .random_genotype import sample_cell
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))
        return {
            t:
            self._fixed[t] if t in self._fixed else self.one_hot(
                t, sample_cell(t, rng, self.nodes, self.candidates))
            for t in self.cell_types
        }

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
        how a search that picks cells by another means than the gradient
        (e.g. scoring, :class:`~autopose_mm.engine.SinglePathSearchLoop`)
        hands its choice to the genotype export."""
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


def _check_partial_channels(channels: int, partial_channels: int) -> None:
    if channels % partial_channels:
        raise ValueError(
            f'partial_channels={partial_channels} must divide every searched '
            f'cell width, but a cell has {channels} channels; choose a '
            f'divisor or change base_channels')


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
        _check_partial_channels(channels, partial_channels)
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


def _scaled_norm(norm: nn.Module, x: Tensor, scale: Tensor,
                 channels: int) -> Tensor:
    """``norm(x)`` times a per-edge ``scale`` (each edge owning
    ``channels`` consecutive channels), in one kernel for plain BN."""
    per_channel = scale.repeat_interleave(channels)
    if type(norm) is not nn.BatchNorm2d or norm.momentum is None:
        return norm(x) * per_channel.view(1, -1, 1, 1)
    weight, bias = per_channel, None
    if norm.affine:
        weight, bias = norm.weight * per_channel, norm.bias * per_channel
    training = norm.training or norm.running_mean is None
    if norm.training and norm.track_running_stats:
        norm.num_batches_tracked.add_(1)
    return F.batch_norm(x, norm.running_mean, norm.running_var, weight, bias,
                        training, norm.momentum, norm.eps)


def _copy_norm(dst: nn.Module, src: nn.Module, sl: slice) -> None:
    """Copy channels ``sl`` of normalisation ``src`` into ``dst``."""
    for key in ('running_mean', 'running_var'):
        if getattr(src, key, None) is not None:
            getattr(dst, key).copy_(getattr(src, key)[sl])
    if getattr(src, 'weight', None) is not None:
        dst.weight.copy_(src.weight[sl])
        dst.bias.copy_(src.bias[sl])


class MixedEdges(nn.Module):
    """The mixed operations of all edges that read one state, computed
    together.

    Mathematically this is ``len(edges)`` :class:`MixedOp` s on the same
    input; computing them together is what makes the supernet fast. Each
    kind of operation (:class:`~autopose_mm.models.operations.OpSpec`) has
    its fused path: the ReLU runs once and each convolution candidate runs
    as one convolution for all edges (the dilation-1 convolutions together,
    the smaller kernels zero-padded); pools, identity and their (non-affine)
    normalisation give the same output on every edge, so they are shared;
    factorized reduce and the SE gates of all edges run as one. Operations
    of kind ``'module'`` run edge by edge, as built. :meth:`edge_op` returns
    edge ``i`` as a standalone :class:`MixedOp` with the same weights.

    Args:
        channels (int): Channels of the state.
        stride (int): Stride of these edges.
        num_edges (int): How many edges read the state.
        candidates (Sequence[str]): Candidate names, in alpha order.
        partial_channels (int): K.
        conv_cfg (dict, optional): Config of the convolutions of kind
            ``'module'`` operations; the fused kinds use plain convolutions.
        norm_cfg (dict): Config of the normalisation layers.
    """

    def __init__(self,
                 channels: int,
                 stride: int,
                 num_edges: int,
                 candidates: Sequence[str],
                 partial_channels: int = 1,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        _check_partial_channels(channels, partial_channels)
        c = self.active = channels // partial_channels
        n = self.num_edges = num_edges
        self.k = partial_channels
        self.stride = stride
        self.candidates = tuple(candidates)
        self.norm_cfg = norm_cfg
        specs = [
            operation_spec(name) for name in candidates
            if supports_stride(name, stride)
        ]
        self.convs = [s.name for s in specs if s.kind == 'conv']
        self.weight = nn.ParameterDict()
        self.norm = nn.ModuleDict()
        for spec in specs:
            if spec.kind == 'conv':
                w = torch.empty(n * c, c, spec.kernel, spec.kernel)
                nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')
                self.weight[spec.name] = nn.Parameter(w)
                self.norm[spec.name] = build_norm_layer(norm_cfg, n * c)[1]
            elif spec.kind == 'pool':
                self.norm[spec.name] = build_norm_layer(norm_cfg, c)[1]
        self.pools = [s.name for s in specs if s.kind == 'pool']
        self.skip = next((s.name for s in specs if s.kind == 'identity'), None)
        if self.skip and stride == 2:  # factorized reduce, for every edge
            if c % 2:
                raise ValueError(f'skip_connect at stride 2 needs an even '
                                 f'edge width, got {c}')
            for i in (1, 2):
                w = torch.empty(n * c // 2, c, 1, 1)
                nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')
                self.weight[f'reduce_{i}'] = nn.Parameter(w)
            self.norm[self.skip] = build_norm_layer(norm_cfg, n * c)[1]
        self.se = next((s.name for s in specs if s.kind == 'se'), None)
        if self.se:
            hidden = max(1, c // 2)
            self.squeeze = nn.Conv2d(c, n * hidden, 1)
            self.excite = nn.Conv2d(n * hidden, n * c, 1, groups=n)
        # any other operation: one module per edge
        self.modules_of = nn.ModuleDict({
            s.name:
            nn.ModuleList(
                build_operation(s.name, c, stride, conv_cfg, norm_cfg)
                for _ in range(n))
            for s in specs if s.kind == 'module'
        })
        if self.k > 1 and stride == 2:
            self.bypass = nn.MaxPool2d(2, 2, ceil_mode=True)

    def _index(self, name: str) -> int:
        return self.candidates.index(name)

    def _per_edge(self, out: Tensor) -> Tensor:
        """(N, edges * C/K, H, W) -> (N, edges, C/K, H, W)."""
        return out.view(out.shape[0], self.num_edges, self.active,
                        *out.shape[-2:])

    def _normed(self, name: str, out: Tensor, w: Tensor) -> Tensor:
        """The normalised ``out`` of every edge scaled by its weight ``w``,
        the scaling folded into the normalisation where it is a plain BN."""
        return self._per_edge(
            _scaled_norm(self.norm[name], out, w, self.active))

    def _conv_terms(self, x: Tensor, weights: Tensor) -> List[Tensor]:
        if not self.convs:
            return []
        relu, s, terms = F.relu(x), self.stride, []
        specs = [operation_spec(m) for m in self.convs]
        square = [p for p in specs if p.dilation == 1]
        if square:  # the dilation-1 convolutions as one
            size = max(p.kernel for p in square)
            kernels = [
                F.pad(self.weight[p.name], [(size - p.kernel) // 2] * 4)
                for p in square
            ]
            out = F.conv2d(
                relu, torch.cat(kernels), stride=s, padding=size // 2)
            for p, part in zip(square,
                               out.split(self.num_edges * self.active, 1)):
                terms.append(
                    self._normed(p.name, part, weights[:,
                                                       self._index(p.name)]))
        for p in specs:
            if p.dilation == 1:
                continue
            pad = p.dilation * (p.kernel - 1) // 2
            out = F.conv2d(
                relu,
                self.weight[p.name],
                stride=s,
                padding=pad,
                dilation=p.dilation)
            terms.append(
                self._normed(p.name, out, weights[:, self._index(p.name)]))
        return terms

    def _pool_terms(self, x: Tensor, weights: Tensor) -> List[Tensor]:
        terms = []
        for m in self.pools:
            if operation_spec(m).pool == 'avg':
                out = F.avg_pool2d(
                    x, 3, self.stride, 1, count_include_pad=False)
            else:
                out = F.max_pool2d(x, 3, self.stride, 1)
            w = weights[:, self._index(m)].view(1, -1, 1, 1, 1)
            terms.append(self.norm[m](out).unsqueeze(1) * w)
        return terms

    def _skip_terms(self, x: Tensor, weights: Tensor) -> List[Tensor]:
        if not self.skip:
            return []
        w = weights[:, self._index(self.skip)]
        if self.stride == 1:
            return [x.unsqueeze(1) * w.view(1, -1, 1, 1, 1)]
        even, odd = offset_subsamples(x)  # factorized reduce of every edge
        a = F.conv2d(F.relu(even), self.weight['reduce_1'])
        b = F.conv2d(F.relu(odd), self.weight['reduce_2'])
        # an edge's channels: its half of a, then its half of b
        shape = (x.shape[0], self.num_edges, self.active // 2, *a.shape[-2:])
        out = torch.cat([a.view(shape), b.view(shape)], 2)
        return [self._normed(self.skip, out.flatten(1, 2), w)]

    def _se_terms(self, x: Tensor, weights: Tensor) -> List[Tensor]:
        if not self.se:
            return []
        gate = self.excite(
            F.relu(self.squeeze(x.mean(dim=(2, 3), keepdim=True))))
        gate = torch.sigmoid(gate).view(x.shape[0], self.num_edges,
                                        self.active, 1, 1)
        w = weights[:, self._index(self.se)].view(1, -1, 1, 1, 1)
        return [x.unsqueeze(1) * gate * w]

    def _module_terms(self, x: Tensor, weights: Tensor) -> List[Tensor]:
        terms = []
        for name, edges in self.modules_of.items():
            out = torch.stack([op(x) for op in edges], 1)
            w = weights[:, self._index(name)].view(1, -1, 1, 1, 1)
            terms.append(out * w)
        return terms

    def forward(self, x: Tensor, weights: Tensor) -> Tuple[Tensor, Tensor]:
        """Mix the candidates of every edge.

        Args:
            x (Tensor): The state, (N, C, H, W).
            weights (Tensor): Softmaxed alphas of these edges, (edges, ops).

        Returns:
            tuple: ``mixed`` (N, edges, C/K, H', W'), the active channels of
            every edge, and ``rest`` (N, C - C/K, H', W'), the bypassed
            channels (shared by the edges; empty when K is 1).
        """
        xa = x[:, :self.active]
        terms = (
            self._conv_terms(xa, weights) + self._pool_terms(xa, weights) +
            self._skip_terms(xa, weights) + self._se_terms(xa, weights) +
            self._module_terms(xa, weights))
        if self.k == 1:
            rest = x[:, :0]
        else:
            rest = x[:, self.active:]
            if self.stride == 2:
                rest = self.bypass(rest)
        if not terms:  # only "none": every edge outputs zeros
            return x.new_zeros(x.shape[0], self.num_edges, self.active,
                               *rest.shape[-2:]), rest
        mixed = terms[0]
        for term in terms[1:]:
            mixed = mixed + term
        return mixed, rest

    @torch.no_grad()
    def edge_op(self, i: int) -> 'MixedOp':
        """Edge ``i`` as a standalone :class:`MixedOp` (same weights and
        normalisation statistics)."""
        c = self.active
        op = MixedOp(
            c * self.k,
            self.stride,
            self.candidates,
            self.k,
            norm_cfg=self.norm_cfg)
        names = [self.candidates[j] for j in op.op_indices]
        edge = slice(i * c, (i + 1) * c)
        for name, module in zip(names, op.ops):
            kind = operation_spec(name).kind
            if kind == 'conv':
                module.conv.weight.copy_(self.weight[name][edge])
                _copy_norm(module.bn, self.norm[name], edge)
            elif kind == 'pool':
                _copy_norm(module.bn, self.norm[name], slice(0, c))
            elif kind == 'identity' and self.stride == 2:
                half = slice(i * c // 2, (i + 1) * c // 2)
                module.conv_1.weight.copy_(self.weight['reduce_1'][half])
                module.conv_2.weight.copy_(self.weight['reduce_2'][half])
                _copy_norm(module.bn, self.norm[name], edge)
            elif kind == 'se':
                hidden = module.squeeze.out_channels
                hs = slice(i * hidden, (i + 1) * hidden)
                module.squeeze.weight.copy_(self.squeeze.weight[hs])
                module.squeeze.bias.copy_(self.squeeze.bias[hs])
                module.excite.weight.copy_(self.excite.weight[edge])
                module.excite.bias.copy_(self.excite.bias[edge])
            elif kind == 'module':
                module.load_state_dict(self.modules_of[name][i].state_dict())
        return op


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
            MixedEdges(channels, ArchParams.edge_stride(cell_type, s),
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
