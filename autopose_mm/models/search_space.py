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
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpose.models.backbones.utils import channel_shuffle
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor

from .genotype import CellGenotype, Genotype
from .operations import (
    DEFAULT_NORM_CFG,
    OPERATION_NAMES,
    build_operation,
    offset_subsamples,
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
                 gumbel_tau: Optional[float] = None) -> None:
        super().__init__()
        if gumbel_tau is not None and gumbel_tau <= 0:
            raise ValueError(f'gumbel_tau must be positive, got {gumbel_tau}')
        self.gumbel_tau = gumbel_tau
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
            t:
            nn.Parameter(init_std * torch.randn(num_edges, len(candidates)))
            for t in self.cell_types
        })
        self.betas = nn.ParameterDict({
            t:
            nn.Parameter(init_std * torch.randn(num_edges))
            for t in self.cell_types
        })
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


CONV_CANDIDATES = {  # name -> (kernel size, dilation)
    'std_conv_1x1': (1, 1),
    'std_conv_3x3': (3, 1),
    'dil_conv_3x3_2': (3, 2),
    'dil_conv_3x3_4': (3, 4),
}


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


class MixedEdges(nn.Module):
    """The mixed operations of all edges that read one state, computed
    together.

    Mathematically this is ``len(edges)`` :class:`MixedOp` s on the same
    input; computing them together is what makes the supernet fast: the
    ReLU and the pools run once, and each convolution candidate runs as one
    convolution for all edges (``std_conv_1x1`` rides along with
    ``std_conv_3x3`` as a zero-padded kernel). Pools, identity and their
    (non-affine) normalisation give the same output on every edge, so they
    are shared. :meth:`edge_op` returns edge ``i`` as a standalone
    :class:`MixedOp` with the same weights.

    Args:
        channels (int): Channels of the state.
        stride (int): Stride of these edges.
        num_edges (int): How many edges read the state.
        candidates (Sequence[str]): Candidate names, in alpha order.
        partial_channels (int): K.
        conv_cfg (dict, optional): Unused; plain convolutions are fused.
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
        names = {name for name in candidates if supports_stride(name, stride)}
        self.convs = [name for name in CONV_CANDIDATES if name in names]
        self.weight = nn.ParameterDict()
        self.norm = nn.ModuleDict()
        for name in self.convs:
            size = CONV_CANDIDATES[name][0]
            w = torch.empty(n * c, c, size, size)
            nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')
            self.weight[name] = nn.Parameter(w)
            self.norm[name] = build_norm_layer(norm_cfg, n * c)[1]
        self.pools = [
            p for p in ('avg_pool_3x3', 'max_pool_3x3') if p in names
        ]
        for name in self.pools:
            self.norm[name] = build_norm_layer(norm_cfg, c)[1]
        self.skip = 'skip_connect' in names
        if self.skip and stride == 2:  # factorized reduce, for every edge
            if c % 2:
                raise ValueError(f'skip_connect at stride 2 needs an even '
                                 f'edge width, got {c}')
            for i in (1, 2):
                w = torch.empty(n * c // 2, c, 1, 1)
                nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')
                self.weight[f'reduce_{i}'] = nn.Parameter(w)
            self.norm['skip_connect'] = build_norm_layer(norm_cfg, n * c)[1]
        self.se = 'se_connect' in names
        if self.se:
            hidden = max(1, c // 2)
            self.squeeze = nn.Conv2d(c, n * hidden, 1)
            self.excite = nn.Conv2d(n * hidden, n * c, 1, groups=n)
        if self.k > 1 and stride == 2:
            self.bypass = nn.MaxPool2d(2, 2, ceil_mode=True)

    def _index(self, name: str) -> int:
        return self.candidates.index(name)

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
        n, c, s = self.num_edges, self.active, self.stride
        xa = x[:, :c]
        batch = x.shape[0]
        mixed = None

        def add(out: Tensor, w: Tensor) -> None:
            nonlocal mixed
            y = out * w.view(1, -1, 1, 1, 1)
            mixed = y if mixed is None else mixed + y

        def add_normed(name: str, out: Tensor, w: Tensor) -> None:
            """``add`` of the normalised ``out``, with the scaling by ``w``
            folded into the normalisation where it is a plain BN."""
            nonlocal mixed
            y = per_edge(_scaled_norm(self.norm[name], out, w, c))
            mixed = y if mixed is None else mixed + y

        def per_edge(out: Tensor) -> Tensor:
            return out.view(batch, n, c, *out.shape[-2:])

        if self.convs:
            relu = F.relu(xa)
            square = [m for m in self.convs if CONV_CANDIDATES[m][1] == 1]
            if square:  # 1x1 and 3x3 in one convolution
                kernels = [
                    F.pad(self.weight[m], (1, 1, 1, 1))
                    if CONV_CANDIDATES[m][0] == 1 else self.weight[m]
                    for m in square
                ]
                out = F.conv2d(relu, torch.cat(kernels), stride=s, padding=1)
                for m, part in zip(square, out.split(n * c, dim=1)):
                    add_normed(m, part, weights[:, self._index(m)])
            for m in self.convs:
                dilation = CONV_CANDIDATES[m][1]
                if dilation == 1:
                    continue
                out = F.conv2d(
                    relu,
                    self.weight[m],
                    stride=s,
                    padding=dilation,
                    dilation=dilation)
                add_normed(m, out, weights[:, self._index(m)])
        for m in self.pools:
            if m == 'avg_pool_3x3':
                out = F.avg_pool2d(xa, 3, s, 1, count_include_pad=False)
            else:
                out = F.max_pool2d(xa, 3, s, 1)
            add(self.norm[m](out).unsqueeze(1), weights[:, self._index(m)])
        if self.skip:
            w_skip = weights[:, self._index('skip_connect')]
            if s == 1:
                add(xa.unsqueeze(1), w_skip)
            else:  # factorized reduce of every edge
                even, odd = offset_subsamples(xa)
                a = F.conv2d(F.relu(even), self.weight['reduce_1'])
                b = F.conv2d(F.relu(odd), self.weight['reduce_2'])
                h, w = a.shape[-2:]
                out = torch.cat([
                    a.view(batch, n, c // 2, h, w),
                    b.view(batch, n, c // 2, h, w)
                ],
                                dim=2)
                add_normed('skip_connect', out.view(batch, n * c, h, w),
                           w_skip)
        if self.se:
            gate = self.excite(
                F.relu(self.squeeze(xa.mean(dim=(2, 3), keepdim=True))))
            out = xa.unsqueeze(1) * torch.sigmoid(gate).view(batch, n, c, 1, 1)
            add(out, weights[:, self._index('se_connect')])
        if self.k == 1:
            rest = x[:, :0]
        else:
            rest = x[:, c:]
            if s == 2:
                rest = self.bypass(rest)
        if mixed is None:  # only "none": every edge outputs zeros
            mixed = x.new_zeros(batch, n, c, *rest.shape[-2:])
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

        def copy_norm(dst: nn.Module, src: nn.Module, sl: slice) -> None:
            for key in ('running_mean', 'running_var'):
                if getattr(src, key, None) is not None:
                    getattr(dst, key).copy_(getattr(src, key)[sl])
            if getattr(src, 'weight', None) is not None:
                dst.weight.copy_(src.weight[sl])
                dst.bias.copy_(src.bias[sl])

        for name, module in zip(names, op.ops):
            if name in CONV_CANDIDATES:
                module.conv.weight.copy_(self.weight[name][edge])
                copy_norm(module.bn, self.norm[name], edge)
            elif name in self.pools:
                copy_norm(module.bn, self.norm[name], slice(0, c))
            elif name == 'skip_connect' and self.stride == 2:
                half = slice(i * c // 2, (i + 1) * c // 2)
                module.conv_1.weight.copy_(self.weight['reduce_1'][half])
                module.conv_2.weight.copy_(self.weight['reduce_2'][half])
                copy_norm(module.bn, self.norm['skip_connect'], edge)
            elif name == 'se_connect':
                hidden = module.squeeze.out_channels
                hs = slice(i * hidden, (i + 1) * hidden)
                module.squeeze.weight.copy_(self.squeeze.weight[hs])
                module.squeeze.bias.copy_(self.squeeze.bias[hs])
                module.excite.weight.copy_(self.excite.weight[edge])
                module.excite.bias.copy_(self.excite.bias[edge])
        return op


class MixedCellGraph(nn.Module):
    """A cell's nodes, each reading all earlier states via mixed ops.

    The mixed operations are grouped by the state they read
    (:class:`MixedEdges`); node ``k`` sums its incoming edges weighted by the
    softmax of their betas. With K > 1 the node sums the active and the
    bypassed channels of its edges separately and shuffles once (the shuffle
    is a fixed permutation, so this equals shuffling every edge).

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
        self.k = spec.partial_channels
        # edges (indices into the alphas) grouped by the state they read
        self.edges_of: List[List[int]] = [[] for _ in range(1 + arch.nodes)]
        for e, src in enumerate(arch.sources):
            self.edges_of[src].append(e)
        # per node: (state, position among that state's edges, edge index)
        self.inputs_of: List[List[Tuple[int, int, int]]] = []
        e = 0
        for k in range(arch.nodes):
            self.inputs_of.append([])
            for src in range(2 + k):
                self.inputs_of[k].append((src, self.edges_of[src].index(e), e))
                e += 1
        self.banks = nn.ModuleList(
            MixedEdges(channels, arch.edge_stride(spec.cell_type, s), len(
                edges), arch.candidates, self.k, conv_cfg, norm_cfg)
            for s, edges in enumerate(self.edges_of))

    def forward(self, s0: Tensor, s1: Tensor) -> Tensor:
        arch = self._arch[0]
        op_w, edge_w = arch.mixing_weights(self.cell_type)
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
