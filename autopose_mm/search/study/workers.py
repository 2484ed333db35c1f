"""What the workers of a study share: a database they write to in turn,
with heartbeats that retry a dead worker's trial, and the processes that
run them on one machine."""
import os
import os.path as osp
import time
import warnings
from typing import Optional

import optuna
import sqlalchemy

SQLITE_HEADER = b'SQLite format 3\x00'


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, for everything printed
    or written (SQLAlchemy's own rendering)."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(
            hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return '(not a database URL)'


def check_storage_url(url: str, setting: str = '--storage') -> None:
    """Refuse a storage URL that is not one, or that keeps the study in
    memory (the report, made by another connection, would find nothing).

    Raises:
        ValueError: Naming ``setting`` and the fix.
    """
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise ValueError(f'{setting} {url!r} is not a database URL; give e.g. '
                         f'sqlite:///work_dirs/search/study.db or '
                         f'postgresql://user@host/db') from None
    database = parsed.database or ''
    if parsed.get_backend_name() == 'sqlite' and (database in ('', ':memory:')
                                                  or 'mode=memory' in url):
        raise ValueError(
            f'{setting} {masked_url(url)!r} keeps the study in memory: '
            f'every worker and the report would see another, empty '
            f'database and the results would be lost. Give a file '
            f'(sqlite:///path/study.db) or leave {setting} out for '
            f'<work_dir>/study.db')


def sqlite_url(path: str) -> str:
    """The Optuna storage URL of a SQLite file."""
    return f'sqlite:///{osp.abspath(path)}'


def sqlite_path(url: str) -> Optional[str]:
    """The file of a SQLite URL, None for other databases."""
    parsed = sqlalchemy.engine.make_url(url)
    if parsed.get_backend_name() != 'sqlite' or not parsed.database:
        return None
    return parsed.database


def check_sqlite_file(path: str) -> None:
    """Refuse a file that exists but is not a SQLite database.

    Raises:
        ValueError: Naming the file and the fix.
    """
    if not osp.isfile(path) or osp.getsize(path) == 0:
        return
    with open(path, 'rb') as f:
        header = f.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise ValueError(corrupt_message(path, 'it is not a SQLite database'))


def corrupt_message(path: str, why: str) -> str:
    return (f'study database {path}: {why}. Move it aside (mv {path} '
            f'{path}.bad) and rerun to start the study afresh, or give the '
            f'search another --work-dir')


def rdb_storage(url: str,
                heartbeat: int = 30,
                grace: int = 120,
                max_retry: int = 1) -> optuna.storages.RDBStorage:
    """An Optuna RDB storage with heartbeats: a trial whose worker stopped
    beating for ``grace`` seconds is marked failed and queued again (at
    most ``max_retry`` times). A SQLite file's directory is created; its
    writers wait for each other instead of failing."""
    check_storage_url(url)
    kwargs = {}
    path = sqlite_path(url)
    if path is not None:
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        check_sqlite_file(path)
        kwargs = dict(connect_args=dict(timeout=120))
    for attempt in range(5):
        try:
            with warnings.catch_warnings():  # heartbeats are experimental
                warnings.simplefilter('ignore',
                                      optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=kwargs,
                    heartbeat_interval=heartbeat,
                    grace_period=grace,
                    heartbeat_stale_trial_callback=optuna.storages.
                    RetryHeartbeatStaleTrialCallback(max_retry=max_retry))
        except ImportError as e:
            driver = sqlalchemy.engine.make_url(url).get_driver_name()
            raise ImportError(
                f'study storage {masked_url(url)}: its database driver '
                f'({driver}) is not installed; install it (for PostgreSQL '
                f'the search extra brings psycopg: pip install '
                f'"autopose_mm[search]") or use a SQLite storage') from e
        except sqlalchemy.exc.DatabaseError as e:
            if path is not None and any(
                    why in str(e) for why in ('malformed', 'not a database')):
                raise ValueError(
                    corrupt_message(path, 'the database is damaged')) from None
            if attempt == 4:
                raise RuntimeError(
                    f'study storage {masked_url(url)}: '
                    f'{type(e.orig or e).__name__}: {e.orig or e}; check '
                    f'that the database server runs and the URL (--storage) '
                    f'is right') from None
            time.sleep(1 + attempt)
        except sqlalchemy.exc.SQLAlchemyError:
            # another worker is creating the same database's tables
            if attempt == 4:
                raise
            time.sleep(1 + attempt)


# what one worker process of the sample-data study holds at its peak
WORKER_BYTES = 2**30


def worker_limit(bytes_per_worker: int = WORKER_BYTES) -> int:
    """How many worker processes this machine runs side by side: one per
    core, and no more than its memory holds at ``bytes_per_worker``."""
    memory = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    return max(1, min(os.cpu_count() or 1, memory // bytes_per_worker))


def check_workers(workers: int, oversubscribe: bool = False) -> None:
    """Refuse more workers than :func:`worker_limit` unless
    ``oversubscribe``.

    Raises:
        ValueError: Naming ``--workers``, the limit and what more costs.
    """
    if workers < 1:
        raise ValueError(f'--workers must be at least 1, got {workers}')
    bound = worker_limit()
    if workers > bound and not oversubscribe:
        raise ValueError(
            f'--workers {workers} is more than this machine runs side by '
            f'side ({bound}: {os.cpu_count()} cores, about '
            f'{WORKER_BYTES / 2**30:.0f} GiB of memory per worker). More '
            f'workers share the cores (each trial runs slower, the search '
            f'is not faster) and may run out of memory; pass '
            f'--oversubscribe to start them anyway, or start workers on '
            f'other machines against one --storage')


__all__ = [
    'rdb_storage', 'sqlite_url', 'masked_url', 'check_storage_url',
    'sqlite_path', 'check_workers', 'worker_limit'
]
