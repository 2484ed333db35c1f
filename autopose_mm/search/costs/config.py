"""The cost of a genotype in the network a training config builds: its
analytic GMACs, or its latency predicted by a latency table."""
from typing import Callable, Optional, Sequence

from ...models import AutoPoseNet, Genotype, reductions_to_cells
from .macs import analytic_macs
from .table import LatencyTable


def config_layout(cfg) -> Sequence[int]:
    """Cells per scale of the config's stage-1 network."""
    bb = cfg.model.backbone
    s = AutoPoseNet.resolve_arch(
        bb.get('arch'), bb.get('num_cells'), bb.get('base_channels'),
        bb.get('reduction_indices'))
    return reductions_to_cells(s['num_cells'], s['reduction_indices'])


def config_width(cfg) -> int:
    """Base width C of the config's network."""
    bb = cfg.model.backbone
    return AutoPoseNet.resolve_arch(
        bb.get('arch'), bb.get('num_cells'), bb.get('base_channels'),
        bb.get('reduction_indices'))['base_channels']


def config_gmacs(cfg) -> Callable[..., float]:
    """``cost(genotype, layout=None)``: GMACs of the config's stage-1
    network built from ``genotype`` (and ``layout``, cells per scale)."""
    bb = cfg.model.backbone
    s = AutoPoseNet.resolve_arch(
        bb.get('arch'), bb.get('num_cells'), bb.get('base_channels'),
        bb.get('reduction_indices'))
    default_layout = config_layout(cfg)
    w, h = cfg.codec['input_size']

    def cost(genotype: Genotype,
             layout: Optional[Sequence[int]] = None) -> float:
        return analytic_macs(genotype, layout or default_layout,
                             s['base_channels'],
                             (h, w), cfg.model.head.out_channels) / 1e9

    return cost


def config_latency(
        cfg,
        table_path: str,
        input_size: Optional[Sequence[int]] = None) -> Callable[..., float]:
    """``cost(genotype, layout=None)``: the latency (ms) that the table at
    ``table_path`` predicts for the config's network.

    Args:
        cfg (Config): The training config of the network.
        table_path (str): The latency table's JSON file.
        input_size (Sequence[int], optional): ``(H, W)`` the network is
            deployed at, when not the config's (``codec.input_size``).

    Returns:
        Callable: ``cost(genotype, layout=None)`` in ms.

    Raises:
        ValueError: When the table was measured for another width, input
            size or number of keypoints than the config's network.
    """
    table = LatencyTable.load(table_path)
    s = table.setting
    if input_size is None:
        w, h = cfg.codec['input_size']
    else:
        h, w = input_size
    mine = dict(
        base_channels=config_width(cfg),
        input_size=[h, w],
        num_keypoints=cfg.model.head.out_channels)
    have = dict(s, input_size=list(s['input_size']))
    differ = [k for k, v in mine.items() if have[k] != v]
    if differ:
        raise ValueError(
            f'latency table {table_path} was measured for '
            f'{ {k: have[k] for k in differ} }, the config\'s network has '
            f'{ {k: mine[k] for k in differ} }; build a table for it with '
            f'tools/analysis/latency_table.py' +
            (' (a study deployed at the table\'s input size says so with '
             'study.deploy_input_size=[H, W])'
             if differ == ['input_size'] and input_size is None else ''))
    default_layout = config_layout(cfg)

    def cost(genotype: Genotype,
             layout: Optional[Sequence[int]] = None) -> float:
        return table.predict(genotype, layout or default_layout)

    return cost
