"""Evaluate a checkpoint on a config's test set.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
                         [--dump FILE] [--show] [--show-dir DIR]
                         [--interval N] [--wait-time S]
                         [--backend pytorch | onnxruntime | openvino]
                         [--precision f32 | bf16]
                         [--cfg-options k=v ...] [--launcher pytorch]

``--out`` writes the metrics as JSON; ``--dump`` pickles the raw
predictions. ``--show-dir DIR`` draws every test prediction (skeleton,
box and heatmap) with MMPose's visualiser into
``<work_dir>/<timestamp>/DIR``; ``--show`` displays them. The checkpoint
loads with ``weights_only=True`` (see ``autopose_mm.utils.checkpoint``) and
must fit the model (``--partial-load`` to load only what matches).

With ``--backend onnxruntime`` or ``openvino`` CHECKPOINT is a file
written by ``tools/deployment/pytorch2onnx.py`` (``.onnx``; OpenVINO also
its ``.xml``) and the exported network computes the test, inside MMPose's
estimator (the config's pre-processing, flip test, decoding and metric);
``--precision bf16`` runs OpenVINO in bf16 where the CPU has it, to see
what it costs in accuracy.
"""
import argparse
import math
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.runner import Runner

import autopose_mm  # noqa: F401  (registers modules, installs safe loading)
from autopose_mm.engine.guards import GUARD_HOOKS
from autopose_mm.utils import check_data_paths, init_dist_for_device
from autopose_mm.utils.cli import (
    add_config_args,
    add_show_args,
    enable_visualization,
    load_config,
    parse_config_args,
)
from autopose_mm.utils.io import check_output, write_json


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a pose model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for the logs')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument(
        '--dump', help='pickle the raw predictions to this .pkl file')
    parser.add_argument(
        '--backend',
        choices=['pytorch', 'onnxruntime', 'openvino'],
        default='pytorch',
        help='run the exported CHECKPOINT (.onnx / .xml) on this runtime')
    parser.add_argument(
        '--precision',
        choices=['f32', 'bf16'],
        default='f32',
        help='OpenVINO\'s inference precision')
    add_show_args(parser, test=True)
    add_config_args(parser, 'test_dataloader.batch_size=8')
    return parse_config_args(parser)


def write_metrics(path: str, metrics: dict) -> None:
    """Write the metrics as strict JSON; a non-finite metric is an error,
    not a result, and nothing is written."""
    values = {k: float(v) for k, v in metrics.items()}
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise SystemExit(
            f'metrics {", ".join(bad)} are not finite '
            f'({", ".join(str(values[k]) for k in bad)}); not writing '
            f'{path}. Check the data (boxes, keypoints) and the weights')
    write_json(path, values, indent=2)


def main() -> None:
    args = parse_args()
    cfg = load_config(args, GUARD_HOOKS)
    exported = args.backend != 'pytorch'
    if args.precision != 'f32' and args.backend != 'openvino':
        raise SystemExit(f'--precision {args.precision} needs --backend '
                         f'openvino')
    if exported != args.checkpoint.endswith(('.onnx', '.xml')):
        raise SystemExit(
            f'checkpoint {args.checkpoint!r}: --backend onnxruntime and '
            f'openvino take an exported .onnx (or, for OpenVINO, .xml) file, '
            f'--backend pytorch a .pth checkpoint')
    cfg.load_from = None if exported else args.checkpoint
    enable_visualization(cfg, args.show_dir, args.interval, args.show,
                         args.wait_time)
    inputs = [args.config, args.checkpoint, args.work_dir]
    if args.out is not None:
        check_output(args.out, '--out', inputs, suffixes=('.json', ))
    if args.dump is not None:
        check_output(
            args.dump,
            '--dump',
            inputs + [args.out],
            suffixes=('.pkl', '.pickle'))
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        evaluator = cfg.test_evaluator
        if isinstance(evaluator, (list, tuple)):
            cfg.test_evaluator = [*evaluator, dump_metric]
        else:
            cfg.test_evaluator = [evaluator, dump_metric]
    check_data_paths(cfg, ['test_dataloader'])
    if args.launcher != 'none':
        init_dist_for_device(args.launcher, cfg)
    runner = Runner.from_cfg(cfg)
    if exported:
        from autopose_mm.deploy import use_exported
        use_exported(
            getattr(runner.model, 'module', runner.model), args.checkpoint,
            args.backend, args.precision)
    metrics = runner.test()
    if args.out is not None and is_main_process():
        write_metrics(args.out, metrics)
        print(f'metrics written to {args.out}')
    if args.show_dir is not None and is_main_process():
        print('predictions drawn into '
              f'{osp.join(runner.work_dir, runner.timestamp, args.show_dir)}')


if __name__ == '__main__':
    main()
