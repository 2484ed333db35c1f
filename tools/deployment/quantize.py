"""Quantize an exported OpenVINO model to int8 with NNCF, calibrated on the
config's own person crops, and check it against the f32 model.

    python tools/deployment/quantize.py CONFIG MODEL.xml [--out MODEL_int8.xml]
        [--calibration 300] [--max-drop 0.01] [--validation 200] [--seed 0]

MODEL.xml is the f32 IR written by ``tools/deployment/pytorch2onnx.py
--openvino`` (or its ``.onnx``). The calibration takes ``--calibration``
person crops of the config's training data, made by its test pipeline and
data preprocessor (what the network reads at test time). ``--max-drop``
turns on NNCF's accuracy control: layers stay in f32, most sensitive first,
until the int8 model loses at most that much keypoint accuracy (MMPose's
PCK at 0.05 of the crop size) on ``--validation`` crops of the config's
validation data; the layers kept in f32 are listed. The tool prints int8
against f32 on validation crops (heatmap error relative to the f32 range,
keypoint error in crop pixels, both accuracies) and writes the IR (``.xml``
and ``.bin``) atomically; with ``--max-drop`` it exits with status 1,
writing nothing, when the drop is larger. ``tools/test.py CONFIG
MODEL_int8.xml --backend openvino`` gives its AP; ``tools/infer.py`` runs
it.
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import tempfile

import autopose_mm  # noqa: F401  (registers modules)
from autopose_mm.utils.io import check_output


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the model\'s config')
    parser.add_argument('model', help='the f32 OpenVINO IR (.xml) or .onnx')
    parser.add_argument(
        '--out', help='int8 IR to write (default: MODEL_int8.xml)')
    parser.add_argument(
        '--calibration',
        type=int,
        default=300,
        help='person crops of the training data to calibrate on')
    parser.add_argument(
        '--validation',
        type=int,
        default=200,
        help='person crops of the validation data for the check and the '
        'accuracy control')
    parser.add_argument(
        '--max-drop',
        type=float,
        help='largest keypoint-accuracy loss allowed (e.g. 0.01): keeps '
        'the most sensitive layers in f32')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if args.calibration < 1 or args.validation < 1:
        parser.error('--calibration and --validation must be at least 1')
    if args.max_drop is not None and not 0 < args.max_drop < 1:
        parser.error(f'--max-drop must lie in (0, 1), got {args.max_drop}')
    return args


def main() -> None:
    args = parse_args()
    from mmengine.config import Config

    from autopose_mm.datasets import ensure_sample_data
    from autopose_mm.deploy.quantize import (
        compare_int8,
        person_crops,
        quantize_openvino,
        save_openvino,
    )
    if not osp.isfile(args.model):
        sys.exit(f'error: model {args.model!r} does not exist; write it with '
                 f'tools/deployment/pytorch2onnx.py CONFIG CKPT --openvino')
    out = args.out or osp.splitext(args.model)[0] + '_int8.xml'
    check_output(
        out, '--out', inputs=[args.model, args.config], suffixes=('.xml', ))
    cfg = Config.fromfile(args.config)
    ensure_sample_data(cfg)
    calibration = person_crops(cfg, args.calibration, 'train', args.seed)
    validation = person_crops(cfg, args.validation, 'val', args.seed + 1)
    print(
        f'calibrating on {len(calibration.inputs)} training crops '
        f'{calibration.inputs.shape[2]}x{calibration.inputs.shape[3]}' +
        (f', accuracy control on {len(validation.inputs)} validation '
         f'crops (max drop {args.max_drop})'
         if args.max_drop is not None else ''),
        flush=True)
    quantized, kept = quantize_openvino(args.model, calibration.inputs,
                                        validation, args.max_drop)
    with tempfile.TemporaryDirectory(
            dir=osp.dirname(osp.abspath(out)), prefix='.tmp-') as tmp:
        staged = osp.join(tmp, 'model.xml')
        save_openvino(quantized, staged)
        report = compare_int8(args.model, staged, validation)
        print('int8 vs f32 on validation crops: ' +
              json.dumps({
                  k: float(f'{v:.4g}')
                  for k, v in report.items()
              }))
        if not all(math.isfinite(v) for v in report.values()):
            sys.exit('error: the int8 model\'s outputs are not finite; '
                     'nothing written')
        drop = report['accuracy_f32'] - report['accuracy_int8']
        if args.max_drop is not None and drop > args.max_drop:
            sys.exit(f'error: the int8 model loses {drop:.4f} keypoint '
                     f'accuracy, more than --max-drop {args.max_drop}; '
                     f'nothing written')
        if kept:
            print(f'kept in f32 by the accuracy control ({len(kept)}): '
                  f'{", ".join(kept)}')
        os.replace(osp.join(tmp, 'model.bin'), osp.splitext(out)[0] + '.bin')
        os.replace(staged, out)
    print(f'wrote {out} and {osp.splitext(out)[0]}.bin (OpenVINO IR, int8)')


if __name__ == '__main__':
    main()
