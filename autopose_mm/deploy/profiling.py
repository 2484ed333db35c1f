"""Where an exported network's time goes on a runtime: kernel time per
operator type, from ONNX Runtime's profiler or OpenVINO's per-layer
counters, and the share of it spent in convolutions."""
import json
import os
import tempfile
from collections import defaultdict
from typing import Dict

import numpy as np

from .runtimes import OnnxRuntimeNetwork, OpenVINONetwork


def profile_onnxruntime(onnx_file: str,
                        x: np.ndarray,
                        threads: int,
                        runs: int = 10) -> Dict[str, float]:
    """Mean kernel milliseconds per run of every operator type (ONNX
    Runtime's names after its graph optimisations, e.g. ``FusedConv``,
    ``ReorderInput``), over ``runs`` runs after one warm-up run."""
    with tempfile.TemporaryDirectory() as tmp:
        net = OnnxRuntimeNetwork(
            onnx_file, threads, profile=os.path.join(tmp, 'ort'))
        net.run(x)  # warm-up, then counted from the next run on
        for _ in range(runs):
            net.run(x)
        with open(net.end_profiling()) as f:
            events = json.load(f)
    # the first run is the warm-up: count the node events after its end
    model_runs = sorted(
        (e['ts'] + e['dur'] for e in events if e.get('name') == 'model_run'))
    after = model_runs[0] if model_runs else 0
    totals: Dict[str, float] = defaultdict(float)
    for e in events:
        if (e.get('cat') == 'Node' and e['name'].endswith('_kernel_time')
                and e['ts'] >= after):
            totals[e['args']['op_name']] += e['dur']
    return {op: us / runs / 1e3 for op, us in totals.items()}


def profile_openvino(model_file: str,
                     x: np.ndarray,
                     threads: int,
                     runs: int = 10,
                     precision: str = 'f32') -> Dict[str, float]:
    """Mean milliseconds per run of every executed layer type of
    OpenVINO's CPU plugin (after its fusions: a convolution's fused ReLU
    or sum counts as convolution), over ``runs`` runs after a warm-up."""
    net = OpenVINONetwork(model_file, threads, precision, profile=True)
    net.run(x)
    totals: Dict[str, float] = defaultdict(float)
    for _ in range(runs):
        net.run(x)
        for layer in net.profile():
            totals[layer['type']] += layer['real_us']
    return {op: us / runs / 1e3 for op, us in totals.items() if us > 0}


MAC_OPS = ('conv', 'matmul', 'fullyconnected', 'gemm')


def mac_kernel_ms(op_ms: Dict[str, float]) -> float:
    """The kernel milliseconds of the operator types that compute the
    multiply-adds a network's GMACs count: convolutions (fused or not,
    grouped or not) and matrix products (``MatMul``, ``Gemm``, OpenVINO's
    ``FullyConnected`` variants), by the operator type's name."""
    return sum(ms for op, ms in op_ms.items()
               if any(key in op.lower() for key in MAC_OPS))


def conv_share(op_ms: Dict[str, float]) -> float:
    """The fraction of the kernel time spent in convolutions (every
    operator type whose name contains ``Conv``)."""
    total = sum(op_ms.values())
    conv = sum(ms for op, ms in op_ms.items() if 'conv' in op.lower())
    return conv / total if total else float('nan')
