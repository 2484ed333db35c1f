"""The blocks of a latency lookup table: what a network is cut into, the
module that computes each block, and whole networks to measure.

A network is cut into blocks (:func:`network_blocks`, a walk of its
:class:`~autopose_mm.models.plan.NetworkPlan`):

- ``stem``: the two stem convolutions;
- ``op``: one candidate operation at one width, input size and stride;
- ``cell``: an encoder cell without its operations (the two input
  projections, the node sums and the concatenation);
- ``up``: the same for a decoder cell (with the upsampling);
- ``head``: the final ReLU and 1x1 heatmap convolution;
- ``call``: an almost empty block (a ReLU of one number): what one call of
  the runtime costs by itself. Every block's time includes it, a whole
  network pays it once, so the sum subtracts it from each block.
"""
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from torch import Tensor

from ...deploy.timing import EstimatorForward, make_runner
from ...models.backbone import build_stem
from ...models.cells import EncoderCell, UpsampleCell
from ...models.genotype import DECODER_CELLS, Genotype
from ...models.operations import (
    DEFAULT_NORM_CFG,
    build_operation,
    supports_stride,
)
from ...models.plan import plan_network


@dataclass(frozen=True)
class Block:
    """One measurable piece of a network: a kind and its shape fields."""
    kind: str
    fields: Tuple[Tuple[str, object], ...]

    @property
    def key(self) -> str:
        return self.kind + ':' + ','.join(f'{k}={v}' for k, v in self.fields)

    def get(self, name: str):
        return dict(self.fields)[name]


def _block(kind: str, **fields) -> Block:
    return Block(kind, tuple(fields.items()))


CALL_BLOCK = Block('call', ())

# (cell type, reduction) -> the (operation, source) edges of that cell
EdgesOf = Callable[[str, bool], Iterable[Tuple[str, int]]]


def _walk(layout: Sequence[int], base_channels: int,
          input_size: Tuple[int, int], num_keypoints: int, nodes: int,
          multiplier: int, edges_of: EdgesOf) -> List[Block]:
    """The blocks of a network with ``layout`` cells per scale (its
    :func:`~autopose_mm.models.plan.plan_network`), its cells' edges given
    by ``edges_of``."""
    net = plan_network(layout, base_channels, multiplier, tuple(input_size))
    H, W = input_size
    blocks = [_block('stem', c=base_channels, h=H, w=W)]
    for p in net.cells:
        (h0, w0), (h, w) = p.older_size, p.in_size
        blocks.append(
            _block(
                'cell',
                pp=p.prev_prev_channels,
                p=p.prev_channels,
                c=p.channels,
                h0=h0,
                w0=w0,
                h=h,
                w=w,
                red=int(p.reduction),
                red_prev=int(p.reduction_prev),
                nodes=nodes,
                concat=multiplier))
        cell_type = 'reduce' if p.reduction else 'normal'
        for op, src in edges_of(cell_type, p.reduction):
            stride = p.stride(src)
            ih, iw = p.in_size if stride == 2 else p.out_size
            blocks.append(
                _block('op', op=op, c=p.channels, h=ih, w=iw, s=stride))
    for u in net.upsamples:
        (ch, cw), (fh, fw) = u.coarse_size, u.fine_size
        c = u.fine_channels // multiplier
        blocks.append(
            _block(
                'up',
                cc=u.coarse_channels,
                fc=u.fine_channels,
                c=c,
                ch=ch,
                cw=cw,
                h=fh,
                w=fw,
                nodes=nodes,
                concat=multiplier))
        for op, _ in edges_of(u.name, False):
            blocks.append(_block('op', op=op, c=c, h=fh, w=fw, s=1))
    fh, fw = net.head_size
    blocks.append(
        _block('head', c=net.head_channels, h=fh, w=fw, k=num_keypoints))
    return blocks


def network_blocks(genotype: Genotype,
                   layout: Sequence[int],
                   base_channels: int,
                   input_size: Tuple[int, int],
                   num_keypoints: int = 17) -> List[Block]:
    """The blocks of the stage-1 network of ``genotype`` with ``layout``
    cells per scale, C = ``base_channels``, at ``input_size`` (H, W)."""
    multiplier = len(genotype.normal.concat)
    for cell in genotype.cells.values():
        if len(cell.concat) != multiplier:
            raise ValueError('the latency model needs cells that all '
                             'concatenate the same number of nodes')

    def edges_of(cell_type: str, reduction: bool):
        return [e for node in genotype.cells[cell_type].edges for e in node]

    return _walk(layout, base_channels, input_size, num_keypoints,
                 genotype.nodes, multiplier, edges_of)


def space_blocks(candidates: Sequence[str], layouts: Iterable[Sequence[int]],
                 base_channels: int, input_size: Tuple[int, int],
                 num_keypoints: int, nodes: int) -> Dict[str, Block]:
    """Every block any network of the search space can contain: each
    candidate (other than ``none``) at every width, size and stride of
    every layout, by key."""
    ops = [op for op in candidates if op != 'none']

    def edges_of(cell_type: str, reduction: bool):
        edges = [(op, 2) for op in ops if supports_stride(op, 1)]
        if reduction:  # the edges that read the cell inputs
            edges += [(op, 0) for op in ops if supports_stride(op, 2)]
        return edges

    blocks: Dict[str, Block] = {CALL_BLOCK.key: CALL_BLOCK}
    for layout in layouts:
        for b in _walk(layout, base_channels, input_size, num_keypoints, nodes,
                       nodes, edges_of):
            blocks.setdefault(b.key, b)
    return blocks


