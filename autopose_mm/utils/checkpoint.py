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
import pickletools
import zipfile
from typing import Any, Callable, List, Optional, Union

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from .limits import limit, limit_hint


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint pickles objects outside the allow-list."""


def _numpy_globals() -> List[Any]:
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [
        type(np.dtype(t))
        for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                  np.uint16, np.uint32, np.uint64, np.float16, np.float32,
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


class CheckpointReadError(ValueError):
    """A file given as a checkpoint is empty, truncated or not a checkpoint
    at all."""


def _global_name(entry: Any) -> str:
    if isinstance(entry, tuple):
        return entry[1]
    return f'{entry.__module__}.{entry.__qualname__}'


def pickled_globals(filename: str) -> List[str]:
    """The ``module.name`` of every global a checkpoint's pickles refer to,
    read without unpickling anything.

    Zip checkpoints (the format of ``torch.save`` since 1.6) are read with
    torch's own scanner; legacy and plain pickle files are read opcode by
    opcode, pickle after pickle.

    Raises:
        CheckpointReadError: The file is not a zip archive and does not start
            with a pickle.
    """
    if zipfile.is_zipfile(filename):
        return list(
            torch.serialization.get_unsafe_globals_in_checkpoint(filename))
    found: List[str] = []
    with open(filename, 'rb') as f:
        if f.read(1) != b'\x80':
            raise CheckpointReadError(
                f'checkpoint {filename} is neither a zip archive nor a '
                f'pickle: it is not a PyTorch checkpoint')
        f.seek(0)
        while f.read(1):
            f.seek(-1, 1)
            strings: List[str] = []
            try:
                for opcode, arg, _ in pickletools.genops(f):
                    if opcode.name in ('GLOBAL', 'INST'):
                        found.append(arg.replace(' ', '.'))
                    elif opcode.name == 'STACK_GLOBAL' and len(strings) >= 2:
                        found.append(f'{strings[-2]}.{strings[-1]}')
                    elif isinstance(arg, str):
                        strings.append(arg)
            except (ValueError, EOFError):
                break  # tensor storage bytes follow the legacy pickles
            if opcode.name != 'STOP':
                break
    return sorted(set(found))


def _torch_allowed_globals() -> List[str]:
    """Names torch's ``weights_only`` unpickler accepts by itself (tensor
    storages and rebuild functions, ``OrderedDict``...)."""
    try:
        from torch._weights_only_unpickler import _get_allowed_globals
        return list(_get_allowed_globals())
    except (ImportError, AttributeError):  # other torch versions
        return []


def _read_error(filename: str, error: Exception) -> CheckpointReadError:
    """Describe why a file could not be read as a checkpoint, in words that
    do not suggest loosening the safety of the load."""
    cause = str(error).split('. ')[0].strip() or type(error).__name__
    if 'weights_only' in cause or 'Weights only' in cause:
        cause = 'not a checkpoint of tensors'
    return CheckpointReadError(
        f'checkpoint {filename} could not be read: it is truncated, damaged '
        f'or not a PyTorch checkpoint ({type(error).__name__}: {cause}). '
        f'Check the path, or copy or download the file again.')


# a record that inflates more than this many times its stored size is a zip
# bomb: torch.save stores records uncompressed
MAX_INFLATION = 100


def check_checkpoint_size(filename: str) -> None:
    """Refuse a checkpoint whose records would take more memory than
    ``limit('checkpoint_bytes')``, or whose records are compressed far
    beyond what ``torch.save`` writes (a zip bomb), before reading them.

    Raises:
        CheckpointReadError: Naming the file, the size and the limit.
    """
    if not zipfile.is_zipfile(filename):
        total = osp.getsize(filename)
    else:
        try:
            with zipfile.ZipFile(filename) as archive:
                records = archive.infolist()
        except (zipfile.BadZipFile, OSError) as e:
            raise _read_error(filename, e) from None
        total = sum(r.file_size for r in records)
        for r in records:
            if r.file_size > 2**20 and r.file_size > MAX_INFLATION * max(
                    r.compress_size, 1):
                raise CheckpointReadError(
                    f'checkpoint {filename}: record {r.filename!r} inflates '
                    f'from {r.compress_size} to {r.file_size} bytes; '
                    f'torch.save does not compress its records, so this '
                    f'file was not written by it. Refusing to load it')
    if total > limit('checkpoint_bytes'):
        raise CheckpointReadError(
            f'checkpoint {filename} holds {total} bytes of records, more '
            f'than this package loads {limit_hint("checkpoint_bytes")}')


def load_from_local_safely(
        filename: str,
        map_location: Optional[Union[str, Callable,
                                     torch.device]] = None) -> Any:
    """Load a local checkpoint with ``weights_only=True`` and the allow-list.

    Args:
        filename (str): Path of the checkpoint.
        map_location: As for :func:`torch.load`.

    Returns:
        The loaded object, usually a dict with ``state_dict`` and ``meta``.

    Raises:
        FileNotFoundError: The file does not exist.
        CheckpointReadError: The file is empty, truncated or not a
            checkpoint.
        UnsafeCheckpointError: The file pickles a global that is not on the
            allow-list (zip and legacy formats alike); the message lists
            them, and nothing from the file is executed.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found')
    if osp.getsize(filename) == 0:
        raise CheckpointReadError(
            f'checkpoint {filename} is empty (0 bytes); it was probably cut '
            f'off while being written or copied')
    check_checkpoint_size(filename)
    allowed = safe_globals()
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        try:
            found = pickled_globals(filename)
        except CheckpointReadError as err:
            raise err from None  # torch's message would advise unsafe loading
        except Exception:
            raise _read_error(filename, e) from None
        refused = sorted(
            set(found) - {_global_name(g)
                          for g in allowed} - set(_torch_allowed_globals()))
        if not refused:
            raise _read_error(filename, e) from None
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {filename}: it pickles '
            f'{", ".join(refused)}, which is not on the allow-list of safe '
            f'types (tensors, numpy arrays, mmengine HistoryBuffer). Only '
            f'load checkpoints written by this stack; to use weights from '
            f'another source, re-save just their state_dict of tensors.'
        ) from None
    except (EOFError, RuntimeError, KeyError, ValueError, OSError) as e:
        raise _read_error(filename, e) from None


def install_safe_loader() -> None:
    """Route MMEngine's local checkpoint loading through
    :func:`load_from_local_safely`."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_safely, force=True)
