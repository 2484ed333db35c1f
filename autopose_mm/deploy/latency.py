"""Latency lookup tables: the measured batch-1 latency of every building
block the search can choose, on one device and runtime, and the latency of
a whole network predicted from them.

A network is cut into blocks (:func:`network_blocks`):

- ``stem``: the two stem convolutions;
- ``op``: one candidate operation at one width, input size and stride;
- ``cell``: an encoder cell without its operations (the two input
  projections, the node sums and the concatenation);
- ``up``: the same for a decoder cell (with the upsampling);
- ``head``: the final ReLU and 1x1 heatmap convolution;
- ``call``: an almost empty block (a ReLU of one number): what one call of
  the runtime costs by itself. Every block's time includes it, a whole
  network pays it once, so the sum subtracts it from each block.

The plain sum of a network's blocks misses what blocks share or pay only
once (same-input convolutions run as one, the framework's per-call cost), so
a table also holds a linear correction ``scale * sum + offset`` fitted on
random networks measured end to end. :func:`measure_table` builds a table
(resuming a partial one); :class:`LatencyTable` loads, checks and predicts.
"""
import json
import math
import os.path as osp
import platform
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import (
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from ..models.backbone import cells_to_reductions, plan_cells
from ..models.cells import EncoderCell, UpsampleCell
from ..models.genotype import DECODER_CELLS, Genotype
from ..models.operations import DEFAULT_NORM_CFG, build_operation
from ..utils.io import atomic_write_text
from .export import prepare_for_export

TABLE_FORMAT = 1
RUNTIMES = ('eager', 'fused', 'onnxruntime')
# metadata that must match for a table to describe this machine
DEVICE_FIELDS = ('cpu', 'machine', 'system')
VERSION_FIELDS = ('torch', 'onnxruntime')


def _out(size: int, stride: int) -> int:
    return math.ceil(size / stride)


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
    """The blocks of a network with ``layout`` cells per scale, its cells'
    edges given by ``edges_of``."""
    C = base_channels
    H, W = input_size
    h, w = _out(_out(H, 2), 2), _out(_out(W, 2), 2)
    blocks = [_block('stem', c=C, h=H, w=W)]
    plan = plan_cells((2 * C, 2 * C), C // 2, sum(layout),
                      cells_to_reductions(layout), multiplier)
    older = (h, w)  # size of the older input
    taps = {}
    for p in plan:
        ho, wo = (_out(h, 2), _out(w, 2)) if p.reduction else (h, w)
        blocks.append(
            _block(
                'cell',
                pp=p.prev_prev_channels,
                p=p.prev_channels,
                c=p.channels,
                h0=older[0],
                w0=older[1],
                h=h,
                w=w,
                red=int(p.reduction),
                red_prev=int(p.reduction_prev),
                nodes=nodes,
                concat=multiplier))
        cell_type = 'reduce' if p.reduction else 'normal'
        for op, src in edges_of(cell_type, p.reduction):
            stride = 2 if p.reduction and src < 2 else 1
            ih, iw = (h, w) if stride == 2 else (ho, wo)
            blocks.append(
                _block('op', op=op, c=p.channels, h=ih, w=iw, s=stride))
        older = (h, w)
        h, w = ho, wo
        taps[p.scale] = (multiplier * p.channels, h, w)
    for i, name in enumerate(DECODER_CELLS):
        fine_c, fh, fw = taps[2 - i]
        coarse_c, ch, cw = taps[3 - i]
        c = fine_c // multiplier
        blocks.append(
            _block(
                'up',
                cc=coarse_c,
                fc=fine_c,
                c=c,
                ch=ch,
                cw=cw,
                h=fh,
                w=fw,
                nodes=nodes,
                concat=multiplier))
        for op, _ in edges_of(name, False):
            blocks.append(_block('op', op=op, c=c, h=fh, w=fw, s=1))
    fine_c, fh, fw = taps[0]
    blocks.append(_block('head', c=fine_c, h=fh, w=fw, k=num_keypoints))
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
    from ..models.operations import supports_stride
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


# building and timing blocks --------------------------------------------------
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
        from ..models.backbone import build_stem
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


class _Forward(nn.Module):
    """A pose estimator's network (``_forward``) as a plain module."""

    def __init__(self, estimator: nn.Module) -> None:
        super().__init__()
        self.estimator = estimator

    def forward(self, x: Tensor):
        return self.estimator._forward(x)


def make_runner(module: nn.Module, inputs: Sequence[Tensor], runtime: str,
                threads: int) -> Callable[[], None]:
    """A function that runs ``module`` on ``inputs`` once with ``runtime``:
    ``'eager'`` (PyTorch), ``'fused'`` (PyTorch, BN folded) or
    ``'onnxruntime'`` (exported with BN folded, ONNX Runtime on the CPU),
    with ``threads`` intra-op threads."""
    if runtime not in RUNTIMES:
        raise ValueError(f'unknown runtime {runtime!r}; choose one of '
                         f'{", ".join(RUNTIMES)}')
    torch.set_num_threads(threads)
    module = module.eval()
    if runtime != 'eager':
        module = prepare_for_export(module)
    if runtime != 'onnxruntime':

        def run() -> None:
            with torch.no_grad():
                module(*inputs)

        return run
    import onnxruntime as ort
    names = [f'in{i}' for i in range(len(inputs))]
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'block.onnx')
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(
                module,
                tuple(inputs),
                path,
                input_names=names,
                opset_version=17,
                do_constant_folding=True,
                dynamo=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            path, options, providers=['CPUExecutionProvider'])
    feeds = {n: x.numpy() for n, x in zip(names, inputs)}
    return lambda: session.run(None, feeds)


