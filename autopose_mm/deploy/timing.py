"""Timing a module on a runtime: PyTorch eager, PyTorch with BN folded,
ONNX Runtime or OpenVINO (f32) on the CPU, at batch 1 and a given thread
count; and what a measurement records about the machine."""
import math
import os
import os.path as osp
import platform
import tempfile
import time
import warnings
from typing import (
    Callable,
    Dict,
    Hashable,
    List,
    Mapping,
    Optional,
    Sequence,
)

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from ..utils.extras import require
from ..version import __version__
from .export import prepare_for_export
from .graph import DEFAULT_PASSES, apply_passes
from .quantize import quantize_for_timing
from .runtimes import openvino_config, openvino_core

RUNTIMES = ('eager', 'fused', 'onnxruntime', 'openvino', 'openvino-int8')


class EstimatorForward(nn.Module):
    """A pose estimator's network (``_forward``) as a plain module."""

    def __init__(self, estimator: nn.Module) -> None:
        super().__init__()
        self.estimator = estimator

    def forward(self, x: Tensor):
        return self.estimator._forward(x)


def make_runner(module: nn.Module, inputs: Sequence[Tensor], runtime: str,
                threads: int) -> Callable[[], None]:
    """A function that runs ``module`` on ``inputs`` once with ``runtime``:
    ``'eager'`` (PyTorch), ``'fused'`` (PyTorch, BN folded),
    ``'onnxruntime'`` or ``'openvino'`` (exported as the export tool does:
    BN folded, the default graph passes; on the CPU, OpenVINO in f32) or
    ``'openvino-int8'`` (that, quantized by NNCF as the quantization tool
    does, calibrated on ``inputs`` and noisy copies of them: the speed of
    int8 does not depend on the calibration's values), with ``threads``
    intra-op threads."""
    if runtime not in RUNTIMES:
        raise ValueError(f'unknown runtime {runtime!r}; choose one of '
                         f'{", ".join(RUNTIMES)}')
    torch.set_num_threads(threads)
    module = module.eval()
    if runtime == 'fused':
        module = prepare_for_export(module)
    elif runtime != 'eager':
        module = prepare_for_export(module, passes=DEFAULT_PASSES)
    if runtime in ('eager', 'fused'):

        def run() -> None:
            with torch.no_grad():
                module(*inputs)

        return run
    onnx = require('onnx')
    names = [f'in{i}' for i in range(len(inputs))]
    feeds = {n: x.numpy() for n, x in zip(names, inputs)}
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
        onnx.save(apply_passes(onnx.load(path), DEFAULT_PASSES), path)
        if runtime.startswith('openvino'):
            core = openvino_core()
            model = core.read_model(path)
            if runtime == 'openvino-int8':
                model = quantize_for_timing(model, feeds)
            compiled = core.compile_model(model, 'CPU',
                                          openvino_config(threads, 'f32'))
            request = compiled.create_infer_request()
            return lambda: request.infer(feeds)
        ort = require('onnxruntime')
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            path, options, providers=['CPUExecutionProvider'])
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


def fastest_round(times: Sequence[float]) -> float:
    """The latency a set of interleaved rounds stands for: the fastest
    round. On a machine shared with other work, load only ever adds time
    (bursts that double a 1 ms network for seconds at a time), so the
    fastest of several rounds, each the median of its calls, is the
    network's own latency; a median of few rounds still counts a burst
    that covers half of them."""
    if not len(times):
        raise ValueError('no round measured')
    return float(min(times))


def time_rounds(
    runners: Mapping[Hashable, Callable[[], None]],
    rounds: int,
    repeats: int = 20,
    done: Optional[Mapping[Hashable, int]] = None,
    on_time: Optional[Callable[[Hashable, int, float], None]] = None
) -> Dict[Hashable, List[float]]:
    """Time every runner once per round, in interleaved rounds whose
    order rotates, so that what the machine does at one moment touches
    every runner alike.

    Args:
        runners (Mapping): Name -> a function that runs once.
        rounds (int): Rounds; a runner's times are one per round.
        repeats (int): Calls per timing (:func:`time_runner`).
        done (Mapping, optional): Name -> rounds already measured (a
            resumed measurement): those rounds are skipped for it.
        on_time (Callable, optional): ``on_time(name, round, ms)`` after
            each timing (e.g. to save progress).

    Returns:
        dict: Name -> the milliseconds of each round it was timed in now.

    Raises:
        RuntimeError: A timing is not finite.
    """
    keys = list(runners)
    done = done or {}
    times: Dict[Hashable, List[float]] = {k: [] for k in keys}
    for r in range(rounds):
        shift = r % max(len(keys), 1)
        for key in keys[shift:] + keys[:shift]:
            if done.get(key, 0) > r:
                continue
            ms = time_runner(runners[key], repeats)
            if not math.isfinite(ms):
                raise RuntimeError(f'non-finite latency measured for {key}')
            times[key].append(ms)
            if on_time is not None:
                on_time(key, r, ms)
    return times


def environment(runtime: str, threads: int) -> Dict:
    """What a table measured on this machine records about it."""
    import mmcv
    import mmpose
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
        onnxruntime = require('onnxruntime')
        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = None
    extra = {}
    if runtime.startswith('openvino'):  # what an OpenVINO table depends on
        openvino = require('openvino')
        extra = dict(openvino=openvino.__version__)
    if runtime == 'openvino-int8':
        nncf = require('nncf')
        extra['nncf'] = nncf.__version__
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
            python=platform.python_version(),
            **extra))
