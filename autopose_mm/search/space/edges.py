"""The mixed edges of the cell search: every candidate operation of an
edge at once, on 1/K of its channels (PC-DARTS).

- :class:`MixedOp` is one edge: it holds every candidate operation and sums
  their outputs, weighted by the softmax of the edge's alphas. It is the
  reference that :class:`MixedEdges` is tested against.
- :class:`MixedEdges` runs all edges that read one state together: the
  convolutions of every edge and kernel size as one grouped convolution,
  pools and identities once.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmpose.models.backbones.utils import channel_shuffle
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor

from ...models.operations import (
    DEFAULT_NORM_CFG,
    build_operation,
    offset_subsamples,
    operation_spec,
    supports_stride,
)


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
