"""Checkpoints that a killed or full-disk run cannot leave half-written,
and ``--resume`` that finds the newest checkpoint that loads.

MMEngine writes a checkpoint straight to its final name and rewrites the
work dir's ``last_checkpoint`` pointer in place (emptying it first); a run
killed in between leaves a partial ``epoch_N.pth`` or an empty pointer, and
``--resume`` then fails although the checkpoints before are intact. The
functions here, installed by :func:`install_checkpoint_writes` (one of
:data:`autopose_mm.patches.PATCHES`), write both through a temporary file
and a rename, and resolve ``--resume`` to the newest checkpoint that
loads, saying so when it is not the one the pointer names.
"""
import glob
import io
import os
import os.path as osp
import re
from typing import Any, Callable, List, Optional

import torch
from mmengine.logging import print_log

from ..utils.checkpoint import load_from_local_safely
from ..utils.io import atomic_path, named_disk_errors

POINTER = 'last_checkpoint'


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` to ``path`` through a temporary file and a rename.

    Raises:
        DiskFullError: The file system is full; names ``path``.
    """
    with named_disk_errors(path), atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())


class _AtomicText(io.StringIO):
    """A text file that appears at ``path`` whole, when closed."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def close(self) -> None:
        if not self.closed:
            text = self.getvalue()
            super().close()
            with atomic_path(self.path) as tmp:
                with open(tmp, 'w') as f:
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())


def pointer_open(file: Any, mode: str = 'r', *args, **kwargs) -> Any:
    """``open`` for MMEngine's checkpoint hook: writing the
    ``last_checkpoint`` pointer goes through :class:`_AtomicText`; every
    other call is the built-in ``open``."""
    if isinstance(file, str) and osp.basename(file) == POINTER and \
            mode == 'w':
        return _AtomicText(file)
    return open(file, mode, *args, **kwargs)


def wrap_save_checkpoint(original: Callable) -> Callable:
    """MMEngine's ``save_checkpoint(checkpoint, filename, ...)``, atomic
    for local files."""

    def save_checkpoint(checkpoint: dict,
                        filename: str,
                        file_client_args: Optional[dict] = None,
                        backend_args: Optional[dict] = None) -> None:
        local = isinstance(filename, str) and '://' not in filename and \
            not file_client_args and not backend_args
        if not local:
            return original(checkpoint, filename, file_client_args,
                            backend_args)
        atomic_torch_save(checkpoint, filename)

    save_checkpoint.__wrapped__ = original
    return save_checkpoint


def _step(path: str) -> int:
    match = re.search(r'(?:epoch|iter)_(\d+)\.pth$', path)
    return int(match.group(1)) if match else -1


def _loads(path: str) -> Optional[str]:
    """None when ``path`` loads as a checkpoint, else why not."""
    try:
        load_from_local_safely(path, map_location='cpu')
    except Exception as e:  # any reason not to resume from it
        return f'{type(e).__name__}: {str(e).splitlines()[0][:200]}'
    return None


def find_latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` continues from: the one the work dir's
    ``last_checkpoint`` names when it loads, else the newest
    ``epoch_*.pth`` / ``iter_*.pth`` there that loads (logged), else None.
    """
    pointed = None
    pointer = osp.join(work_dir, POINTER)
    if osp.isfile(pointer):
        with open(pointer) as f:
            pointed = f.read().strip() or None
    tried: List[str] = []
    if pointed is not None:
        why = _loads(pointed) if osp.isfile(pointed) else 'missing'
        if why is None:
            return pointed
        tried.append(f'{pointed} ({why})')
    elif osp.isfile(pointer):
        tried.append(f'{pointer} is empty')
    candidates = sorted(
        glob.glob(osp.join(work_dir, 'epoch_*.pth')) +
        glob.glob(osp.join(work_dir, 'iter_*.pth')),
        key=_step,
        reverse=True)
    for path in candidates:
        if path == pointed:
            continue
        why = _loads(path)
        if why is None:
            unusable = f' (not usable: {"; ".join(tried)})' if tried else ''
            print_log(
                f'resuming from {path}, the newest checkpoint of {work_dir} '
                f'that loads{unusable}',
                logger='current',
                level=30)
            return path
        tried.append(f'{path} ({why})')
    if tried:
        print_log(
            f'no checkpoint of {work_dir} loads ({"; ".join(tried)}); '
            f'training starts afresh',
            logger='current',
            level=30)
    return None


def install_checkpoint_writes() -> None:
    """Route MMEngine's checkpoint writes, its pointer write and its
    auto-resume look-up through this module."""
    import mmengine.hooks.checkpoint_hook as hook_module
    import mmengine.runner.runner as runner_module
    if not hasattr(runner_module.save_checkpoint, '__wrapped__'):
        runner_module.save_checkpoint = wrap_save_checkpoint(
            runner_module.save_checkpoint)
    runner_module.find_latest_checkpoint = find_latest_checkpoint
    hook_module.open = pointer_open
