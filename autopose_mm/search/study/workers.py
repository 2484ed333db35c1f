"""What the workers of a study share: a database they write to in turn,
with heartbeats that retry a dead worker's trial, and the processes that
run them on one machine."""
import multiprocessing
import os
import os.path as osp
import time
import warnings
from typing import Callable, Optional, Sequence, Tuple

import optuna
import sqlalchemy


def rdb_storage(url: str,
                heartbeat: int = 30,
                grace: int = 120,
                max_retry: int = 1) -> optuna.storages.RDBStorage:
    """An Optuna RDB storage with heartbeats: a trial whose worker stopped
    beating for ``grace`` seconds is marked failed and queued again (at
    most ``max_retry`` times). A SQLite file's directory is created; its
    writers wait for each other instead of failing."""
    kwargs = {}
    if url.startswith('sqlite:///'):
        os.makedirs(osp.dirname(url[len('sqlite:///'):]), exist_ok=True)
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
        except sqlalchemy.exc.SQLAlchemyError:
            # another worker is creating the same database's tables
            if attempt == 4:
                raise
            time.sleep(1 + attempt)


def spawn_workers(target: Callable,
                  payloads: Sequence[tuple],
                  poll: Optional[Tuple[Callable, float]] = None) -> None:
    """Run ``target(*payload, threads)`` in one fresh process per payload,
    the machine's cores shared equally, and wait for all; with ``poll =
    (function, seconds)`` call ``function()`` that often while waiting.

    Raises:
        RuntimeError: When a worker process fails; names its exit code.
    """
    threads = max(1, (os.cpu_count() or 1) // len(payloads))
    ctx = multiprocessing.get_context('spawn')
    procs = [
        ctx.Process(target=target, args=tuple(p) + (threads, ))
        for p in payloads
    ]
    for p in procs:
        p.start()
    for p in procs:
        while p.is_alive():
            p.join(poll[1] if poll else None)
            if poll:
                poll[0]()
    failed = [(i, p.exitcode) for i, p in enumerate(procs) if p.exitcode]
    if failed:
        raise RuntimeError(
            f'study workers {", ".join(str(i) for i, _ in failed)} failed '
            f'(exit codes {", ".join(str(c) for _, c in failed)}); their '
            f'logs are above. Rerun the same command to resume the study')


__all__ = ['rdb_storage', 'spawn_workers']
