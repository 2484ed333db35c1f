"""The whole-network search space: cells per scale, width, stages, cells.

A candidate of this space (:class:`Network`) is a whole AutoPose network:
its genotype (the encoder and decoder cells, with the network level
``cells_per_scale`` in it), its base width C and whether the refinement
stage runs. :class:`NetworkSpace` states the space's bounds, as a config's
``study.space`` section gives them::

    space = dict(
        cells_per_scale=[[1, 3], [1, 3], [1, 4], [1, 3]],  # min, max
        widths=[8, 12, 16, 24],
        stages=[1, 2])

:func:`apply_network` turns a training config into the config of one
candidate (what train, test, export and latency all build from), and
:func:`network_gmacs` counts its multiply-accumulates. Nothing here needs
the ``search`` extra.
"""
import copy
import dataclasses
import itertools
from typing import Any, Callable, Dict, List, Mapping, Sequence

import numpy as np
from mmengine.config import Config

from ..models.genotype import Genotype, load_genotype, nearest
from ..utils.limits import limit, limit_hint
from .costs.macs import analytic_macs, refinement_macs
from .space.sampling import draw_at_cost, sample_genotype

__all__ = [
    'NetworkSpace', 'Network', 'apply_network', 'network_gmacs',
    'sample_network', 'sample_networks_at_cost', 'SCALES'
]

# the encoder's scales: 1/4, 1/8, 1/16, 1/32
SCALES = 4
SPACE_KEYS = ('cells_per_scale', 'widths', 'stages')


@dataclasses.dataclass(frozen=True)
class NetworkSpace:
    """The bounds of the whole-network space.

    Args:
        cells_per_scale (Sequence[Sequence[int]]): ``[min, max]`` cells at
            each of the 4 scales (a scale's first cell past 1/4 is its
            reduction cell, so every scale has at least one).
        widths (Sequence[int]): The base widths C to choose from (even).
        stages (Sequence[int]): ``[1]``, ``[2]`` or ``[1, 2]``: whether the
            refinement stage may, must or must not run.
    """
    cells_per_scale: Sequence[Sequence[int]]
    widths: Sequence[int]
    stages: Sequence[int] = (1, )

    def __post_init__(self) -> None:
        bounds = [list(b) for b in self.cells_per_scale]
        if len(bounds) != SCALES or any(
                len(b) != 2 or not 1 <= b[0] <= b[1] for b in bounds):
            raise ValueError(
                f'study.space.cells_per_scale must give [min, max] with 1 <= '
                f'min <= max for each of the {SCALES} scales, got '
                f'{self.cells_per_scale}')
        if sum(b[1] for b in bounds) > limit('num_cells'):
            raise ValueError(f'study.space.cells_per_scale allows '
                             f'{sum(b[1] for b in bounds)} cells '
                             f'{limit_hint("num_cells")}')
        widths = [int(w) for w in self.widths]
        if not widths or any(w < 2 or w % 2 for w in widths):
            raise ValueError(f'study.space.widths must list even base '
                             f'widths of at least 2, got {self.widths}')
        if max(widths) > limit('channels'):
            raise ValueError(f'study.space.widths: {max(widths)} channels '
                             f'{limit_hint("channels")}')
        stages = sorted(set(int(s) for s in self.stages))
        if not stages or any(s not in (1, 2) for s in stages):
            raise ValueError(f'study.space.stages must be a non-empty subset '
                             f'of [1, 2], got {self.stages}')
        object.__setattr__(self, 'cells_per_scale',
                           tuple(tuple(b) for b in bounds))
        object.__setattr__(self, 'widths', tuple(sorted(set(widths))))
        object.__setattr__(self, 'stages', tuple(stages))

    def layouts(self) -> List[tuple]:
        """Every cells-per-scale layout of the space."""
        return list(
            itertools.product(
                *[range(lo, hi + 1) for lo, hi in self.cells_per_scale]))

    @classmethod
    def from_dict(cls, data: Mapping, where: str = 'study.space'):
        """Read a config's ``study.space``, refusing unknown keys."""
        if not isinstance(data, Mapping):
            raise ValueError(f'{where} must be a dict with '
                             f'{", ".join(SPACE_KEYS)}, got {data!r}')
        for key in data:
            if key not in SPACE_KEYS:
                raise ValueError(
                    f'{where}.{key} is not a setting of the network space'
                    f'{nearest(key, SPACE_KEYS)} (allowed: '
                    f'{", ".join(SPACE_KEYS)})')
        missing = [k for k in SPACE_KEYS[:2] if k not in data]
        if missing:
            raise ValueError(f'{where} needs {", ".join(missing)}')
        return cls(**dict(data))

    def to_dict(self) -> Dict[str, Any]:
        return dict(
            cells_per_scale=[list(b) for b in self.cells_per_scale],
            widths=list(self.widths),
            stages=list(self.stages))


