"""Train (or search) a model from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--show-dir DIR] [--interval N]
                          [--cfg-options k=v ...] [--launcher pytorch]

The flags are MMPose's. Differences from MMPose's own script: the dataset
paths are checked before anything is built, checkpoints load with
``weights_only=True`` (see ``autopose_mm.utils.checkpoint``), and
``--launcher`` also works on machines without CUDA (gloo), and a second
run on a work dir that a training is using stops instead of overwriting its
checkpoints.
"""
import argparse
import contextlib
import os
import os.path as osp
import shutil

from mmengine.config import Config
from mmengine.dist import get_rank
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
from autopose_mm.utils.io import work_dir_lock


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a pose model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='directory for logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or from the latest checkpoint in the work '
        'dir when no path is given')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision training')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size')
    add_show_args(parser, test=False)
    add_config_args(
        parser, 'train_dataloader.batch_size=8 "model.backbone.arch=L18-C48"')
    return parse_config_args(parser)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the training flags to the config."""
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print('AMP training is already enabled in the config.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True
    enable_visualization(cfg, args.show_dir, args.interval, test=False)
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    return cfg


def main() -> None:
    args = parse_args()
    cfg = merge_args(load_config(args, GUARD_HOOKS), args)
    loaders = ['train_dataloader']
    if cfg.get('val_cfg') is not None:
        loaders.append('val_dataloader')
    check_data_paths(cfg, loaders)
    if args.launcher != 'none':
        init_dist_for_device(args.launcher, cfg)
    # one run per work dir: a second one would overwrite its checkpoints
    lock = work_dir_lock(cfg.work_dir, 'training') if get_rank() == 0 \
        else contextlib.nullcontext()
    with lock:
        before = set(os.listdir(cfg.work_dir)) if get_rank() == 0 else None
        try:
            runner = Runner.from_cfg(cfg)
        except BaseException:
            # a config the runner refuses (an unknown arch, data it cannot
            # read) leaves no run folder behind
            if before is not None:
                for name in set(os.listdir(cfg.work_dir)) - before:
                    shutil.rmtree(
                        osp.join(cfg.work_dir, name), ignore_errors=True)
            raise
        runner.train()


if __name__ == '__main__':
    main()
