"""Training a study's candidate with the project's own training code, at
increasing fidelities: an MMEngine runner per trial, and a hook that
reports a value at each rung (epoch count) to the trial, so that the
study's pruner can stop it there."""
import copy
import math
import os.path as osp
import time
from typing import Callable, Dict, Optional, Sequence

import optuna
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from ...models.genotype import Genotype
from ..training import pick_metric, runner_for

__all__ = ['RungHook', 'train_rungs', 'rung_epochs', 'RungObjective']

# candidates costing outside the cost bounds before any trains, in a row:
# the bounds do not meet the space
MAX_OUTSIDE_IN_A_ROW = 2000


def rung_epochs(min_epochs: int, reduction_factor: int,
                max_epochs: int) -> Sequence[int]:
    """The epochs at which a trial is tested: ``min_epochs`` times the
    powers of ``reduction_factor`` below ``max_epochs``, then
    ``max_epochs`` (what Optuna's successive-halving and Hyperband pruners
    compare at)."""
    if min_epochs < 1 or reduction_factor < 2 or max_epochs < min_epochs:
        raise ValueError(
            f'rungs need 1 <= min_epochs ({min_epochs}) <= max_epochs '
            f'({max_epochs}) and reduction_factor >= 2 ({reduction_factor})')
    rungs, e = [], min_epochs
    while e < max_epochs:
        rungs.append(e)
        e *= reduction_factor
    return tuple(rungs) + (max_epochs, )


SIGNALS = ('train_loss', 'metric')


class RungHook(Hook):
    """Hands a trial's value at each rung to ``report(epochs, value)``,
    which may stop the training by raising (a pruned trial).

    At the last rung (the schedule's end, where the training loop tests by
    itself: ``val_interval`` is the schedule's length) the value is the
    test metric. At earlier rungs it is, by ``signal``:

    - ``'train_loss'``: minus the mean training loss of every iteration so
      far (the training-speed estimate; free, no test);
    - ``'metric'``: the test metric, from a validation run started here.

    Args:
        rungs (Sequence[int]): Epoch counts to report at.
        report (Callable[[int, float], None]): Receives the epochs trained
            and the value.
        metric (str, optional): Metric key; COCO AP, else PCKh, else PCK.
        signal (str): What the earlier rungs report.
        on_rung (Callable[[Dict], None], optional): Receives, at every
            rung, the log of all rungs so far: per epoch count the mean
            training loss, the seconds spent training and, where a test
            ran, the metric and the test's seconds.
    """
    priority = 'LOW'

    def __init__(self,
                 rungs: Sequence[int],
                 report: Callable[[int, float], None],
                 metric: Optional[str] = None,
                 signal: str = 'train_loss',
                 on_rung: Optional[Callable[[Dict], None]] = None) -> None:
        if signal not in SIGNALS:
            raise ValueError(f'rung signal {signal!r}: use one of '
                             f'{", ".join(SIGNALS)}')
        self.rungs = tuple(rungs)
        self.report = report
        self.metric = metric
        self.signal = signal
        self.on_rung = on_rung
        self.epochs = 0
        self.loss_sum = 0.
        self.iters = 0
        self.log: Dict[str, Dict[str, float]] = {}
        self.train_seconds = 0.
        self.started = 0.

    def _logged(self, **values) -> None:
        self.log.setdefault(str(self.epochs), {}).update(values)
        if self.on_rung is not None:
            self.on_rung(copy.deepcopy(self.log))

    def before_train_epoch(self, runner) -> None:
        self.started = time.time()

    def before_val_epoch(self, runner) -> None:
        self.started = time.time()

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        loss = outputs['loss']
        loss = float(loss.detach() if hasattr(loss, 'detach') else loss)
        if not math.isfinite(loss):
            raise FloatingPointError(
                f'training loss {loss} in epoch {runner.epoch + 1}; the '
                f'trial fails rather than report it')
        self.loss_sum += loss
        self.iters += 1

    def after_train_epoch(self, runner) -> None:
        self.epochs = runner.epoch + 1
        self.train_seconds += time.time() - self.started
        if self.epochs not in self.rungs:
            return
        self._logged(
            train_loss=self.loss_sum / max(self.iters, 1),
            train_seconds=self.train_seconds)
        if self.epochs == runner.train_loop.max_epochs:
            return
        if self.signal == 'metric':
            runner.val_loop.run()
        else:
            self.report(self.epochs, -self.loss_sum / max(self.iters, 1))

    def after_val_epoch(self, runner, metrics: Optional[Dict] = None) -> None:
        if not metrics:
            raise RuntimeError(
                f'the test after epoch {self.epochs} returned no metrics; '
                f'check val_evaluator in the trial config')
        key = pick_metric(metrics, self.metric)
        value = float(metrics[key])
        if not math.isfinite(value):
            raise FloatingPointError(
                f'{key} after epoch {self.epochs} is {value}; the trial '
                f'fails rather than report it')
        self._logged(metric=value, test_seconds=time.time() - self.started)
        self.report(self.epochs, value)


