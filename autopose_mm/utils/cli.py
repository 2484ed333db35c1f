"""Command-line pieces shared by the tools."""
import argparse
import difflib
import inspect
import os
import os.path as osp
from typing import Iterable, Optional, Sequence, Set, Tuple

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
    parser.add_argument(
        '--partial-load',
        action='store_true',
        help='load only the checkpoint weights that match the model '
        '(load_partial=True), e.g. to fine-tune with another head; by '
        'default a mismatch stops the run')


def parse_config_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line; ``--local_rank`` becomes ``LOCAL_RANK`` for
    launchers that pass it as a flag."""
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_config(args: argparse.Namespace, hooks: Sequence[str] = ()) -> Config:
    """The config at ``args.config`` with ``--cfg-options``, the launcher
    and the work dir (``--work-dir``, the config's own, or
    ``work_dirs/<config name>``) applied, and the hook types ``hooks``
    appended to ``custom_hooks`` where the config lacks them (the tools
    pass :data:`autopose_mm.engine.guards.GUARD_HOOKS`)."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        check_option_keys(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    if args.partial_load:
        cfg.load_partial = True
    add_hooks(cfg, hooks)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


# top-level settings MMEngine's Runner and these tools read, which a config
# may leave out
RUNNER_KEYS = ('model', 'work_dir', 'train_dataloader', 'val_dataloader',
               'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg',
               'auto_scale_lr', 'optim_wrapper', 'param_scheduler',
               'val_evaluator', 'test_evaluator', 'default_hooks',
               'custom_hooks', 'data_preprocessor', 'load_from', 'resume',
               'launcher', 'env_cfg', 'log_processor', 'log_level',
               'visualizer', 'default_scope', 'randomness', 'experiment_name',
               'runner_type', 'custom_imports', 'load_partial')

# settings MMPose's estimators and heads read from a test_cfg dict, which has
# no type to read them from
TEST_CFG_KEYS = ('flip_test', 'flip_mode', 'shift_heatmap', 'shift_coords',
                 'output_heatmaps', 'output_keypoint_indices',
                 'blur_kernel_size', 'align_corners', 'input_size',
                 'multiscale_test', 'restore_heatmap_size', 'max_instances',
                 'max_num_people', 'nms_dist_thr', 'nms_joints_thr',
                 'score_threshold')


def _suggest(key: str, known: Iterable[str], cutoff: float = 0.6) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=cutoff)
    return (f'; did you mean {" or ".join(repr(c) for c in close)}?'
            if close else '')


def _registered_class(type_name):
    """The class a config's ``type`` names, looked up in MMPose's
    registries (which reach MMEngine's), or None."""
    if not isinstance(type_name, str):
        return type_name if isinstance(type_name, type) else None
    from mmpose import registry
    for name in ('MODELS', 'HOOKS', 'DATASETS', 'TRANSFORMS', 'METRICS',
                 'LOOPS', 'OPTIM_WRAPPERS', 'OPTIMIZERS', 'PARAM_SCHEDULERS',
                 'VISUALIZERS', 'VISBACKENDS', 'DATA_SAMPLERS', 'EVALUATORS',
                 'KEYPOINT_CODECS', 'LOG_PROCESSORS'):
        reg = getattr(registry, name, None)
        try:
            found = reg.get(type_name) if reg is not None else None
        except Exception:  # a scope that is not imported
            found = None
        if found is not None:
            return found
    return None


