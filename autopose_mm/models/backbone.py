"""AutoPoseNet: the searched-cell encoder of the AutoPose networks."""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from ..utils.limits import limit, limit_hint
from .cells import (
    CellGraphs,
    CellWeights,
    EncoderCell,
    GenotypeGraphs,
    run_graph,
)
from .genotype import GenotypeLike, load_genotype
from .operations import DEFAULT_NORM_CFG, run_shared_input, shared_input_key
from .plan import NUM_SCALES, cells_to_reductions, plan_stack

# The published presets: L cells, C initial channels, and where the encoder
# halves the resolution (cell indices of the three reduction cells).
ARCH_SETTINGS: Dict[str, Dict] = {
    'L12-C32':
    dict(num_cells=12, base_channels=32, reduction_indices=(3, 6, 9)),
    'L18-C48':
    dict(num_cells=18, base_channels=48, reduction_indices=(3, 8, 15)),
    'L18-C64':
    dict(num_cells=18, base_channels=64, reduction_indices=(3, 8, 15)),
}
PUBLISHED_REDUCTIONS = {
    s['num_cells']: s['reduction_indices']
    for s in ARCH_SETTINGS.values()
}


def default_reduction_indices(num_cells: int) -> Tuple[int, ...]:
    """Reduction positions for ``num_cells`` encoder cells.

    L = 12 and L = 18 use the published positions. Any other L spreads the
    cells over the four scales as evenly as possible, the remainder going to
    the 1/16 scale first, then 1/8, then 1/4 (e.g. L = 10 gives 2, 3, 3, 2
    cells, i.e. reductions at cells 2, 5, 8).
    """
    if num_cells in PUBLISHED_REDUCTIONS:
        return PUBLISHED_REDUCTIONS[num_cells]
    if num_cells < NUM_SCALES:
        raise ValueError(f'num_cells must be at least {NUM_SCALES} (one cell '
                         f'per scale), got {num_cells}')
    per_scale = [num_cells // NUM_SCALES] * NUM_SCALES
    for i in (2, 1, 0)[:num_cells % NUM_SCALES]:
        per_scale[i] += 1
    return cells_to_reductions(per_scale)


def check_reduction_indices(
        num_cells: int, reduction_indices: Sequence[int]) -> Tuple[int, ...]:
    """Validate that the reductions leave at least one cell per scale."""
    indices = tuple(int(i) for i in reduction_indices)
    valid = (
        len(indices) == NUM_SCALES - 1
        and all(a < b
                for a, b in zip((0, ) + indices, indices + (num_cells, ))))
    if not valid:
        raise ValueError(
            f'reduction_indices must be {NUM_SCALES - 1} increasing cell '
            f'indices in 1..{num_cells - 1} (so that each of the 4 scales '
            f'has at least one cell) for num_cells={num_cells}, got '
            f'{list(reduction_indices)}')
    return indices


def build_stem(in_channels: int, channels: int, conv_cfg: OptConfigType,
               norm_cfg: ConfigType) -> Tuple[nn.Module, nn.Module]:
    """The stem: 3x3/2 conv-BN-ReLU to C, 3x3/2 conv-BN-ReLU to 2C (the
    first cell's older input), 3x3 conv-BN (its newer input)."""

    def conv_bn(cin: int, cout: int, stride: int) -> List[nn.Module]:
        return [
            build_conv_layer(
                conv_cfg, cin, cout, 3, stride=stride, padding=1, bias=False),
            build_norm_layer(norm_cfg, cout)[1]
        ]

    C = channels
    stem0 = nn.Sequential(*conv_bn(in_channels, C, 2), nn.ReLU(inplace=True),
                          *conv_bn(C, 2 * C, 2), nn.ReLU(inplace=True))
    stem1 = nn.Sequential(*conv_bn(2 * C, 2 * C, 1))
    return stem0, stem1


class CellStack(BaseModule):
    """A chain of encoder cells that returns one tap per scale.

    Args:
        in_channels (tuple[int, int]): Channels of the two initial inputs
            (older first); both at the same resolution.
        cell_channels (int): Node width of the first cell; doubles at every
            reduction cell.
        num_cells (int): Number of cells.
        reduction_indices (Sequence[int]): Indices of the 3 reduction cells.
        graphs (CellGraphs): Builds the ``normal`` and ``reduce`` cells'
            graphs.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Config of the normalisation layers.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Tuple[int, int],
                 cell_channels: int,
                 num_cells: int,
                 reduction_indices: Sequence[int],
                 graphs: CellGraphs,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        reductions = check_reduction_indices(num_cells, reduction_indices)
        plan = plan_stack(in_channels, cell_channels, num_cells, reductions,
                          graphs.multiplier('normal'))
        self.tap_indices = plan.tap_indices
        self.cells = nn.ModuleList()
        self.out_channels: List[int] = []
        for i, p in enumerate(plan.cells):
            cell = EncoderCell(
                p.prev_prev_channels,
                p.prev_channels,
                p.channels,
                graphs,
                reduction=p.reduction,
                reduction_prev=p.reduction_prev,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg)
            self.cells.append(cell)
            if i in self.tap_indices:
                self.out_channels.append(cell.out_channels)
        # cells whose newer-input projection runs together with the next
        # cell's older-input projection (both read this cell's input)
        self.shares_next: List[bool] = [
            shared_input_key(a.preprocess1) is not None and shared_input_key(
                a.preprocess1) == shared_input_key(b.preprocess0)
            for a, b in zip(self.cells, self.cells[1:])
        ] + [False]

    def forward(
        self,
        s0: Tensor,
        s1: Tensor,
        weights: Optional[Mapping[str,
                                  CellWeights]] = None) -> Tuple[Tensor, ...]:
        """Run the cells. A cell's output is the newer input of the next
        cell and the older input of the one after; where both projections
        are ReLU-conv-BN of one shape they run as one convolution.

        Args:
            s0, s1 (Tensor): The two initial inputs.
            weights (dict, optional): Architecture weights by cell type,
                for mixed cells; None for fixed ones.
        """
        taps = []
        ahead = None  # the next cell's projected older input
        for i, cell in enumerate(self.cells):
            p0 = cell.preprocess0(s0) if ahead is None else ahead
            if self.shares_next[i]:
                p1, ahead = run_shared_input(
                    [cell.preprocess1, self.cells[i + 1].preprocess0], s1)
            else:
                p1, ahead = cell.preprocess1(s1), None
            w = None if weights is None else weights[cell.cell_type]
            s0, s1 = s1, run_graph(cell.graph, p0, p1, w)
            if i in self.tap_indices:
                taps.append(s1)
        return tuple(taps)


# the bound of each size setting (autopose_mm.utils.limits)
SIZE_LIMITS = dict(
    num_cells='num_cells',
    refine_num_cells='num_cells',
    base_channels='channels',
    refine_channels='channels')


def check_network_size(where: str, **sizes: int) -> None:
    """Refuse a network larger than the bounds of
    :mod:`autopose_mm.utils.limits` before any layer is built (a typo such
    as ``num_cells=100000`` would otherwise take minutes and gigabytes).

    Args:
        where (str): The config section, e.g. ``'model.backbone'``.
        **sizes: Settings of :data:`SIZE_LIMITS` and their values.

    Raises:
        ValueError: Naming the setting, the bound and its variable.
    """
    for key, value in sizes.items():
        bound = SIZE_LIMITS[key]
        if value > limit(bound):
            raise ValueError(
                f'{where}.{key}={value} is larger than this package builds '
                f'{limit_hint(bound)}')


def resolve_arch(arch: Optional[str], num_cells: Optional[int],
                 base_channels: Optional[int],
                 reduction_indices: Optional[Sequence[int]]) -> Dict:
    """Merge the preset ``arch`` of :data:`ARCH_SETTINGS` with explicit
    arguments and validate them; returns ``num_cells``, ``base_channels``
    and ``reduction_indices``."""
    if arch is None:
        settings = {}
    elif arch in ARCH_SETTINGS:
        settings = dict(ARCH_SETTINGS[arch])
    else:
        raise ValueError(
            f'unknown AutoPoseNet arch {arch!r}; choose one of '
            f'{", ".join(ARCH_SETTINGS)}, or set arch=None and give '
            f'num_cells and base_channels')
    if num_cells is not None:
        if num_cells != settings.get('num_cells'):
            settings.pop('reduction_indices', None)
        settings['num_cells'] = num_cells
    if base_channels is not None:
        settings['base_channels'] = base_channels
    if reduction_indices is not None:
        settings['reduction_indices'] = tuple(reduction_indices)
    L = settings.get('num_cells')
    C = settings.get('base_channels')
    if isinstance(L, bool) or not isinstance(L, int) or L < NUM_SCALES:
        raise ValueError(f'num_cells (L) must be an integer >= '
                         f'{NUM_SCALES}, got {L!r}')
    if isinstance(C, bool) or not isinstance(C, int) or C < 2 or C % 2:
        raise ValueError(f'base_channels (C) must be a positive even '
                         f'integer, got {C!r}')
    check_network_size('model.backbone', num_cells=L, base_channels=C)
    if 'reduction_indices' not in settings:
        settings['reduction_indices'] = default_reduction_indices(L)
    settings['reduction_indices'] = check_reduction_indices(
        L, settings['reduction_indices'])
    return settings


class CellEncoder(BaseBackbone):
    """A stem and a :class:`CellStack`: the body that :class:`AutoPoseNet`
    (fixed cells) and the search supernet (mixed cells) share.

    Args:
        graphs (CellGraphs): Builds the cells' graphs.
        settings (dict): ``num_cells``, ``base_channels`` and
            ``reduction_indices`` (see :func:`resolve_arch`).
        in_channels (int): Image channels.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Config of the normalisation layers.
        norm_eval (bool): Keep normalisation layers in eval mode during
            training.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    arch_settings = ARCH_SETTINGS

    def __init__(self,
                 graphs: CellGraphs,
                 settings: Dict,
                 in_channels: int = 3,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG,
                 norm_eval: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_cells = settings['num_cells']
        self.base_channels = C = settings['base_channels']
        self.reduction_indices = settings['reduction_indices']
        self.norm_eval = norm_eval
        self.stem0, self.stem1 = build_stem(in_channels, C, conv_cfg, norm_cfg)
        self.cells = CellStack(
            in_channels=(2 * C, 2 * C),
            cell_channels=C // 2,
            num_cells=self.num_cells,
            reduction_indices=self.reduction_indices,
            graphs=graphs,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg)
        self.out_channels = tuple(self.cells.out_channels)

    resolve_arch = staticmethod(resolve_arch)

    def forward(
        self,
        x: Tensor,
        weights: Optional[Mapping[str,
                                  CellWeights]] = None) -> Tuple[Tensor, ...]:
        s0 = self.stem0(x)
        s1 = self.stem1(s0)
        return self.cells(s0, s1, weights)

    def train(self, mode: bool = True) -> 'CellEncoder':
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self


@MODELS.register_module()
class AutoPoseNet(CellEncoder):
    """The AutoPose encoder: a stem and L searched cells.

    It returns four features, at 1/4, 1/8, 1/16 and 1/32 of the input, with
    ``2C``, ``4C``, ``8C`` and ``16C`` channels.

    Args:
        arch (str): A preset, ``'L12-C32'``, ``'L18-C48'`` or ``'L18-C64'``,
            which sets ``num_cells``, ``base_channels`` and
            ``reduction_indices``; any of them given explicitly overrides the
            preset. Defaults to ``'L12-C32'``.
        num_cells (int, optional): L, the number of cells.
        base_channels (int, optional): C, the stem width (even).
        reduction_indices (Sequence[int], optional): Indices of the three
            reduction cells. Defaults to the genotype's network level
            (``cells_per_scale``, which also sets ``num_cells``) if it has
            one, else the preset's, or :func:`default_reduction_indices`
            when ``num_cells`` is given.
        genotype (str | dict | Genotype): The searched cells: a JSON/YAML
            path, a dict, or ``'published'``. Defaults to ``'published'``.
        in_channels (int): Image channels. Defaults to 3.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Config of the normalisation layers, e.g.
            ``dict(type='SyncBN')`` on clusters.
        norm_eval (bool): Keep normalisation layers in eval mode during
            training. Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation config.

    Example:
        >>> import torch
        >>> from autopose_mm.models import AutoPoseNet
        >>> net = AutoPoseNet(arch='L12-C32').eval()
        >>> [tuple(o.shape) for o in net(torch.rand(1, 3, 256, 192))]
        [(1, 64, 64, 48), (1, 128, 32, 24), (1, 256, 16, 12), (1, 512, 8, 6)]
    """

    def __init__(
        self,
        arch: Optional[str] = 'L12-C32',
        num_cells: Optional[int] = None,
        base_channels: Optional[int] = None,
        reduction_indices: Optional[Sequence[int]] = None,
        genotype: GenotypeLike = 'published',
        in_channels: int = 3,
        conv_cfg: OptConfigType = None,
        norm_cfg: ConfigType = DEFAULT_NORM_CFG,
        norm_eval: bool = False,
        init_cfg: OptMultiConfig = [
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm'])
        ]
    ) -> None:
        genotype = load_genotype(genotype)
        layout = genotype.cells_per_scale
        if layout is not None and reduction_indices is None:
            # the genotype's network level sets L and the reductions
            num_cells = sum(layout)
            reduction_indices = cells_to_reductions(layout)
            preset = self.arch_settings.get(arch or '', {})
            if preset and preset['num_cells'] != num_cells:
                print_log(
                    f'genotype {genotype.name or "(unnamed)"!r} sets '
                    f'the network level cells_per_scale={list(layout)}: '
                    f'{num_cells} cells instead of the {preset["num_cells"]} '
                    f'of preset {arch}',
                    logger='current',
                    level=30)
        settings = resolve_arch(arch, num_cells, base_channels,
                                reduction_indices)
        super().__init__(
            GenotypeGraphs(genotype),
            settings,
            in_channels=in_channels,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            norm_eval=norm_eval,
            init_cfg=init_cfg)
        self.genotype = genotype

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return super().forward(x)
