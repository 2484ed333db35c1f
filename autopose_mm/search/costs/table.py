"""Latency lookup tables: the measured batch-1 latency of every building
block the search can choose, on one device and runtime, and the latency of
a whole network predicted from them.

A network is cut into the blocks of :mod:`.blocks` (:func:`network_blocks`:
the stem, each operation, each cell's glue, the head and one runtime call).

The plain sum of a network's blocks misses what blocks share or pay only
once (same-input convolutions run as one, the framework's per-call cost), so
a table also holds a linear correction ``scale * sum + offset`` fitted on
random networks measured end to end. :func:`measure_table` builds a table
(resuming a partial one); :class:`LatencyTable` loads, checks and predicts.
"""
import dataclasses
import json
import math
import os.path as osp
import warnings
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from ...deploy.timing import (
    RUNTIMES,
    environment,
    fastest_round,
    make_runner,
    time_rounds,
)
from ...models.genotype import Genotype
from ...utils.io import atomic_write_text
from ..space.sampling import sample_genotype
from .blocks import (
    CALL_BLOCK,
    Block,
    build_block,
    network_blocks,
    network_runner,
)

TABLE_FORMAT = 1
# metadata that must match for a table to describe this machine
DEVICE_FIELDS = ('cpu', 'machine', 'system')
VERSION_FIELDS = ('torch', 'onnxruntime', 'openvino', 'nncf')

MAX_OFFSET_MS = 1e4  # a correction offset beyond 10 s is not a fit
# how a table counts what it measured in several rounds (``meta.entry``);
# tables without it counted the median of the rounds
ENTRY = 'fastest round'


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
        meta (dict): ``format``, ``entry`` (:data:`ENTRY`), ``runtime``,
            ``threads``, ``device``, ``versions`` and ``setting``
            (``base_channels``, ``input_size``, ``num_keypoints``,
            ``nodes``, ``candidates``, ``layouts``).
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
        # every measurement of every block, by round (the entry is the
        # fastest, :func:`fastest_round`)
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
        if check != 'ignore' and meta.get('entry') != ENTRY:
            warnings.warn(
                f'latency table {path} counts each block and network by the '
                f'median of its rounds, not by the fastest round as a '
                f'study\'s front and latency_table.py --measure do, so it '
                f'predicts a few percent high against them. Rebuild it with '
                f'tools/analysis/latency_table.py',
                stacklevel=2)
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

    def runner(self, genotype: Genotype) -> Callable[[], None]:
        """A function running the stage-1 network of ``genotype`` (its
        layout) once at the table's width and input size on the table's
        runtime and threads, as the table's own networks were timed."""
        s = self.setting
        return network_runner(genotype, s['base_channels'],
                              tuple(s['input_size']), s['num_keypoints'],
                              self.meta['runtime'], self.meta['threads'])

    def plain_sum(self,
                  genotype: Genotype,
                  layout: Optional[Sequence[int]] = None) -> float:
        """The sum of the network's block latencies, in ms, each without
        the runtime's own cost of a call, which the network pays once. A
        block timed below the bare call (timing noise, at tiny sizes on a
        busy machine) adds nothing rather than taking time away."""
        call = self.entries.get(CALL_BLOCK.key, 0.)
        total, missing = call, []
        for b in self.blocks(genotype, layout):
            if b.key in self.entries:
                total += max(self.entries[b.key] - call, 0.)
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
        if math.isfinite(a) and (a <= 0 or -b / a > min(sums) / 2):
            # the networks' differences drown in timing noise (a line that
            # falls, or reaches zero above half the smallest network
            # measured, and so predicts no time for smaller ones): keep the
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
    block's entry, the fastest of its rounds (:func:`fastest_round`), does
    not depend on what the machine was doing at one moment. The table,
    with every block's samples, is written to ``out_file`` after each
    measurement, so that an interrupted run resumes where it stopped."""
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
    count = [0]

    def record(key: str, r: int, ms: float) -> None:
        got = samples.setdefault(key, [])
        got.append(ms)
        table.entries[key] = fastest_round(got)
        table.dump(out_file)
        count[0] += 1
        if progress:
            progress(count[0], total, f'{key} (round {r + 1})', ms)

    time_rounds(
        runners,
        rounds,
        repeats,
        done={k: len(samples.get(k, ()))
              for k in runners},
        on_time=record)


def random_networks(count: int, seed: int, layouts: Sequence[Sequence[int]],
                    candidates: Sequence[str], nodes: int) -> List[Genotype]:
    """``count`` random genotypes (:func:`~autopose_mm.search.space.
    sample_genotype`), each with a layout drawn uniformly from
    ``layouts``."""
    rng = np.random.default_rng(seed)
    nets = []
    for i in range(count):
        genotype = sample_genotype(rng, nodes, candidates, f'random-{i}')
        layout = tuple(layouts[int(rng.integers(len(layouts)))])
        nets.append(dataclasses.replace(genotype, cells_per_scale=layout))
    return nets


def measure_networks(table: LatencyTable,
                     networks: Mapping[str, Sequence[Genotype]],
                     out_file: str,
                     repeats: int = 20,
                     progress: Optional[Callable[[int, int, str, float],
                                                 None]] = None,
                     rounds: int = 3) -> Dict[str, List[Dict]]:
    """Measure whole networks end to end with the table's runtime, all of
    them in ``rounds`` interleaved rounds, so that the networks that fit
    the correction and those that validate it see the machine alike.

    Args:
        table (LatencyTable): Its ``networks[purpose]`` keeps each
            network's layout, genotype, block sum, the milliseconds of
            each round (``samples_ms``) and the fastest (``measured_ms``),
            written to ``out_file`` after each timing, so that a run
            resumes.
        networks (Mapping): Purpose (``'calibration'``, ``'validation'``)
            -> genotypes with a layout.
        out_file (str): The table file.
        repeats (int): Calls per timing.
        progress (Callable, optional): ``progress(i, n, what, ms)``.
        rounds (int): Interleaved rounds.

    Returns:
        dict: Purpose -> the records of its networks.
    """
    runners, records = {}, {}
    for purpose, genotypes in networks.items():
        done = table.networks.setdefault(purpose, [])
        for i, genotype in enumerate(genotypes):
            if i == len(done):
                done.append(
                    dict(
                        layout=list(genotype.cells_per_scale),
                        genotype=genotype.to_dict(),
                        block_sum_ms=table.plain_sum(genotype)))
            record = done[i]
            if 'samples_ms' not in record:  # measured before rounds
                record['samples_ms'] = ([record['measured_ms']]
                                        if 'measured_ms' in record else [])
            records[purpose, i] = record
            if len(record['samples_ms']) < rounds:
                runners[purpose, i] = table.runner(genotype)
    total = sum(rounds - len(records[k]['samples_ms']) for k in runners)
    count = [0]

    def record_time(key, r: int, ms: float) -> None:
        record = records[key]
        record['samples_ms'].append(ms)
        record['measured_ms'] = fastest_round(record['samples_ms'])
        table.dump(out_file)
        count[0] += 1
        if progress:
            purpose, i = key
            progress(
                count[0], total, f'{purpose} network {i + 1} '
                f'{record["layout"]} (round {r + 1})', ms)

    time_rounds(
        runners,
        rounds,
        repeats,
        done={k: len(records[k]['samples_ms'])
              for k in runners},
        on_time=record_time)
    return {
        purpose: table.networks[purpose][:len(genotypes)]
        for purpose, genotypes in networks.items()
    }


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
