"""The analytic compute cost of a network, read from its plan."""
from typing import Sequence, Tuple

from ...models.genotype import CellGenotype, Genotype
from ...models.operations import operation_spec
from ...models.plan import CellPlan, halved, plan_network


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
    # a projection costs the same whether it is a 1x1 conv or a factorized
    # reduce (two 1x1 stride-2 convs to c/2): h * w * c_in * c, at the size
    # of the newer input
    for p in net.cells:
        h, w = p.in_size
        total += h * w * (p.prev_prev_channels + p.prev_channels) * p.channels
        cell = genotype.reduce if p.reduction else genotype.normal
        total += _cell_edges_macs(cell, p.channels, p.out_size, p)
    # decoder: coarse to fine; the coarse input is projected before it is
    # upsampled
    for u in net.upsamples:
        (ch, cw), (fh, fw) = u.coarse_size, u.fine_size
        c = u.fine_channels // len(genotype.cells[u.name].concat)
        total += (ch * cw * u.coarse_channels + fh * fw * u.fine_channels) * c
        total += sum(
            operation_spec(op).macs(c, fh, fw, 1)
            for node in genotype.cells[u.name].edges for op, _ in node)
    fh, fw = net.head_size
    return total + fh * fw * net.head_channels * num_keypoints