def time_runner(run: Callable[[], None],
                repeats: int = 20,
                warmup: int = 3,
                min_seconds: float = 0.2) -> float:
    """Median milliseconds of ``run``: ``warmup`` calls, then at least
    ``repeats`` timed calls and at least ``min_seconds`` of them."""
    for _ in range(warmup):
        run()
    times: List[float] = []
    start = time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3


def build_network(genotype: Genotype,
                  base_channels: int,
                  input_size: Tuple[int, int],
                  num_keypoints: int = 17) -> nn.Module:
    """The stage-1 network of ``genotype`` (its ``cells_per_scale`` is the
    layout) as a module taking an image batch, in eval mode."""
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
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
    return _Forward(estimator).eval()


def network_runner(genotype: Genotype, base_channels: int,
                   input_size: Tuple[int, int], num_keypoints: int,
                   runtime: str, threads: int) -> Callable[[], None]:
    """A function running the whole network of ``genotype`` once on a
    batch-1 input with ``runtime`` (see :func:`make_runner`)."""
    net = build_network(genotype, base_channels, input_size, num_keypoints)
    x = torch.randn(1, 3, *input_size)
    return make_runner(net, (x, ), runtime, threads)


def measure_network(genotype: Genotype,
                    base_channels: int,
                    input_size: Tuple[int, int],
                    num_keypoints: int,
                    runtime: str,
                    threads: int,
                    repeats: int = 20) -> float:
    """Measured median batch-1 latency (ms) of a whole network."""
    return time_runner(
        network_runner(genotype, base_channels, input_size, num_keypoints,
                       runtime, threads), repeats)


# the table ---------------------------------------------------------------
def environment(runtime: str, threads: int) -> Dict:
    """What a table measured on this machine records about it."""
    import mmcv
    import mmpose

    from ..version import __version__
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import onnxruntime
        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = None
    import os
    return dict(
        runtime=runtime,
        threads=threads,
        device=dict(
            cpu=cpu,
            cores=os.cpu_count(),
            machine=platform.machine(),
            system=platform.system()),
        versions=dict(
            torch=torch.__version__,
            onnxruntime=ort_version,
            mmcv=mmcv.__version__,
            mmpose=mmpose.__version__,
            autopose_mm=__version__,
            python=platform.python_version()))


MAX_OFFSET_MS = 1e4  # a correction offset beyond 10 s is not a fit


def check_table_fields(path: str, meta: Dict,
                       correction: Optional[Dict]) -> None:
    """The fields a table's predictions depend on: the runtime, the
    thread count and the correction ``scale * sum + offset_ms``.

    Raises:
        ValueError: Naming the file and the field.
    """

    def bad(field: str, value, expected: str) -> ValueError:
        return ValueError(f'latency table {path}: {field} is {value!r}, '
                          f'expected {expected}; rebuild the table with '
                          f'tools/analysis/latency_table.py')

    if meta['runtime'] not in RUNTIMES:
        raise bad('meta.runtime', meta['runtime'],
                  f'one of {", ".join(RUNTIMES)}')
    threads = meta['threads']
    if isinstance(threads,
                  bool) or not isinstance(threads, int) or threads < 1:
        raise bad('meta.threads', threads, 'a positive integer')
    if correction is None:
        return
    if not isinstance(correction, dict):
        raise bad('correction', correction, 'a dict or null')
    scale, offset = correction.get('scale'), correction.get('offset_ms')
    if not _finite(scale) or not 0 < scale <= 100:
        raise bad('correction.scale', scale, 'a finite number in (0, 100]')
    if not _finite(offset) or abs(offset) > MAX_OFFSET_MS:
        raise bad('correction.offset_ms', offset,
                  f'a finite number of at most {MAX_OFFSET_MS:g} ms')
    if not isinstance(correction.get('applied', True), bool):
        raise bad('correction.applied', correction['applied'], 'true or false')


