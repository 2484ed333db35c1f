"""Export a pose model to ONNX (BN folded) and check it against PyTorch.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT
        [--out model.onnx] [--shape H W] [--dynamic-batch] [--opset 17]
        [--genotype FILE] [--no-fold-bn] [--no-verify] [--partial-load]

The exported graph maps the normalised image batch (``input``: RGB, the
config's mean and std applied, N x 3 x H x W) to the head's outputs
(``heatmaps``, or ``heatmaps_<stage>`` for a multi-stage head). Unless
``--no-verify``, ONNX Runtime runs the file on random images and the tool
prints the largest heatmap difference (relative to the heatmap range) and
the largest difference of the decoded keypoints in input pixels; it exits
with status 1, writing no file, when they exceed ``--atol`` (1e-4 of the
range) or 0.5 px. ``--out`` must end with ``.onnx`` and may not be one of
the inputs; weights with NaN or infinite values are refused.
A model trained from a searched genotype uses the genotype recorded in its
checkpoint (or ``--genotype FILE``). ``CHECKPOINT`` may be ``none`` to
export random weights (to measure latency or try the export).
"""
import argparse
import json
import math
import os.path as osp
import sys

import autopose_mm  # noqa: F401  (registers modules, safe loading)
from autopose_mm.deploy import compare_outputs, export_onnx, load_pose_model
from autopose_mm.utils.cli import add_shape_arg, input_size
from autopose_mm.utils.io import atomic_path, check_output

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
    check_output(
        out,
        '--out',
        inputs=[args.config, checkpoint, args.genotype],
        suffixes=('.onnx', ))
    model, cfg = load_pose_model(args.config, checkpoint, args.genotype,
                                 args.partial_load)
    shape = input_size(cfg, args.shape)
    # the file appears under its name only once it has passed every check
    with atomic_path(out, suffix='.onnx') as tmp:
        names = export_onnx(
            model,
            tmp,
            shape,
            opset=args.opset,
            dynamic_batch=args.dynamic_batch,
            fold_bn=not args.no_fold_bn)
        if not args.no_verify:
            verify(model, tmp, shape, args.atol)
    print(f'wrote {out} (input 1x3x{shape[0]}x{shape[1]}, outputs '
          f'{", ".join(names)}, opset {args.opset}, BN '
          f'{"kept" if args.no_fold_bn else "folded"}); onnx.checker passed')
    if not args.no_verify:
        print('ONNX Runtime reproduces PyTorch')


def verify(model, onnx_file: str, shape, atol: float) -> None:
    """Compare ONNX Runtime with PyTorch; exit with status 1 (the file
    is then not written) when they differ or are not finite."""
    result = compare_outputs(model, onnx_file, shape)
    print('ONNX Runtime vs PyTorch: ' + json.dumps({
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
        sys.exit('ONNX Runtime does not reproduce PyTorch: ' + '; '.join(bad) +
                 '; no file written')


if __name__ == '__main__':
    main()
