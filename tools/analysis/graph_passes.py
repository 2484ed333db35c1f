"""What each graph pass of the export gains on each CPU runtime: one
network exported with no pass, every pass, and every pass but one, each
file timed on ONNX Runtime and OpenVINO (f32, batch 1) in interleaved
rounds, in one process.

    python tools/analysis/graph_passes.py [--row AutoPose-L12-C32]
        [--shape 256 192] [--threads 2] [--rounds 6] [--repeats 20]

Prints per runtime the median ms of each variant with the range over the
rounds, and its ratio to the file with every pass (per round: calls made
close in time); a pass helps on a runtime where leaving it out is slower.
"""
import argparse
import os.path as osp
import tempfile

import numpy as np
import torch

from autopose_mm.deploy import (
    DEFAULT_PASSES,
    EXPORTED_RUNTIMES,
    export_onnx,
    load_network,
    time_rounds,
)
from autopose_mm.deploy.zoo import BACKEND_NAMES, ROWS, build_model


def variants() -> dict:
    """Variant name -> its passes."""
    out = {'none': [], 'all': list(DEFAULT_PASSES)}
    for p in DEFAULT_PASSES:
        out[f'all but {p}'] = [q for q in DEFAULT_PASSES if q != p]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--row', default='AutoPose-L12-C32', choices=ROWS)
    parser.add_argument(
        '--shape', type=int, nargs=2, default=[256, 192], metavar=('H', 'W'))
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=6)
    parser.add_argument('--repeats', type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = build_model(args.row, args.shape).eval()
    x = np.random.default_rng(0).standard_normal(
        (1, 3, *args.shape)).astype(np.float32)
    runners = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, passes in variants().items():
            path = osp.join(tmp, name.replace(' ', '_') + '.onnx')
            export_onnx(model, path, args.shape, passes=passes)
            for runtime in EXPORTED_RUNTIMES:
                net = load_network(path, runtime, args.threads)
                runners[(runtime, name)] = lambda net=net: net.run(x)
    times = time_rounds(runners, args.rounds, args.repeats)
    print(f'\n{args.row}, batch 1, {args.shape[0]}x{args.shape[1]}, '
          f'{args.threads} threads, f32; ms: median of {args.rounds} '
          f'interleaved rounds (their range); vs all: per-round ratio to '
          f'the file with every pass (median, range)\n')
    print('| runtime | passes | ms | vs all |')
    print('|---|---|---|---|')
    for runtime in EXPORTED_RUNTIMES:
        base = times[(runtime, 'all')]
        for name in variants():
            t = times[(runtime, name)]
            ratio = [a / b for a, b in zip(t, base)]
            print(f'| {BACKEND_NAMES[runtime]} | {name} | '
                  f'{np.median(t):.1f} ({min(t):.1f}-{max(t):.1f}) | '
                  f'{np.median(ratio):.2f}x ({min(ratio):.2f}-'
                  f'{max(ratio):.2f}) |')


if __name__ == '__main__':
    main()