def _finite(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


class TableMismatch(ValueError):
    """A latency table that does not describe this machine or runtime."""


class LatencyTable:
    """A latency lookup table of one device, runtime and network setting.

    Args:
        meta (dict): ``format``, ``runtime``, ``threads``, ``device``,
            ``versions`` and ``setting`` (``base_channels``, ``input_size``,
            ``num_keypoints``, ``nodes``, ``candidates``, ``layouts``).
        entries (dict): Milliseconds by block key.
        correction (dict, optional): ``scale`` and ``offset_ms`` of the
            fitted end-to-end correction (``applied: false`` when it
            predicted the validation networks worse than the plain block
            sum, which the table then predicts with).
        validation (dict, optional): The predictor's error on random
            networks measured end to end.
        path (str, optional): Where the table was loaded from.
        networks (dict, optional): The random networks measured end to end
            for the correction and the validation.
        samples (dict, optional): Each block's measurements, one per
            round.
    """

    def __init__(self,
                 meta: Dict,
                 entries: Optional[Dict[str, float]] = None,
                 correction: Optional[Dict] = None,
                 validation: Optional[Dict] = None,
                 path: Optional[str] = None,
                 networks: Optional[Dict[str, List[Dict]]] = None,
                 samples: Optional[Dict[str, List[float]]] = None) -> None:
        self.meta = meta
        self.entries: Dict[str, float] = dict(entries or {})
        self.correction = correction
        self.validation = validation
        self.path = path
        # random networks measured end to end, by purpose ('calibration',
        # 'validation'): layout, genotype, block sum and measured ms
        self.networks: Dict[str, List[Dict]] = dict(networks or {})
        # every measurement of every block, by round (the entry is their
        # median)
        self.samples: Dict[str, List[float]] = {
            k: list(v)
            for k, v in (samples or {}).items()
        }

    @property
    def setting(self) -> Dict:
        return self.meta['setting']

    # file round trip ------------------------------------------------------
    def to_dict(self) -> Dict:
        return dict(
            meta=self.meta,
            entries=self.entries,
            correction=self.correction,
            validation=self.validation,
            networks=self.networks,
            samples=self.samples)

    def dump(self, path: str) -> None:
        """Write the table as strict JSON, atomically."""
        bad = [k for k, v in self.entries.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f'non-finite latency for {bad[:3]}: not '
                             f'writing {path}')
        atomic_write_text(
            path, json.dumps(self.to_dict(), indent=1, allow_nan=False))
        self.path = path

    @classmethod
    def load(cls, path: str, check: str = 'warn') -> 'LatencyTable':
        """Read a table written by :meth:`dump`.

        Args:
            path (str): The JSON file.
            check (str): What to do when the table was measured on another
                device or with other library versions than this machine
                has: ``'warn'``, ``'error'`` or ``'ignore'``.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'latency table {path!r} does not exist; build one with '
                f'python tools/analysis/latency_table.py --out {path}')
        try:
            with open(path) as f:
                data = json.load(f)
            meta = data['meta']
            entries = {str(k): float(v) for k, v in data['entries'].items()}
            for key in ('runtime', 'threads', 'device', 'versions', 'setting'):
                meta[key]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ValueError(
                f'{path} is not a latency table ({type(e).__name__}: {e}); '
                f'rebuild it with tools/analysis/latency_table.py') from None
        if meta.get('format') != TABLE_FORMAT:
            raise TableMismatch(
                f'{path} has table format {meta.get("format")!r}, this '
                f'version reads format {TABLE_FORMAT}: rebuild it with '
                f'tools/analysis/latency_table.py')
        if any(not math.isfinite(v) or v < 0 for v in entries.values()):
            raise ValueError(f'{path} holds a negative or non-finite '
                             f'latency: rebuild it')
        check_table_fields(path, meta, data.get('correction'))
        table = cls(meta, entries, data.get('correction'),
                    data.get('validation'), path, data.get('networks'),
                    data.get('samples'))
        table.check_environment(check)
        return table

    def mismatches(self) -> List[str]:
        """How this table's device and versions differ from this
        machine's, one line per field."""
        here = environment(self.meta['runtime'], self.meta['threads'])
        lines = []
        for group, fields in (('device', DEVICE_FIELDS), ('versions',
                                                          VERSION_FIELDS)):
            for name in fields:
                theirs = self.meta[group].get(name)
                ours = here[group].get(name)
                if theirs != ours:
                    lines.append(f'{group}.{name}: table {theirs!r}, this '
                                 f'machine {ours!r}')
        return lines

    def check_environment(self, check: str = 'warn') -> None:
        if check not in ('warn', 'error', 'ignore'):
            raise ValueError(f"check must be 'warn', 'error' or 'ignore', "
                             f'got {check!r}')
        lines = self.mismatches() if check != 'ignore' else []
        if not lines:
            return
        message = (f'latency table {self.path or "(unsaved)"} was measured '
                   f'elsewhere ({"; ".join(lines)}); its latencies may not '
                   f'hold here. Rebuild it on this machine with '
                   f'tools/analysis/latency_table.py')
        if check == 'error':
            raise TableMismatch(message)
        warnings.warn(message, stacklevel=2)

    # prediction -----------------------------------------------------------
    def blocks(self,
               genotype: Genotype,
               layout: Optional[Sequence[int]] = None) -> List[Block]:
        s = self.setting
        layout = layout or genotype.cells_per_scale
        if layout is None:
            raise ValueError('predicting a latency needs a layout (cells '
                             'per scale): pass one or use a genotype with '
                             'a network level')
        return network_blocks(genotype, layout, s['base_channels'],
                              tuple(s['input_size']), s['num_keypoints'])

    def plain_sum(self,
                  genotype: Genotype,
                  layout: Optional[Sequence[int]] = None) -> float:
        """The sum of the network's block latencies, in ms, each without
        the runtime's own cost of a call, which the network pays once."""
        call = self.entries.get(CALL_BLOCK.key, 0.)
        total, missing = call, []
        for b in self.blocks(genotype, layout):
            if b.key in self.entries:
                total += self.entries[b.key] - call
            else:
                missing.append(b.key)
        if missing:
            raise KeyError(
                f'latency table {self.path or "(unsaved)"} has no entry for '
                f'{len(missing)} block(s) of this network, e.g. '
                f'{missing[0]!r}: it covers C={self.setting["base_channels"]}'
                f', input {self.setting["input_size"]}, layouts '
                f'{self.setting["layouts"]}; rebuild it for this network')
        return total

    def predict(self,
                genotype: Genotype,
                layout: Optional[Sequence[int]] = None) -> float:
        """Predicted batch-1 latency in ms: the corrected block sum."""
        total = self.plain_sum(genotype, layout)
        if self.correction and self.correction.get('applied', True):
            total = (
                self.correction['scale'] * total +
                self.correction['offset_ms'])
        if not math.isfinite(total) or total <= 0:
            raise ValueError(
                f'latency table {self.path or "(unsaved)"} predicts '
                f'{total} ms for this network: its correction '
                f'{self.correction} does not fit it. Rebuild the table with '
                f'more calibration networks (--calibrate)')
        return total

    def fit_correction(self, sums: Sequence[float],
                       measured: Sequence[float]) -> Dict:
        """Fit ``measured = scale * sum + offset_ms`` by least squares and
        keep it as the table's correction."""
        if len(sums) < 2:
            raise ValueError('the latency correction needs at least 2 '
                             'networks measured end to end')
        a, b = np.polyfit(np.asarray(sums), np.asarray(measured), 1)
        if math.isfinite(a) and a <= 0:
            # the networks' differences drown in timing noise: keep the
            # sum's proportions, scaled to the measured mean
            a, b = float(np.mean(measured) / np.mean(sums)), 0.
        if not (math.isfinite(a) and math.isfinite(b)) or a <= 0:
            raise ValueError(f'the latency correction fit failed (scale '
                             f'{a}, offset {b}): measure more networks')
        self.correction = dict(
            scale=float(a), offset_ms=float(b), networks=len(sums))
        return self.correction

    def summary(self) -> Dict:
        """What a genotype records about the table it was predicted with."""
        return dict(
            table=self.path,
            runtime=self.meta['runtime'],
            threads=self.meta['threads'],
            cpu=self.meta['device'].get('cpu'),
            base_channels=self.setting['base_channels'],
            input_size=list(self.setting['input_size']))


def mape(predicted: Sequence[float], measured: Sequence[float]) -> float:
    """Mean absolute percentage error, in percent."""
    p, m = np.asarray(predicted), np.asarray(measured)
    return float(np.mean(np.abs(p - m) / m) * 100)


def measure_table(table: LatencyTable,
                  blocks: Mapping[str, Block],
                  out_file: str,
                  repeats: int = 20,
                  progress: Optional[Callable[[int, int, str, float],
                                              None]] = None,
                  rounds: int = 1) -> None:
    """Measure the blocks of ``blocks`` in ``rounds`` interleaved rounds
    (each round times every block once, the order rotating), so that a
    block's entry, the median of its rounds, does not depend on what the
    machine was doing at one moment. The table, with every block's
    samples, is written to ``out_file`` after each measurement, so that an
    interrupted run resumes where it stopped."""
    samples = table.samples
    for key in table.entries:  # a table built before samples were kept
        samples.setdefault(key, [table.entries[key]])
    todo = [b for k, b in blocks.items() if len(samples.get(k, ())) < rounds]
    runtime, threads = table.meta['runtime'], table.meta['threads']
    runners = {}
    for block in todo:
        module, inputs = build_block(block)
        runners[block.key] = make_runner(module, inputs, runtime, threads)
    total = sum(rounds - len(samples.get(b.key, ())) for b in todo)
    done = 0
    for r in range(rounds):
        shift = r % max(len(todo), 1)
        for block in todo[shift:] + todo[:shift]:
            got = samples.setdefault(block.key, [])
            if len(got) > r:
                continue
            ms = time_runner(runners[block.key], repeats)
            if not math.isfinite(ms):
                raise RuntimeError(f'non-finite latency measured for '
                                   f'{block.key}')
            got.append(ms)
            table.entries[block.key] = float(np.median(got))
            table.dump(out_file)
            done += 1
            if progress:
                progress(done, total, f'{block.key} (round {r + 1})', ms)


def random_networks(count: int, seed: int, layouts: Sequence[Sequence[int]],
                    candidates: Sequence[str], nodes: int) -> List[Genotype]:
    """``count`` random genotypes (:func:`~autopose_mm.models.
    random_genotype.sample_genotype`), each with a layout drawn uniformly
    from ``layouts``."""
    import dataclasses

    from ..models.random_genotype import sample_genotype
    rng = np.random.default_rng(seed)
    nets = []
    for i in range(count):
        genotype = sample_genotype(rng, nodes, candidates, f'random-{i}')
        layout = tuple(layouts[int(rng.integers(len(layouts)))])
        nets.append(dataclasses.replace(genotype, cells_per_scale=layout))
    return nets


def measure_networks(
    table: LatencyTable,
    purpose: str,
    genotypes: Sequence[Genotype],
    out_file: str,
    repeats: int = 20,
    progress: Optional[Callable[[int, int, str, float], None]] = None
) -> List[Dict]:
    """Measure whole networks end to end with the table's runtime, keeping
    each result in ``table.networks[purpose]`` (written to ``out_file``
    after each, so that a run resumes)."""
    done = table.networks.setdefault(purpose, [])
    s = table.setting
    for i, genotype in enumerate(genotypes[len(done):], len(done)):
        ms = measure_network(genotype, s['base_channels'],
                             tuple(s['input_size']), s['num_keypoints'],
                             table.meta['runtime'], table.meta['threads'],
                             repeats)
        done.append(
            dict(
                layout=list(genotype.cells_per_scale),
                genotype=genotype.to_dict(),
                block_sum_ms=table.plain_sum(genotype),
                measured_ms=ms))
        table.dump(out_file)
        if progress:
            progress(
                i + 1, len(genotypes), f'{purpose} network {i + 1} '
                f'{list(genotype.cells_per_scale)}', ms)
    return done[:len(genotypes)]


def validate(table: LatencyTable) -> Dict:
    """The predictor's error on the table's validation networks: the mean
    absolute percentage error of the plain block sum and of the corrected
    prediction, kept as ``table.validation``."""
    nets = table.networks.get('validation', [])
    if not nets:
        raise ValueError('the table has no validation networks')
    measured = [n['measured_ms'] for n in nets]
    sums = [n['block_sum_ms'] for n in nets]
    predicted = [
        table.predict(Genotype.from_dict(n['genotype'])) for n in nets
    ]
    errors = np.abs(np.asarray(predicted) / np.asarray(measured) - 1) * 100
    table.validation = dict(
        networks=len(nets),
        mape_sum_pct=mape(sums, measured),
        mape_pct=mape(predicted, measured),
        max_ape_pct=float(errors.max()),
        measured_ms_range=[float(min(measured)),
                           float(max(measured))])
    return table.validation
