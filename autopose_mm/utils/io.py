"""File helpers that never leave a partially written file behind."""
import os
import os.path as osp
import tempfile
from typing import IO, Callable


def atomic_write(path: str,
                 write: Callable[[IO], None],
                 mode: str = 'w') -> None:
    """Write a file through ``write(f)`` and move it into place atomically.

    The content goes to a temporary file in the same directory, is flushed to
    disk and then renamed over ``path``, so a reader (or a run that is killed
    half-way) sees either the old file or the complete new one.

    Args:
        path (str): Destination path; parent directories are created.
        write (Callable): Called with the open temporary file.
        mode (str): ``'w'`` for text, ``'wb'`` for bytes.
    """
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-')
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda f: f.write(text))