@dataclasses.dataclass(frozen=True)
class Network:
    """One whole network: the cells and cells per scale (``genotype``),
    the base width and the number of stages."""
    genotype: Genotype
    width: int
    stages: int = 1

    def __post_init__(self) -> None:
        if self.genotype.cells_per_scale is None:
            raise ValueError(
                f'network {self.genotype.name!r}: its genotype has no '
                f'network level (network.cells_per_scale)')

    @property
    def layout(self) -> tuple:
        return tuple(self.genotype.cells_per_scale)

    def describe(self) -> str:
        return (f'{list(self.layout)} C={self.width} '
                f'{self.stages} stage{"s" if self.stages > 1 else ""}')

    def to_dict(self) -> Dict[str, Any]:
        return dict(
            genotype=self.genotype.to_dict(),
            width=int(self.width),
            stages=int(self.stages))

    @classmethod
    def from_dict(cls, data: Mapping) -> 'Network':
        return cls(
            load_genotype(dict(data['genotype'])), int(data['width']),
            int(data.get('stages', 1)))


def apply_network(cfg: Config, network: Network) -> Config:
    """The training config of ``network``: a copy of ``cfg`` with its
    genotype (cells and cells per scale), base width, neck stages and a
    head of as many stages (``HeatmapHead`` for one, ``CPMHead`` for
    two).

    Args:
        cfg (Config): A training config of an AutoPose network.
        network (Network): The candidate.

    Returns:
        Config: The candidate's config (``cfg`` is not changed).
    """
    cfg = copy.deepcopy(cfg)
    cfg.model.genotype = network.genotype.to_dict()
    cfg.model.backbone.update(
        arch=None,
        num_cells=None,
        reduction_indices=None,
        base_channels=int(network.width))
    cfg.model.neck.num_stages = int(network.stages)
    head = dict(cfg.model.head)
    head.pop('num_stages', None)
    if network.stages == 2:
        head.update(type='CPMHead', num_stages=2)
    else:
        head['type'] = 'HeatmapHead'
    cfg.model.head = head
    return cfg


def network_gmacs(cfg: Config) -> Callable[[Network], float]:
    """``cost(network)``: GMACs (batch 1, conv and linear layers, both
    stages) of the network built from ``cfg`` with :func:`apply_network`
    at the config's input size, from the network's plan
    (:func:`~autopose_mm.search.costs.macs.analytic_macs` and
    :func:`~autopose_mm.search.costs.macs.refinement_macs`)."""
    w, h = cfg.codec['input_size']
    keypoints = cfg.model.head.out_channels
    neck = cfg.model.neck
    refine = dict(
        refine_channels=neck.get('refine_channels', 64),
        refine_num_cells=neck.get('refine_num_cells', 12),
        refine_reduction_indices=neck.get('refine_reduction_indices'))

    def cost(network: Network) -> float:
        args = (network.genotype, network.layout, network.width, (h, w),
                keypoints)
        macs = analytic_macs(*args)
        if network.stages == 2:
            macs += refinement_macs(*args, **refine)
        return macs / 1e9

    return cost


def sample_network(rng: np.random.Generator,
                   space: NetworkSpace,
                   name: str = 'random') -> Network:
    """A network drawn uniformly: each scale's cell count, the width, the
    stages and every cell (:func:`sample_genotype`)."""
    layout = tuple(
        int(rng.integers(lo, hi + 1)) for lo, hi in space.cells_per_scale)
    width = int(space.widths[int(rng.integers(len(space.widths)))])
    stages = int(space.stages[int(rng.integers(len(space.stages)))])
    g = sample_genotype(rng, name=name)
    g = dataclasses.replace(g, cells_per_scale=layout)
    return Network(g, width, stages)


def sample_networks_at_cost(count: int,
                            space: NetworkSpace,
                            cost: Callable[[Network], float],
                            target: float,
                            tolerance: float = 0.1,
                            seed: int = 0,
                            max_draws: int = 5000) -> List[Network]:
    """``count`` random networks of ``space`` whose ``cost`` lies within
    ``target * (1 +- tolerance)``, named ``random-<i>``.

    Raises:
        RuntimeError: When fewer than ``count`` of ``max_draws`` draws fall
            in the window.
    """
    return [
        n for n, _ in draw_at_cost(
            count, lambda rng, i: sample_network(rng, space, f'random-{i}'),
            cost, target, tolerance, seed, max_draws, 'networks')
    ]