class _GlueGraph(nn.Module):
    """A cell's node graph without operations: each node sums two states,
    the cell concatenates its nodes (at the halved size in a reduction
    cell), so that the block costs what a cell costs besides its
    operations."""

    def __init__(self, nodes: int, concat: int, reduction: bool) -> None:
        super().__init__()
        self.nodes, self.concat, self.reduction = nodes, concat, reduction

    def forward(self, s0: Tensor, s1: Tensor) -> Tensor:
        if self.reduction:
            s0, s1 = s0[:, :, ::2, ::2], s1[:, :, ::2, ::2]
        states = [s0 + s1]
        for _ in range(self.nodes - 1):
            states.append(states[-1] + s1)
        return torch.cat(states[-self.concat:], dim=1)


class _GlueGraphs:
    """A :class:`~autopose_mm.models.cells.CellGraphs` of glue graphs."""

    def __init__(self, nodes: int, concat: int) -> None:
        self.nodes, self.concat = nodes, concat

    def multiplier(self, cell_type: str) -> int:
        return self.concat

    def build(self, cell_type, channels, reduction, conv_cfg, norm_cfg):
        return _GlueGraph(self.nodes, self.concat, reduction)


class _Stem(nn.Module):

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.stem0, self.stem1 = build_stem(3, channels, None,
                                            DEFAULT_NORM_CFG)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        s0 = self.stem0(x)
        return s0, self.stem1(s0)


def build_block(block: Block) -> Tuple[nn.Module, Tuple[Tensor, ...]]:
    """An eval-mode module computing ``block`` and example inputs."""
    f = dict(block.fields)
    if block.kind == 'stem':
        module = _Stem(f['c'])
        inputs = (torch.randn(1, 3, f['h'], f['w']), )
    elif block.kind == 'op':
        module = build_operation(f['op'], f['c'], f['s'], None,
                                 DEFAULT_NORM_CFG)
        inputs = (torch.randn(1, f['c'], f['h'], f['w']), )
    elif block.kind == 'cell':
        module = EncoderCell(
            f['pp'],
            f['p'],
            f['c'],
            _GlueGraphs(f['nodes'], f['concat']),
            reduction=bool(f['red']),
            reduction_prev=bool(f['red_prev']))
        inputs = (torch.randn(1, f['pp'], f['h0'],
                              f['w0']), torch.randn(1, f['p'], f['h'], f['w']))
    elif block.kind == 'up':
        module = UpsampleCell(f['cc'], f['fc'], f['c'] * f['concat'],
                              _GlueGraphs(f['nodes'], f['concat']),
                              DECODER_CELLS[0])
        inputs = (torch.randn(1, f['cc'], f['ch'],
                              f['cw']), torch.randn(1, f['fc'], f['h'],
                                                    f['w']))
    elif block.kind == 'call':
        module = nn.ReLU()
        inputs = (torch.randn(1, 1, 1, 1), )
    elif block.kind == 'head':
        module = nn.Sequential(nn.ReLU(), nn.Conv2d(f['c'], f['k'], 1))
        inputs = (torch.randn(1, f['c'], f['h'], f['w']), )
    else:
        raise ValueError(f'unknown block kind {block.kind!r}')
    return module.eval(), inputs


def build_network(genotype: Genotype,
                  base_channels: int,
                  input_size: Tuple[int, int],
                  num_keypoints: int = 17) -> nn.Module:
    """The stage-1 network of ``genotype`` (its ``cells_per_scale`` is the
    layout) as a module taking an image batch, in eval mode."""
    if genotype.cells_per_scale is None:
        raise ValueError('the genotype has no network level '
                         '(cells_per_scale): give it a layout')
    init_default_scope('mmpose')
    estimator = MODELS.build(
        dict(
            type='AutoPoseEstimator',
            genotype=genotype.to_dict(),
            backbone=dict(
                type='AutoPoseNet',
                arch=None,
                base_channels=base_channels,
                init_cfg=None),
            neck=dict(type='AutoPoseDecoder', num_stages=1),
            head=dict(
                type='HeatmapHead',
                out_channels=num_keypoints,
                deconv_out_channels=None,
                final_layer=dict(kernel_size=1))))
    return EstimatorForward(estimator).eval()


def network_runner(genotype: Genotype, base_channels: int,
                   input_size: Tuple[int, int], num_keypoints: int,
                   runtime: str, threads: int) -> Callable[[], None]:
    """A function running the whole network of ``genotype`` once on a
    batch-1 input with ``runtime`` (see :func:`make_runner`)."""
    net = build_network(genotype, base_channels, input_size, num_keypoints)
    x = torch.randn(1, 3, *input_size)
    return make_runner(net, (x, ), runtime, threads)
