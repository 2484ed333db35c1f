"""Safe checkpoint loading: ``weights_only=True`` plus a small allow-list.

MMEngine 0.10 checkpoints hold, besides tensors, numpy arrays (dataset meta,
log history) and MMEngine's ``HistoryBuffer``. torch >= 2.6 refuses them when
loading with ``weights_only=True``. Instead of turning that safety off, the
loader below allows exactly those data-only types, for the duration of one
load, and refuses a checkpoint that pickles anything else (such as a function
that would run on load).

Importing :mod:`autopose_mm` installs this loader for local paths in
MMEngine's ``CheckpointLoader``, so ``load_from``, ``--resume`` and
``tools/test.py`` all go through it.
"""
import os.path as osp
import pickle
from typing import Any, Callable, List, Optional, Union

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint pickles objects outside the allow-list."""


def _numpy_globals() -> List[Any]:
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [
        type(np.dtype(t)) for t in (np.bool_, np.int8, np.int16, np.int32,
                                    np.int64, np.uint8, np.uint16, np.uint32,
                                    np.uint64, np.float16, np.float32,
                                    np.float64, np.str_, np.object_)
    ]
    return [_reconstruct, scalar, np.ndarray, np.dtype] + dtype_classes


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Stands in for ``getattr`` while unpickling.

    ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``; only such look-ups are honoured.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = {'min', 'max', 'mean', 'current'}
    allowed.update(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise UnsafeCheckpointError(
        f'checkpoint looks up attribute {name!r} of {obj!r}; only '
        f'HistoryBuffer statistics methods may be looked up')


def safe_globals() -> List[Any]:
    """The non-tensor types a checkpoint of this stack may contain."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return _numpy_globals() + [
        HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')
    ]


def load_from_local_safely(filename: str,
                           map_location: Optional[Union[str, Callable,
                                                        torch.device]] = None
                           ) -> Any:
    """Load a local checkpoint with ``weights_only=True`` and the allow-list.

    Args:
        filename (str): Path of the checkpoint.
        map_location: As for :func:`torch.load`.

    Returns:
        The loaded object, usually a dict with ``state_dict`` and ``meta``.

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: The file pickles a global that is not on the
            allow-list; nothing from it is executed.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found')
    allowed = safe_globals()
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        try:
            found = torch.serialization.get_unsafe_globals_in_checkpoint(
                filename)
        except Exception:  # unreadable as a zip archive: report torch's error
            found = []
        allowed_names = {
            g[1] if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}'
            for g in allowed
        }
        refused = sorted(set(found) - allowed_names) or [str(e).strip()]
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {filename}: it pickles '
            f'{", ".join(refused)}, which is not on the allow-list of safe '
            f'types (tensors, numpy arrays, mmengine HistoryBuffer). Only '
            f'load checkpoints written by this stack; to use weights from '
            f'another source, re-save just their state_dict of tensors.'
        ) from None


def install_safe_loader() -> None:
    """Route MMEngine's local checkpoint loading through
    :func:`load_from_local_safely`."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_safely, force=True)