def _known_keys(node: dict, path: str) -> Optional[Tuple[Set[str], bool]]:
    """The keys a config dict may hold, and whether that set is complete
    (False: the class also takes ``**kwargs``, so only near misses of its
    named arguments are refused); None when it cannot be known."""
    if path.split('.')[-1] == 'test_cfg' and 'type' not in node:
        return set(node) | set(TEST_CFG_KEYS), True
    cls = _registered_class(node.get('type'))
    if cls is None:
        return None
    try:
        signature = inspect.signature(
            cls.__init__ if isinstance(cls, type) else cls)
    except (TypeError, ValueError):
        return None
    params = {
        n
        for n, p in signature.parameters.items()
        if n != 'self' and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    var_kw = any(p.kind == p.VAR_KEYWORD
                 for p in signature.parameters.values())
    # 'priority' is read by the runner when it registers a hook
    return params | set(node) | {'type', 'priority'}, not var_kw


def check_option_keys(cfg: Config, options: Iterable[str]) -> None:
    """Refuse ``--cfg-options`` keys that would be ignored, naming the
    closest existing keys: a top-level key that is neither in the config nor
    a setting the runner reads, and a nested key that the dict it goes into
    cannot take (a ``type``'s constructor arguments, or MMPose's
    ``test_cfg`` settings). A class that also takes ``**kwargs`` accepts new
    keys except near misses of its named arguments.

    Raises:
        KeyError: For the first unknown key.
    """
    known = set(cfg.keys()) | set(RUNNER_KEYS)
    for option in options:
        parts = option.split('.')
        top = parts[0]
        if top not in known:
            raise KeyError(
                f'--cfg-options {option}: the config has no top-level '
                f'setting {top!r}{_suggest(top, known)} (a new top-level '
                f'key would be ignored)')
        node = cfg.get(top)
        for i, key in enumerate(parts[1:], 1):
            if not isinstance(node, dict):
                break  # a list index, or a new sub-tree: nothing to compare
            if key in node:
                node = node[key]
                continue
            path = '.'.join(parts[:i])
            allowed = _known_keys(node, path)
            if allowed is None:
                break
            keys, complete = allowed
            if key in keys:
                break  # a setting the dict may take, given here first
            hint = _suggest(key, keys, cutoff=0.6 if complete else 0.8)
            if complete or hint:
                what = f' ({node["type"]!s})' if 'type' in node else ''
                raise KeyError(
                    f'--cfg-options {option}: {path}{what} has no setting '
                    f'{key!r}{hint} (it would be ignored, or fail later)')
            break


def add_hooks(cfg: Config, types: Sequence[str]) -> None:
    """Append a hook of each of ``types`` to ``custom_hooks`` unless the
    config already has one."""
    hooks = list(cfg.get('custom_hooks') or [])
    present = {h.get('type') for h in hooks}
    hooks += [dict(type=t) for t in types if t not in present]
    cfg.custom_hooks = hooks


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


def enable_visualization(cfg: Config,
                         show_dir: Optional[str],
                         interval: int = 1,
                         show: bool = False,
                         wait_time: float = 1,
                         test: bool = True) -> None:
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
                dict(
                    type='LocalVisBackend',
                    name='show_dir',
                    save_dir=osp.join(cfg.work_dir, show_dir)))
            visualizer['vis_backends'] = backends


def add_shape_arg(parser: argparse.ArgumentParser,
                  flag: str = '--shape',
                  what: str = 'network input size') -> None:
    """Add an ``(H, W)`` option defaulting to the config's codec input
    size (read it with :func:`input_size`)."""
    parser.add_argument(
        flag,
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help=f'{what} (default: the config codec input_size)')


def input_size(cfg: Config, shape: Optional[Iterable[int]]) -> tuple:
    """(H, W): ``shape`` when given, else the config codec's
    ``input_size`` (W, H)."""
    if shape:
        if any(v < 1 for v in shape):
            raise SystemExit(f'input size (H W) {" ".join(map(str, shape))}: '
                             f'both must be positive numbers of pixels')
        return tuple(shape)
    codec = cfg.get('codec')
    if isinstance(codec, (list, tuple)):
        codec = codec[0]
    if not codec or 'input_size' not in codec:
        raise SystemExit('the config has no codec.input_size: give the input '
                         'size (H W) on the command line')
    w, h = codec['input_size']
    return h, w


def as_typed(path: str) -> str:
    """A tool's default path as a user in the current directory would
    type it: relative when it lies below the current directory (so that
    the files a tool writes name it the same wherever the repository is),
    else unchanged."""
    rel = osp.relpath(path)
    return path if rel.startswith(os.pardir) else rel
