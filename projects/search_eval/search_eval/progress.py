"""Progress of a long evaluation: which run of how many, the time spent and
an estimate of the time left."""
import time
from typing import Dict, Optional, Tuple


class Progress:
    """Prints which run of how many, the elapsed time and an ETA: for each
    kind of run (``totals``: kind -> count), the runs left times the time
    that kind has taken per run so far (trainings in parallel processes
    count by their throughput); the runs of a kind that has not finished
    one yet are named beside it."""

    def __init__(self, totals: Dict[str, int]) -> None:
        self.totals = dict(totals)
        self.total = sum(self.totals.values())
        self.count = 0
        self.completed = dict.fromkeys(self.totals, 0)  # timed
        self.skipped = dict.fromkeys(self.totals, 0)  # done before
        self.spent = dict.fromkeys(self.totals, 0.)
        self.kind: Optional[str] = None  # what the clock counts now
        self.running: Optional[str] = None  # a run announced at its start
        self.start = self.mark = time.time()

    def drop(self, kind: str, count: int) -> None:
        """``count`` runs of ``kind`` announced in the totals will not
        run."""
        self.totals[kind] -= count
        self.total -= count

    def begin(self, kind: str) -> None:
        """From now on the time is ``kind``'s; a run announced at its start
        has ended."""
        now = time.time()
        if self.kind is not None:
            self.spent[self.kind] += now - self.mark
        if self.running is not None:
            self.completed[self.running] += 1
            self.running = None
        self.kind, self.mark = kind, now

    def eta(self) -> Tuple[float, Dict[str, int]]:
        """Seconds left for the kinds that have finished a run, and how
        many runs are left of the kinds that have not (not timed yet)."""
        left, untimed = 0., {}
        for kind, total in self.totals.items():
            rest = total - self.completed[kind] - self.skipped[kind]
            if rest <= 0:
                continue
            if not self.completed[kind]:
                untimed[kind] = rest
                continue
            per_run = self.spent[kind] / self.completed[kind]
            if kind == self.running:  # under way since the last mark
                rest -= 1
                left += max(0., per_run - (time.time() - self.mark))
            left += rest * per_run
        return left, untimed

    def step(self,
             what: str,
             kind: str,
             finished: bool = False,
             skipped: bool = False) -> None:
        """Announce run ``what`` of ``kind``: one that starts now, with
        ``finished`` one that has just ended (runs in parallel processes),
        with ``skipped`` one finished before this invocation."""
        self.begin(kind)
        self.count += 1
        if skipped:
            self.skipped[kind] += 1
        elif finished:
            self.completed[kind] += 1
        else:
            self.running = kind
        left, untimed = self.eta()
        note = ''
        if self.count - (self.running is not None) < self.total:
            parts = [f'{left / 60:.1f} min'] if left or not untimed else []
            if untimed:
                parts.append(', '.join(f'{n} {kind}(s)'
                                       for kind, n in untimed.items()) +
                             ' not timed yet')
            note = ', ETA ' + ' + '.join(parts)
        elapsed = time.time() - self.start
        print(
            f'\n===== run {self.count}/{self.total}: {what} '
            f'[elapsed {elapsed / 60:.1f} min{note}] =====',
            flush=True)
