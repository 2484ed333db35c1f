"""Worker processes that share this machine's cores."""
import multiprocessing
import os
from typing import Callable, Optional, Sequence, Tuple

__all__ = ['spawn_workers']


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
            f'workers {", ".join(str(i) for i, _ in failed)} failed '
            f'(exit codes {", ".join(str(c) for _, c in failed)}); their '
            f'logs are above. Rerun the same command to resume')
