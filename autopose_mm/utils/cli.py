"""Command-line pieces shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction


def add_config_args(parser: argparse.ArgumentParser,
                    cfg_options_example: str) -> None:
    """Add ``--cfg-options``, ``--launcher`` and ``--local_rank``."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help=f'override config settings, e.g. {cfg_options_example}')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_config_args(
        parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line; ``--local_rank`` becomes ``LOCAL_RANK`` for
    launchers that pass it as a flag."""
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_config(args: argparse.Namespace) -> Config:
    """The config at ``args.config`` with ``--cfg-options``, the launcher
    and the work dir (``--work-dir``, the config's own, or
    ``work_dirs/<config name>``) applied."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def add_show_args(parser: argparse.ArgumentParser, test: bool) -> None:
    """MMPose's drawing flags: ``--show-dir`` (and for testing ``--show``,
    ``--wait-time``), ``--interval``."""
    what = 'test' if test else 'validation'
    parser.add_argument(
        '--show-dir',
        help=f'draw the {what} predictions into this directory (relative '
        f'to <work_dir>/<timestamp>, as in MMPose)')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='draw every this many validation iterations')
    if test:
        parser.add_argument(
            '--show', action='store_true', help='display the predictions')
        parser.add_argument(
            '--wait-time',
            type=float,
            default=1,
            help='seconds each displayed picture stays (with --show)')


def enable_visualization(cfg: Config, show_dir: Optional[str],
                         interval: int = 1, show: bool = False,
                         wait_time: float = 1, test: bool = True) -> None:
    """Switch on the config's ``PoseVisualizationHook`` (MMPose's
    ``default_hooks.visualization``) for ``--show`` / ``--show-dir``.

    When testing, ``show_dir`` is the hook's ``out_dir`` (relative to
    ``<work_dir>/<timestamp>``, as in MMPose); when training, the
    validation pictures are written to ``<work_dir>/<show_dir>/vis_image``.
    """
    if not show and show_dir is None:
        return
    hooks = cfg.setdefault('default_hooks', {})
    if 'visualization' not in hooks:
        raise ValueError(
            'drawing predictions needs default_hooks.visualization=dict('
            'type="PoseVisualizationHook") in the config (MMPose\'s '
            'default_runtime.py has it)')
    vis = hooks['visualization']
    vis.update(enable=True, show=show, interval=interval)
    if show:
        vis['wait_time'] = wait_time
    if show_dir is not None:
        vis['out_dir'] = show_dir
        if not test:
            # validation pictures go to the visualizer's backends: add one
            # that writes into <work_dir>/<show_dir>/vis_image
            visualizer = cfg.setdefault('visualizer', {})
            backends = list(visualizer.get('vis_backends') or [])
            backends.append(
                dict(type='LocalVisBackend', name='show_dir',
                     save_dir=osp.join(cfg.work_dir, show_dir)))
            visualizer['vis_backends'] = backends
