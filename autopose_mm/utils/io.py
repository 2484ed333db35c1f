"""File helpers: writes that never leave a partial file behind, strict JSON,
outputs that may not replace inputs, and one run per work directory."""
import errno
import fcntl
import json
import os
import os.path as osp
import shutil
import tempfile
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterable, Iterator, Optional, Sequence


def _shared_mode() -> int:
    """The mode a newly created file gets under the current umask (what
    ``open`` gives checkpoints and logs, e.g. 0644 under umask 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str,
                 write: Callable[[IO], None],
                 mode: str = 'w') -> None:
    """Write a file through ``write(f)`` and move it into place atomically.

    The content goes to a temporary file in the same directory, is flushed to
    disk and then renamed over ``path``, so a reader (or a run that is killed
    half-way) sees either the old file or the complete new one. The file
    gets the permissions of a plainly created file (readable by the group
    and others where the umask allows), not the temporary file's 0600.

    Args:
        path (str): Destination path; parent directories are created.
        write (Callable): Called with the open temporary file.
        mode (str): ``'w'`` for text, ``'wb'`` for bytes.
    """
    with named_disk_errors(path), atomic_path(path) as tmp:
        with open(tmp, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())


@contextmanager
def atomic_path(path: str, suffix: str = '') -> Iterator[str]:
    """A temporary path beside ``path`` to write to; on leaving the block
    without an error it is renamed over ``path`` (with the permissions of a
    plainly created file), otherwise removed.

    Args:
        path (str): Destination path; parent directories are created.
        suffix (str): Ending of the temporary name (some writers choose the
            format by it, e.g. ``'.onnx'``).
    """
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-', suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, _shared_mode())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class DiskFullError(OSError):
    """A file could not be written because its file system is full."""


# what writers report instead of ENOSPC (torch's zip writer, OpenVINO's
# serializer), taken as a full disk when the disk is indeed nearly full
_WRITE_FAILURES = ('No space left', 'file write failed', 'iostream error')
_NEARLY_FULL = 64 * 2**20


@contextmanager
def named_disk_errors(path: str) -> Iterator[None]:
    """Turn a full disk met while writing ``path`` into a
    :class:`DiskFullError` that names the file and says that nothing was
    replaced (the writers here go through :func:`atomic_path`)."""
    try:
        yield
    except DiskFullError:
        raise
    except (OSError, RuntimeError) as e:
        full = isinstance(e, OSError) and e.errno == errno.ENOSPC
        if not full and any(w in str(e) for w in _WRITE_FAILURES):
            directory = osp.dirname(osp.abspath(path))
            try:
                full = shutil.disk_usage(directory).free < _NEARLY_FULL
            except OSError:
                full = False
        if not full:
            raise
        raise DiskFullError(
            errno.ENOSPC, f'no space left on the device of {path} while '
            f'writing it; nothing was replaced (files written before are '
            f'intact). Free space there or write elsewhere, then rerun'
        ) from None


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda f: f.write(text))


def strict_json(data: Any, **kwargs) -> str:
    """``json.dumps`` that refuses NaN and infinity (strict JSON).

    Raises:
        ValueError: A value is not finite; nothing is returned.
    """
    return json.dumps(data, allow_nan=False, **kwargs)


def write_json(path: str, data: Any, **kwargs) -> None:
    """Write ``data`` as strict JSON, atomically. A non-finite value raises
    ``ValueError`` naming ``path`` before anything is written."""
    try:
        text = strict_json(data, **kwargs)
    except ValueError as e:
        raise ValueError(f'not writing {path}: {e} (a NaN or infinite value '
                         f'is not a result)') from None
    atomic_write_text(path, text)


def _same(a: str, b: str) -> bool:
    if osp.exists(a) and osp.exists(b):
        return osp.samefile(a, b)
    return osp.realpath(a) == osp.realpath(b)


def check_output(
    path: str,
    flag: str,
    inputs: Iterable[Optional[str]] = (),
    suffixes: Sequence[str] = ()
) -> None:
    """Refuse an output path that would replace one of the inputs, has the
    wrong ending, or cannot be written, before any work is done.

    Args:
        path (str): The output file.
        flag (str): How the user named it (``'--out'``), for the message.
        inputs (Iterable[str]): Files the command reads.
        suffixes (Sequence[str]): Allowed endings (none: any).

    Raises:
        ValueError: The output is an input or has the wrong ending.
        PermissionError: Its directory cannot be created or written.
    """
    for source in inputs:
        if source and _same(path, source):
            raise ValueError(
                f'{flag} {path!r} is also an input of this command; writing '
                f'it would destroy the input. Choose another output path')
    if suffixes and not path.lower().endswith(tuple(suffixes)):
        raise ValueError(f'{flag} {path!r} must end with '
                         f'{" or ".join(suffixes)}')
    if osp.isdir(path):
        raise ValueError(f'{flag} {path!r} is a directory; give a file name')
    check_writable_dir(osp.dirname(osp.abspath(path)), f'{flag} {path!r}')


def check_writable_dir(directory: str, flag: str) -> None:
    """Create ``directory`` if needed and check that files can be written
    there, before any work is done.

    Raises:
        PermissionError: Naming ``flag`` (how the user set it) and why.
    """
    try:
        os.makedirs(directory, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix='.probe-')
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise PermissionError(
            f'{flag}: cannot write into {directory!r} '
            f'({e.strerror or e}); choose a writable place') from None


class WorkDirBusy(RuntimeError):
    """Another run holds the work directory."""


@contextmanager
def work_dir_lock(work_dir: str, what: str = 'run') -> Iterator[None]:
    """Hold ``<work_dir>/.lock`` for the duration of a run, so that a second
    run on the same work directory stops instead of overwriting the first
    one's checkpoints. The lock is the operating system's (``flock``): it
    goes away with the process that holds it, so a killed run leaves no
    stale lock behind.

    Raises:
        WorkDirBusy: Another process holds the lock; names its pid.
    """
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, '.lock')
    f = open(path, 'a+')
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        f.seek(0)
        holder = f.read().strip() or 'another process'
        f.close()
        if e.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        raise WorkDirBusy(
            f'work dir {work_dir!r} is in use by {holder}; a second {what} '
            f'there would overwrite its checkpoints. Wait for it to finish, '
            f'or give this one another --work-dir') from None
    try:
        f.seek(0)
        f.truncate()
        f.write(f'{what} pid {os.getpid()}\n')
        f.flush()
        yield
    finally:
        f.close()  # releases the lock
