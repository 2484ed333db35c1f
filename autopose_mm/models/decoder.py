"""The searched decoder neck, with its optional refinement stage."""
from typing import List, Mapping, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from .backbone import (
    CellStack,
    check_network_size,
    default_reduction_indices,
)
from .cells import CellGraphs, CellWeights, GenotypeGraphs, UpsampleCell
from .genotype import DECODER_CELLS, GenotypeLike, load_genotype
from .operations import DEFAULT_NORM_CFG, ReLUConvBN
from .plan import plan_decoder

# What the refinement stage reads (see AutoPoseDecoder).
STAGE2_INPUTS = ('released', 'encoder_taps')


class Decoder(BaseModule):
    """Three upsample cells, 1/32 -> 1/16 -> 1/8 -> 1/4.

    Args:
        in_channels (Sequence[int]): Channels of the taps at 1/4, 1/8, 1/16
            and 1/32. Each decoded feature has the channels of the tap at its
            scale.
        graphs (CellGraphs): Builds the three decoder cells' graphs.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Config of the normalisation layers.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 graphs: CellGraphs,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.cells = nn.ModuleList(
            UpsampleCell(
                p.coarse_channels,
                p.fine_channels,
                p.fine_channels,
                graphs,
                p.name,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg) for p in plan_decoder(
                    in_channels, graphs.multiplier(DECODER_CELLS[0])))

    def forward(
            self,
            taps: Sequence[Tensor],
            weights: Optional[Mapping[str,
                                      CellWeights]] = None) -> List[Tensor]:
        """Decode the taps (coarse to fine, see
        :func:`~autopose_mm.models.plan.plan_decoder`); returns features at
        1/4, 1/8 and 1/16.
        ``weights``: architecture weights by cell type, for mixed cells."""
        x = taps[3]
        decoded = []
        for i, cell in enumerate(self.cells):
            w = None if weights is None else weights[cell.cell_type]
            x = cell(x, taps[2 - i], w)
            decoded.append(x)
        return decoded[::-1]


@MODELS.register_module()
class AutoPoseDecoder(BaseModule):
    """The AutoPose decoder neck.

    Stage 1 decodes the backbone's four taps into a 1/4-resolution feature.
    With ``num_stages=2`` a fixed-width refinement encoder re-reads the
    stage-1 result, its taps are projected to the backbone's widths and
    added to the stage-1 features, and a second decoder (own weights, same
    genotype) decodes the sums. ``stage2_inputs`` says which features:

    - ``'released'`` (default): the function of the reference release, for
      which the published two-stage results hold. With ``d0, d1, d2`` the
      stage-1 decoded features at 1/4, 1/8, 1/16, ``t3`` the backbone's
      1/32 tap, ``P`` the shared projection and ``Q_s`` the projections of
      the refinement taps ``R_s``: the refinement encoder reads ``P(d0)``
      and ``2 P(d0)``; the second decoder reads ``2 relu(d0) + Q_0(R_0)``,
      ``2 d1 + Q_1(R_1)``, ``2 d2 + Q_2(R_2)`` and ``t3 + Q_3(R_3)``. The
      backbone's 1/4-1/16 taps reach stage 2 only through ``d0..d2``.
    - ``'encoder_taps'``: a deviation from the release, in which the
      refinement encoder reads ``P(d0)`` and ``P(d0) + P(t0)`` and the
      second decoder ``t_s + d_s + Q_s(R_s)`` (``t3 + Q_3(R_3)`` at 1/32),
      so that the backbone's taps at every scale feed stage 2. Its weights
      have the same names and shapes; the function differs.

    The neck returns one 1/4-resolution feature per stage, after a ReLU, so
    that a 1x1 :class:`HeatmapHead` (one stage) or :class:`CPMHead` (all
    stages) turns them into heatmaps.

    Args:
        in_channels (Sequence[int]): Channels of the backbone taps at 1/4,
            1/8, 1/16 and 1/32.
        genotype (str | dict | Genotype): The searched cells. Defaults to
            ``'published'``.
        num_stages (int): 1, or 2 for the refinement stage. Defaults to 1.
        refine_channels (int): Width the refinement encoder reads (its first
            tap's channels). Defaults to 64.
        refine_num_cells (int): Cells of the refinement encoder. Defaults to
            12.
        refine_reduction_indices (Sequence[int], optional): Its reduction
            cells. Defaults to :func:`default_reduction_indices` of
            ``refine_num_cells`` (``(3, 6, 9)`` for 12).
        stage2_inputs (str): ``'released'`` or ``'encoder_taps'`` (see
            above). Defaults to ``'released'``.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Config of the normalisation layers.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        genotype: GenotypeLike = 'published',
        num_stages: int = 1,
        refine_channels: int = 64,
        refine_num_cells: int = 12,
        refine_reduction_indices: Optional[Sequence[int]] = None,
        stage2_inputs: str = 'released',
        conv_cfg: OptConfigType = None,
        norm_cfg: ConfigType = DEFAULT_NORM_CFG,
        init_cfg: OptMultiConfig = [
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm'])
        ]
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_stages not in (1, 2):
            raise ValueError(f'num_stages must be 1 or 2, got {num_stages!r}')
        if stage2_inputs not in STAGE2_INPUTS:
            raise ValueError(f'model.neck.stage2_inputs must be one of '
                             f'{", ".join(map(repr, STAGE2_INPUTS))}, got '
                             f'{stage2_inputs!r}')
        self.stage2_inputs = stage2_inputs
        self.in_channels = tuple(in_channels)
        self.out_channels = self.in_channels[0]  # every stage, at 1/4
        self.num_stages = num_stages
        self.genotype = load_genotype(genotype)
        graphs = GenotypeGraphs(self.genotype)
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.decoder = Decoder(self.in_channels, graphs, **cfg)
        if num_stages == 2:
            check_network_size(
                'model.neck',
                refine_num_cells=refine_num_cells,
                refine_channels=refine_channels)
            multiplier = graphs.multiplier('normal')
            if refine_channels % multiplier:
                raise ValueError(
                    f'refine_channels ({refine_channels}) must be divisible '
                    f'by the genotype\'s {multiplier} concatenated nodes; '
                    f'change refine_channels or the genotype')
            self.refine_proj = ReLUConvBN(self.in_channels[0], refine_channels,
                                          1, **cfg)
            self.refine = CellStack(
                in_channels=(refine_channels, refine_channels),
                cell_channels=refine_channels // multiplier,
                num_cells=refine_num_cells,
                reduction_indices=refine_reduction_indices
                or default_reduction_indices(refine_num_cells),
                graphs=graphs,
                **cfg)
            self.refine_out = nn.ModuleList(
                ReLUConvBN(rc, c, 1, **cfg)
                for rc, c in zip(self.refine.out_channels, self.in_channels))
            self.decoder2 = Decoder(self.in_channels, graphs, **cfg)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, taps: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Return the 1/4-resolution feature of every stage."""
        decoded = self.decoder(taps)
        first = self.relu(decoded[0])
        if self.num_stages == 1:
            return (first, )
        if self.stage2_inputs == 'released':
            proj = self.refine_proj(first)  # P starts with a ReLU: P(d0)
            refine_taps = self.refine(proj, proj + proj)
            carried = [first + first] + [d + d for d in decoded[1:]]
        else:
            proj = self.refine_proj(decoded[0])
            refine_taps = self.refine(proj, proj + self.refine_proj(taps[0]))
            carried = [t + d for t, d in zip(taps, decoded)]
        carried.append(taps[len(decoded)])
        fused = [
            x + q(r) for x, q, r in zip(carried, self.refine_out, refine_taps)
        ]
        return first, self.relu(self.decoder2(fused)[0])
