"""Export a pose model to ONNX (BN folded, lean graph) and, optionally,
OpenVINO, and check them against PyTorch.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT
        [--out model.onnx] [--openvino] [--shape H W] [--dynamic-batch]
        [--opset 17] [--passes split_shared slim | --passes none]
        [--genotype FILE] [--no-fold-bn] [--no-verify] [--partial-load]

The exported graph maps the normalised image batch (``input``: RGB, the
config's mean and std applied, N x 3 x H x W) to the head's outputs
(``heatmaps``, or ``heatmaps_<stage>`` for a multi-stage head). ``--passes``
rewrites the graph without changing its function (default: every pass, see
``autopose_mm/deploy/graph.py``). ``--openvino`` also writes OpenVINO's IR
beside the ONNX file (``model.xml`` + ``model.bin``, weights in f32).

Unless ``--no-verify``, each runtime (ONNX Runtime; OpenVINO in f32 with
``--openvino``) runs its file on random images and the tool prints the
largest heatmap difference (relative to the heatmap range) and the largest
difference of the decoded keypoints in input pixels; it exits with status
1, writing no file, when they exceed ``--atol`` (1e-4 of the range) or
0.5 px. Where the CPU computes bf16 natively, the tool also prints how far
OpenVINO's bf16 mode is from PyTorch (informative: bf16 is not checked
against the tolerance). ``--out`` must end with ``.onnx`` and may not be
one of the inputs; weights with NaN or infinite values are refused.
A model trained from a searched genotype uses the genotype recorded in its
checkpoint (or ``--genotype FILE``). ``CHECKPOINT`` may be ``none`` to
export random weights (to measure latency or try the export).
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import tempfile

import autopose_mm  # noqa: F401  (registers modules, safe loading)
from autopose_mm.deploy import (
    DEFAULT_PASSES,
    GRAPH_PASSES,
    compare_outputs,
    export_onnx,
    export_openvino,
    load_pose_model,
)
from autopose_mm.deploy.runtimes import openvino_core, openvino_supports_bf16
from autopose_mm.utils.cli import add_shape_arg, input_size
from autopose_mm.utils.io import atomic_path, check_output

RUNTIME_NAMES = dict(onnxruntime='ONNX Runtime', openvino='OpenVINO')

MAX_KEYPOINT_PX = 0.5
# the oldest opset that has every operator of the exported networks, and
# the newest torch's TorchScript exporter writes
MIN_OPSET, MAX_OPSET = 11, 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file, or "none"')
    parser.add_argument(
        '--out', help='ONNX file (default: the checkpoint name, .onnx)')
    add_shape_arg(parser)
    parser.add_argument(
        '--openvino',
        action='store_true',
        help='also write OpenVINO\'s IR (.xml + .bin) beside the ONNX file')
    parser.add_argument(
        '--passes',
        nargs='+',
        default=list(DEFAULT_PASSES),
        choices=list(GRAPH_PASSES) + ['none'],
        help='graph rewrites of the exported file (default: '
        f'{" ".join(DEFAULT_PASSES)}; "none" keeps PyTorch\'s graph)')
    parser.add_argument('--dynamic-batch', action='store_true')
    parser.add_argument(
        '--opset',
        type=int,
        default=17,
        help=f'ONNX opset, {MIN_OPSET} to {MAX_OPSET} (default 17)')
    parser.add_argument('--genotype', help='genotype file (JSON/YAML)')
    parser.add_argument(
        '--no-fold-bn',
        action='store_true',
        help='keep BatchNorm as separate nodes')
    parser.add_argument(
        '--no-verify',
        action='store_true',
        help='skip the ONNX Runtime comparison')
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-4,
        help='largest heatmap difference allowed, as a fraction of the '
        'heatmap range')
    parser.add_argument('--partial-load', action='store_true')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise SystemExit(f'checkpoint {checkpoint!r} is not a file')
    if not MIN_OPSET <= args.opset <= MAX_OPSET:
        raise SystemExit(f'--opset {args.opset}: this exporter writes opsets '
                         f'{MIN_OPSET} to {MAX_OPSET}')
    out = args.out
    if out is None:
        base = checkpoint or osp.join(
            'work_dirs',
            osp.splitext(osp.basename(args.config))[0] + '_random')
        out = osp.splitext(base)[0] + '.onnx'
    inputs = [args.config, checkpoint, args.genotype]
    check_output(out, '--out', inputs=inputs, suffixes=('.onnx', ))
    xml = osp.splitext(out)[0] + '.xml'
    if args.openvino:
        check_output(xml, 'the OpenVINO model', inputs=inputs)
        openvino_core()  # a clear message before any work where it cannot run
    passes = [] if 'none' in args.passes else args.passes
    model, cfg = load_pose_model(args.config, checkpoint, args.genotype,
                                 args.partial_load)
    shape = input_size(cfg, args.shape)
    # the files appear under their names only once they passed every check
    with atomic_path(out, suffix='.onnx') as tmp:
        names = export_onnx(
            model,
            tmp,
            shape,
            opset=args.opset,
            dynamic_batch=args.dynamic_batch,
            fold_bn=not args.no_fold_bn,
            passes=passes)
        if not args.no_verify:
            verify(model, tmp, shape, args.atol, 'onnxruntime')
        if args.openvino:
            write_openvino(model, tmp, xml, shape, args)
    batch = 'N' if args.dynamic_batch else '1'
    print(f'wrote {out} (input {batch}x3x{shape[0]}x{shape[1]}, outputs '
          f'{", ".join(names)}, opset {args.opset}, BN '
          f'{"kept" if args.no_fold_bn else "folded"}, graph passes: '
          f'{" ".join(passes) or "none"}); onnx.checker passed')
    if args.openvino:
        print(f'wrote {xml} and {osp.splitext(xml)[0]}.bin (OpenVINO IR, '
              f'f32 weights)')
    if not args.no_verify:
        print(' and '.join(
            RUNTIME_NAMES[r]
            for r in ['onnxruntime'] + ['openvino'] * args.openvino) +
              ' reproduce' + ('' if args.openvino else 's') + ' PyTorch')


def write_openvino(model, onnx_file: str, xml: str, shape,
                   args: argparse.Namespace) -> None:
    """Convert ``onnx_file`` to OpenVINO's IR in a temporary folder beside
    ``xml``, check it, then move the ``.bin`` and last the ``.xml`` into
    place."""
    folder = osp.dirname(osp.abspath(xml))
    with tempfile.TemporaryDirectory(dir=folder, prefix='.tmp-') as tmp:
        tmp_xml = osp.join(tmp, 'model.xml')
        export_openvino(onnx_file, tmp_xml)
        if not args.no_verify:
            verify(model, tmp_xml, shape, args.atol, 'openvino')
            report_bf16(model, tmp_xml, shape)
        os.replace(osp.join(tmp, 'model.bin'), osp.splitext(xml)[0] + '.bin')
        os.replace(tmp_xml, xml)


def report_bf16(model, xml: str, shape) -> None:
    """Print how far OpenVINO's bf16 mode is from PyTorch, where the CPU
    computes bf16 natively."""
    if not openvino_supports_bf16():
        print('OpenVINO bf16: this CPU has no native bf16 (AMX or AVX-512 '
              'BF16); not measured')
        return
    result = compare_outputs(
        model, xml, shape, runtime='openvino', precision='bf16')
    print('OpenVINO bf16 vs PyTorch (informative, not checked): ' +
          json.dumps({
              k: float(f'{v:.3g}')
              for k, v in result.items()
          }))


def verify(model, model_file: str, shape, atol: float, runtime: str) -> None:
    """Compare ``runtime`` (f32) with PyTorch; exit with status 1 (no file
    is then written) when they differ or are not finite."""
    name = RUNTIME_NAMES[runtime]
    result = compare_outputs(model, model_file, shape, runtime=runtime)
    print(f'{name} vs PyTorch: ' + json.dumps({
        k: float(f'{v:.3g}')
        for k, v in result.items()
    }))
    bad = []
    if not math.isfinite(result['heatmap_range']):
        bad.append('the PyTorch outputs are not finite')
    if not result['relative'] <= atol:
        bad.append(f'heatmaps differ by {result["relative"]:.3g} of their '
                   f'range (allowed {atol:g})')
    if not result.get('max_keypoint_px', 0.) <= MAX_KEYPOINT_PX:
        bad.append(f'decoded keypoints differ by '
                   f'{result["max_keypoint_px"]:.3g} px (allowed '
                   f'{MAX_KEYPOINT_PX})')
    if bad:
        sys.exit(f'{name} does not reproduce PyTorch: ' + '; '.join(bad) +
                 '; no file written')


if __name__ == '__main__':
    main()
