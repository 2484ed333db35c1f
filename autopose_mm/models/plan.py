"""The network plan: one walk of the AutoPose macro-structure.

Every part of the project that needs the shape of a network reads it from
here: :class:`~autopose_mm.models.backbone.CellStack` and
:class:`~autopose_mm.models.decoder.Decoder` build their cells from it, the
bi-level supernet lays out its deepest network with it, and the analytic
GMACs and the latency blocks of the search walk it instead of the modules.

A plan holds, for a stem of width C and a layout ``(n1, n2, n3, n4)``:

- the cells of the encoder in order (:class:`CellPlan`: scale, whether it
  or the cell before reduces, its input and node widths, and, when the
  input size is known, the sizes of its two inputs and of its output);
- the taps, the last cell of each scale (channels and size);
- the three decoder cells (:class:`UpsamplePlan`), coarse to fine.

The one stride rule of the cells is :func:`edge_stride`.
"""
import math
from typing import List, NamedTuple, Optional, Sequence, Tuple

from .genotype import DECODER_CELLS, edge_stride

NUM_SCALES = 4

Size = Optional[Tuple[int, int]]

__all__ = [
    'NUM_SCALES', 'CellPlan', 'UpsamplePlan', 'StackPlan', 'NetworkPlan',
    'edge_stride', 'cells_to_reductions', 'reductions_to_cells', 'plan_stack',
    'plan_decoder', 'plan_network', 'halved'
]


def halved(size: Size) -> Size:
    """The size after a stride-2 layer with padding (rounded up)."""
    if size is None:
        return None
    return math.ceil(size[0] / 2), math.ceil(size[1] / 2)


class CellPlan(NamedTuple):
    """Where one encoder cell sits and how wide it is."""
    scale: int  # 0 = 1/4 .. 3 = 1/32
    reduction: bool
    reduction_prev: bool
    prev_prev_channels: int  # channels of the older input
    prev_channels: int  # channels of the newer input
    channels: int  # node width
    older_size: Size = None  # (h, w) of the older input
    in_size: Size = None  # (h, w) of the newer input
    out_size: Size = None  # (h, w) of the cell's nodes and output

    def stride(self, source: int) -> int:
        """Stride of an edge of this cell reading state ``source``."""
        return edge_stride(self.reduction, source)


class UpsamplePlan(NamedTuple):
    """One decoder cell: it fuses the coarse feature with the finer tap."""
    name: str  # the cell type, e.g. 'upsample_1_8_to_1_4'
    fine_scale: int  # the scale it outputs (2, 1, 0)
    coarse_channels: int
    fine_channels: int
    channels: int  # node width
    coarse_size: Size = None
    fine_size: Size = None


class StackPlan(NamedTuple):
    """A chain of encoder cells and the tap of each scale."""
    cells: Tuple[CellPlan, ...]
    tap_indices: Tuple[int, ...]  # the last cell of every scale
    tap_channels: Tuple[int, ...]
    tap_sizes: Tuple[Size, ...]


class NetworkPlan(NamedTuple):
    """A whole stage-1 network: stem, encoder cells, taps and decoder."""
    base_channels: int
    input_size: Size
    stem_size: Size  # (h, w) of the stem's outputs (1/4)
    multiplier: int
    stack: StackPlan
    upsamples: Tuple[UpsamplePlan, ...]

    @property
    def cells(self) -> Tuple[CellPlan, ...]:
        return self.stack.cells

    @property
    def head_size(self) -> Size:
        return self.stack.tap_sizes[0]

    @property
    def head_channels(self) -> int:
        return self.stack.tap_channels[0]


def cells_to_reductions(cells_per_scale: Sequence[int]) -> Tuple[int, ...]:
    """Turn per-scale cell counts, e.g. ``(3, 5, 7, 3)``, into the indices of
    the reduction cells, e.g. ``(3, 8, 15)``."""
    indices, total = [], 0
    for count in cells_per_scale[:-1]:
        total += count
        indices.append(total)
    return tuple(indices)