def train_rungs(cfg: Config,
                genotype: Genotype,
                work_dir: str,
                seed: int,
                rungs: Sequence[int],
                report: Callable[[int, float], None],
                metric: Optional[str] = None,
                signal: str = 'train_loss',
                on_rung: Optional[Callable[[Dict], None]] = None) -> Dict:
    """Train the config's network built from ``genotype`` for the config's
    schedule (``train_cfg.max_epochs``, the last rung), testing it with the
    config's validation data and metric at every rung.

    Args:
        cfg (Config): The trial's training config.
        genotype (Genotype): The cells to build the network from.
        work_dir (str): The runner's work dir (logs only).
        seed (int): The training seed.
        rungs (Sequence[int]): Epoch counts to test at; the last must be
            the schedule's length.
        report (Callable): See :class:`RungHook`; raise from it to stop.
        metric (str, optional): Metric key.
        signal (str): What the rungs before the last report
            (:class:`RungHook`).
        on_rung (Callable, optional): Receives the rung log
            (:class:`RungHook`).

    Returns:
        dict: ``epochs`` trained and ``seconds`` taken (also when ``report``
        stops the training: then as the attributes of the exception).
    """
    cfg = copy.deepcopy(cfg)
    if rungs[-1] != cfg.train_cfg.max_epochs:
        raise ValueError(f'the last rung ({rungs[-1]}) must be the '
                         f'schedule\'s length (train_cfg.max_epochs = '
                         f'{cfg.train_cfg.max_epochs})')
    cfg.model.genotype = genotype.to_dict()
    cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs
    cfg.train_cfg.val_begin = 1
    if cfg.get('val_dataloader') is None:
        cfg.val_dataloader = cfg.test_dataloader
        cfg.val_evaluator = cfg.test_evaluator
    cfg.val_cfg = cfg.get('val_cfg') or dict()
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=-1, save_last=False)
    runner: Runner = runner_for(cfg, work_dir, seed, 'trial')
    hook = RungHook(rungs, report, metric, signal, on_rung)
    runner.register_hook(hook)
    start = time.time()
    try:
        runner.train()
    except BaseException as e:
        e.epochs, e.seconds = hook.epochs, time.time() - start
        raise
    return dict(epochs=hook.epochs, seconds=time.time() - start)


class RungObjective:
    """What a study's objectives share: the rungs of the trial config's
    schedule, refusing a candidate whose cost is out of bounds before it
    trains (and stopping when too many in a row are), and training one by
    rungs with its epochs, seconds and failures recorded.

    Args:
        spec (StudySpec): The study.
        cfg (Config): The loaded trial config.
        cost (Callable): Cost of a candidate.
        worker (int): The worker running it (recorded with each trial).
    """

    def __init__(self,
                 spec,
                 cfg: Config,
                 cost: Callable,
                 worker: int = 0) -> None:
        self.spec = spec
        self.cfg = cfg
        self.cost = cost
        self.worker = worker
        self.rungs = rung_epochs(spec.min_epochs, spec.reduction_factor,
                                 cfg.train_cfg.max_epochs)
        self.outside_in_a_row = 0
        self.failed_in_a_row = 0

    def refuse_outside(self, trial: optuna.Trial, cost: float, low: float,
                       high: float, advice: str) -> None:
        """Prune ``trial`` (marked ``outside``) unless ``low <= cost <=
        high``.

        Raises:
            optuna.TrialPruned: The cost is out of bounds.
            RuntimeError: :data:`MAX_OUTSIDE_IN_A_ROW` candidates in a row
                were; ``advice`` says what to change.
        """
        if low <= cost <= high:
            self.outside_in_a_row = 0
            return
        self.outside_in_a_row += 1
        if self.outside_in_a_row > MAX_OUTSIDE_IN_A_ROW:
            raise RuntimeError(
                f'{MAX_OUTSIDE_IN_A_ROW} candidates in a row cost outside '
                f'{low:.4g}..{high:.4g} {self.spec.cost_unit}: {advice}')
        trial.set_user_attr('outside', True)
        raise optuna.TrialPruned(
            f'cost {cost:.4g} outside {low:.4g}..{high:.4g}')

    def train(self, trial: optuna.Trial, cfg: Config,
              genotype: Optional[Genotype], report: Callable[[int, float],
                                                             None]) -> None:
        """Train the trial's candidate (``cfg`` built from ``genotype``) by
        rungs in the trial's own directory, calling ``report(epochs,
        value)`` at each; its ``seconds`` and, on a non-finite metric, its
        ``epochs`` are recorded and the failure counted."""
        work_dir = osp.join(self.spec.work_dir, 'trials',
                            trial.study.study_name, f'trial_{trial.number}')
        start = time.time()
        try:
            train_rungs(cfg, genotype, work_dir,
                        self.spec.seed * 100_000 + trial.number, self.rungs,
                        report, self.spec.metric, self.spec.rung_signal,
                        lambda log: trial.set_user_attr('rung_log', log))
        except FloatingPointError as e:
            self.failed_in_a_row += 1
            trial.set_user_attr('epochs', getattr(e, 'epochs', 0))
            raise
        finally:
            trial.set_user_attr('seconds', time.time() - start)
        self.failed_in_a_row = 0
