"""The analytic compute cost of a network, read from its plan."""
from typing import Optional, Sequence, Tuple

from ...models.backbone import default_reduction_indices
from ...models.genotype import CellGenotype, Genotype
from ...models.operations import operation_spec
from ...models.plan import (
    CellPlan,
    NetworkPlan,
    StackPlan,
    halved,
    plan_network,
    plan_stack,
)


def _cell_edges_macs(cell: CellGenotype, c: int, size: Tuple[int, int],
                     plan: CellPlan) -> int:
    """MACs of a cell's operations (each counted by its
    :class:`~autopose_mm.models.operations.OpSpec`); ``size`` is that of
    the cell's nodes (halved in a reduction cell)."""
    return sum(
        operation_spec(op).macs(c, size[0], size[1], plan.stride(src))
        for node in cell.edges for op, src in node)


def analytic_macs(genotype: Genotype,
                  cells_per_scale: Sequence[int],
                  base_channels: int,
                  input_size: Tuple[int, int],
                  num_keypoints: int = 17) -> int:
    """Multiply-accumulates (conv layers, batch 1) of the stage-1 AutoPose
    network with these cells and this layout, without a forward pass.

    Args:
        genotype (Genotype): The cells.
        cells_per_scale (Sequence[int]): Cells at 1/4, 1/8, 1/16, 1/32.
        base_channels (int): C.
        input_size (tuple): (H, W) of the input.
        num_keypoints (int): Heatmap channels of the 1x1 head.
    """
    net = plan_network(cells_per_scale, base_channels,
                       len(genotype.normal.concat), tuple(input_size))
    C = base_channels
    h2, w2 = halved(tuple(input_size))
    h, w = net.stem_size
    total = h2 * w2 * 3 * C * 9  # the stem: 3x3/2 to C, 3x3/2 to 2C, 3x3
    total += h * w * C * 2 * C * 9 + h * w * 2 * C * 2 * C * 9
    total += _stack_macs(genotype, net.stack) + _decoder_macs(genotype, net)
    fh, fw = net.head_size
    return total + fh * fw * net.head_channels * num_keypoints


def _stack_macs(genotype: Genotype, stack: StackPlan) -> int:
    """MACs of a chain of encoder cells: each cell's two input
    projections and its operations. A projection costs the same whether
    it is a 1x1 conv or a factorized reduce (two 1x1 stride-2 convs to
    c/2): h * w * c_in * c, at the size of the newer input."""
    total = 0
    for p in stack.cells:
        h, w = p.in_size
        total += h * w * (p.prev_prev_channels + p.prev_channels) * p.channels
        cell = genotype.reduce if p.reduction else genotype.normal
        total += _cell_edges_macs(cell, p.channels, p.out_size, p)
    return total


def _decoder_macs(genotype: Genotype, net: NetworkPlan) -> int:
    """MACs of the decoder, coarse to fine: the coarse input is projected
    before it is upsampled."""
    total = 0
    for u in net.upsamples:
        (ch, cw), (fh, fw) = u.coarse_size, u.fine_size
        c = u.fine_channels // len(genotype.cells[u.name].concat)
        total += (ch * cw * u.coarse_channels + fh * fw * u.fine_channels) * c
        total += sum(
            operation_spec(op).macs(c, fh, fw, 1)
            for node in genotype.cells[u.name].edges for op, _ in node)
    return total


def refinement_macs(
        genotype: Genotype,
        cells_per_scale: Sequence[int],
        base_channels: int,
        input_size: Tuple[int, int],
        num_keypoints: int = 17,
        refine_channels: int = 64,
        refine_num_cells: int = 12,
        refine_reduction_indices: Optional[Sequence[int]] = None) -> int:
    """Multiply-accumulates the refinement stage adds (``num_stages=2``
    of the decoder and head): the projection of the decoded feature, the
    refinement encoder, the projections of its taps, the second decoder
    and the second heatmap layer. The ``refine_*`` arguments are the
    decoder's (``model.neck``)."""
    m = len(genotype.normal.concat)
    net = plan_network(cells_per_scale, base_channels, m, tuple(input_size))
    h, w = net.stem_size
    refine = plan_stack(
        (refine_channels, refine_channels), refine_channels // m,
        refine_num_cells, refine_reduction_indices
        or default_reduction_indices(refine_num_cells), m, (h, w))
    total = h * w * net.head_channels * refine_channels
    total += _stack_macs(genotype, refine)
    total += sum(rh * rw * rc * c for (rh, rw), rc, c in zip(
        refine.tap_sizes, refine.tap_channels, net.stack.tap_channels))
    total += _decoder_macs(genotype, net)
    fh, fw = net.head_size
    return total + fh * fw * net.head_channels * num_keypoints