def reductions_to_cells(num_cells: int,
                        reduction_indices: Sequence[int]) -> Tuple[int, ...]:
    """The inverse of :func:`cells_to_reductions`: 18 cells reducing at
    ``(3, 8, 15)`` are ``(3, 5, 7, 3)`` per scale."""
    bounds = (0, ) + tuple(reduction_indices) + (num_cells, )
    return tuple(b - a for a, b in zip(bounds, bounds[1:]))


def plan_stack(in_channels: Tuple[int, int],
               cell_channels: int,
               num_cells: int,
               reduction_indices: Sequence[int],
               multiplier: int,
               in_size: Size = None) -> StackPlan:
    """The cell and channel arithmetic of a chain of encoder cells: a cell
    reads the outputs of the two cells before it, its nodes are
    ``channels`` wide, doubling at every reduction cell, and it outputs
    ``multiplier * channels``.

    Args:
        in_channels (tuple[int, int]): Channels of the two initial inputs.
        cell_channels (int): Node width of the first cell.
        num_cells (int): Number of cells.
        reduction_indices (Sequence[int]): Indices of the reduction cells.
        multiplier (int): Nodes concatenated into a cell's output.
        in_size (tuple, optional): (h, w) of the two initial inputs; the
            plan then holds every cell's sizes.
    """
    prev_prev, prev = in_channels
    channels, scale, reduction_prev = cell_channels, 0, False
    older, size = in_size, in_size
    cells: List[CellPlan] = []
    for i in range(num_cells):
        reduction = i in reduction_indices
        if reduction:
            channels *= 2
            scale += 1
        out = halved(size) if reduction else size
        cells.append(
            CellPlan(scale, reduction, reduction_prev, prev_prev, prev,
                     channels, older, size, out))
        prev_prev, prev = prev, multiplier * channels
        reduction_prev = reduction
        older, size = size, out
    taps = tuple(i - 1 for i in reduction_indices) + (num_cells - 1, )
    return StackPlan(
        tuple(cells), taps,
        tuple(multiplier * cells[i].channels for i in taps),
        tuple(cells[i].out_size for i in taps))


def plan_decoder(
    tap_channels: Sequence[int],
    multiplier: int,
    tap_sizes: Sequence[Size] = (None, ) * NUM_SCALES
) -> Tuple[UpsamplePlan, ...]:
    """The three decoder cells, coarse to fine: cell ``i`` outputs scale
    ``2 - i`` (0 = 1/4) from the feature at scale ``3 - i``, with the
    channels of the tap at its scale."""
    if len(tap_channels) != NUM_SCALES:
        raise ValueError(f'the decoder needs {NUM_SCALES} taps (1/4 .. '
                         f'1/32), got in_channels={list(tap_channels)}')
    plans = []
    for i, name in enumerate(DECODER_CELLS):
        fine = 2 - i
        plans.append(
            UpsamplePlan(name, fine, tap_channels[fine + 1],
                         tap_channels[fine], tap_channels[fine] // multiplier,
                         tap_sizes[fine + 1], tap_sizes[fine]))
    return tuple(plans)


def plan_network(cells_per_scale: Sequence[int],
                 base_channels: int,
                 multiplier: int,
                 input_size: Size = None) -> NetworkPlan:
    """The stage-1 AutoPose network with ``cells_per_scale`` cells at 1/4,
    1/8, 1/16 and 1/32 and stem width C = ``base_channels``: the stem's two
    outputs have 2C channels at 1/4 of ``input_size`` (H, W), the first
    cell's nodes C/2."""
    C = base_channels
    stem = halved(halved(input_size))
    stack = plan_stack((2 * C, 2 * C), C // 2, sum(cells_per_scale),
                       cells_to_reductions(cells_per_scale), multiplier, stem)
    return NetworkPlan(
        C, input_size, stem, multiplier, stack,
        plan_decoder(stack.tap_channels, multiplier, stack.tap_sizes))
