"""AutoPoseEstimator: MMPose's top-down estimator, with the neck and head
sized from the backbone and the genotype given once."""
import logging
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional, Sequence

import torch
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.models.utils import check_and_update_config
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from torch import nn

from .genotype import Genotype, GenotypeLike, load_genotype


@contextmanager
def _quiet() -> Iterator[None]:
    """Hold back the current logger's warnings (the real build repeats
    them)."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _same_architecture(a: Genotype, b: Genotype) -> bool:
    return (a.nodes, a.cells_per_scale, a.to_dict()['encoder'],
            a.to_dict()['decoder']) == (b.nodes, b.cells_per_scale,
                                        b.to_dict()['encoder'],
                                        b.to_dict()['decoder'])


def _describe(genotype: Any) -> str:
    if isinstance(genotype, Genotype):
        return repr(genotype.name or '(unnamed)')
    return repr(genotype)


@MODELS.register_module()
class AutoPoseEstimator(TopdownPoseEstimator):
    """A :class:`TopdownPoseEstimator` whose parts agree by construction.

    - ``genotype`` is given once, here; the backbone and the neck both build
      from it. A backbone or neck config that names another genotype is an
      error that names both.
    - The neck's ``in_channels`` default to the backbone's output channels,
      and the head's ``in_channels`` to the neck's output channels (or the
      backbone's first output without a neck). Values given explicitly must
      agree with them.

    So a preset is chosen in the backbone alone (``arch='L18-C48'``), and a
    genotype whose node count or network level changes the widths or the
    depth builds a consistent network, or fails here, naming the settings,
    instead of at the first forward.

    Args:
        backbone (dict): The backbone config.
        neck (dict, optional): The neck config.
        head (dict, optional): The head config.
        genotype (str | dict | Genotype, optional): The cells, for the
            backbone and the neck: a JSON/YAML path, a dict or
            ``'published'``. None leaves the backbone's own setting (a
            search supernet has none).
        train_cfg, test_cfg, data_preprocessor, init_cfg, metainfo: As for
            :class:`TopdownPoseEstimator`.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: OptConfigType = None,
                 head: OptConfigType = None,
                 genotype: Optional[GenotypeLike] = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 metainfo: Optional[dict] = None) -> None:
        backbone = ConfigDict(backbone)
        if genotype is not None:
            genotype = load_genotype(genotype)
            self._check_same(backbone, genotype, 'model.backbone.genotype')
            backbone['genotype'] = genotype
        neck, head = check_and_update_config(neck, head)
        neck = None if neck is None else ConfigDict(neck)
        head = None if head is None else ConfigDict(head)
        # The widths follow from the parts as built: probe them on the meta
        # device (no memory, no random numbers drawn), then let MMPose's own
        # set-up build the sized parts, in its order and with its hooks.
        with torch.device('meta'), _quiet():
            probe = MODELS.build(backbone)
            probe_neck = None
            if neck is not None:
                neck = self._complete_neck(neck, probe)
                probe_neck = MODELS.build(neck)
            if head is not None:
                head = self._complete_head(head, probe, probe_neck)
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
            metainfo=metainfo)

    @staticmethod
    def _check_same(cfg: Dict, genotype: Genotype, where: str) -> None:
        given = cfg.get('genotype')
        if given is None or given is genotype:
            return
        if not _same_architecture(load_genotype(given), genotype):
            raise ValueError(
                f'{where}={_describe(given)} differs from '
                f'model.genotype={_describe(genotype)}; give the genotype '
                f'once, as model.genotype, and remove {where}')

    def _complete_neck(self, neck: ConfigDict,
                       backbone: nn.Module) -> ConfigDict:
        """``neck`` with the backbone's genotype and output widths."""
        genotype = getattr(backbone, 'genotype', None)
        if isinstance(genotype, Genotype):
            self._check_same(neck, genotype, 'model.neck.genotype')
            neck['genotype'] = genotype
        self._check_channels(neck, 'model.neck.in_channels',
                             backbone.out_channels, 'the backbone\'s outputs',
                             backbone)
        return neck

    def _complete_head(self, head: ConfigDict, backbone: nn.Module,
                       neck: Optional[nn.Module]) -> ConfigDict:
        """``head`` with the width of the neck's (or the backbone's first)
        output."""
        if neck is not None:
            channels = getattr(neck, 'out_channels', None)
            source = 'the neck\'s output'
        else:
            channels = backbone.out_channels[0]
            source = 'the backbone\'s first output'
        if channels is not None:
            self._check_channels(head, 'model.head.in_channels', channels,
                                 source, backbone)
        stages = None if neck is None else getattr(neck, 'num_stages', None)
        if 'num_stages' in head and stages is not None \
                and head['num_stages'] != stages:
            raise ValueError(
                f'model.head.num_stages={head["num_stages"]} but the neck '
                f'has model.neck.num_stages={stages}; set them equal')
        return head

    @staticmethod
    def _check_channels(cfg: ConfigDict, where: str, expected: Any,
                        source: str, backbone: nn.Module) -> None:
        expected = (
            list(expected)
            if isinstance(expected, Sequence) else int(expected))
        given = cfg.get('in_channels')
        if given is None:
            cfg['in_channels'] = expected
            return
        given = list(given) if isinstance(given, Sequence) else int(given)
        if given != expected:
            raise ValueError(
                f'{where}={given} does not match {source}, {expected} '
                f'(backbone {type(backbone).__name__} with '
                f'base_channels={getattr(backbone, "base_channels", "?")}, '
                f'genotype {_describe(getattr(backbone, "genotype", None))}'
                f'); remove {where} to follow the backbone, or change the '
                f'backbone')
