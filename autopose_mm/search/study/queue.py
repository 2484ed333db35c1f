"""Trainings of known genotypes as trials of an Optuna study: the trained
rerank of a shortlist and the full trainings that judge a search. Each
training is a queued trial (its genotype as the trial's parameters, its
seed, layout and name as attributes) in a study database, so they share
the search's storage, workers, resume and retry: a rerun trains only what
has not finished, on as many workers as are started, and a training's
metrics are kept only as the database recorded them (finite numbers)."""
import copy
import dataclasses
import hashlib
import json
import math
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import optuna
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from ...models.genotype import Genotype
from ..training import pick_metric, train_and_test
from .space import genotype_params, suggest_genotype
from .workers import rdb_storage, spawn_workers

State = optuna.trial.TrialState
# a parent polls its queue's workers for finished trainings this often
POLL_SECONDS = 2.0


@dataclasses.dataclass(frozen=True)
class Training:
    """One queued training: ``key`` names it (unique in its queue) and its
    directory; ``layout`` (cells per scale) overrides the config's; with
    ``genotype=None`` the config's own network is trained (a hand-designed
    one, e.g. RTMPose)."""
    key: str
    genotype: Optional[Genotype]
    seed: int
    layout: Optional[Tuple[int, ...]] = None


def config_identity(cfg: Config) -> str:
    """A digest of everything a config sets."""
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()


def open_queue(storage: str, name: str) -> optuna.Study:
    return optuna.create_study(
        study_name=name,
        storage=rdb_storage(storage),
        sampler=optuna.samplers.RandomSampler(seed=0),
        direction='maximize',
        load_if_exists=True)


def enqueue(storage: str, name: str, trainings: Sequence[Training],
            identity: str) -> optuna.Study:
    """Queue the trainings not queued yet (by key) in study ``name``.

    Raises:
        ValueError: When the queue holds trainings of another config
            (``identity``, :func:`config_identity`).
    """
    study = open_queue(storage, name)
    stored = study.user_attrs.get('config')
    if stored is None:
        study.set_user_attr('config', identity)
    elif stored != identity:
        raise ValueError(
            f'queue {name!r} in {storage} holds trainings of another '
            f'config; use another work dir for this one')
    known = {
        t.user_attrs.get('key')
        for t in study.get_trials(deepcopy=False) if t.state != State.FAIL
    }
    for tr in trainings:
        if tr.key not in known:
            study.enqueue_trial(
                {} if tr.genotype is None else genotype_params(tr.genotype),
                user_attrs=dict(
                    key=tr.key,
                    fixed=tr.genotype is None,
                    seed=tr.seed,
                    layout=None if tr.layout is None else list(tr.layout)))
    return study


class QueuedTraining:
    """Objective of a queue: train the queued trial's genotype (with its
    seed and layout; the config's own network for a training queued without
    one) with the config, test it, keep every metric as an
    attribute.

    Raises:
        FloatingPointError: When a metric is not finite (the trial fails).
    """

    def __init__(self, cfg: Config, work_dir: str,
                 metric: Optional[str]) -> None:
        self.cfg = cfg
        self.work_dir = work_dir
        self.metric = metric

    def __call__(self, trial: optuna.Trial) -> float:
        key = trial.user_attrs.get('key')
        if key is None:  # the queue was empty when this trial started
            trial.set_user_attr('unqueued', True)
            raise optuna.TrialPruned('nothing queued')
        genotype = (None if trial.user_attrs.get('fixed') else
                    suggest_genotype(trial, name=key))
        run_dir = osp.join(self.work_dir, key)
        metrics = train_and_test(
            copy.deepcopy(self.cfg), genotype, run_dir,
            int(trial.user_attrs['seed']), trial.user_attrs.get('layout'))
        key_metric = pick_metric(metrics, self.metric)
        bad = [k for k, v in metrics.items() if not math.isfinite(v)]
        if bad:
            raise FloatingPointError(
                f'training {key}: non-finite {", ".join(bad)} '
                f'({metrics[bad[0]]}); see {run_dir}')
        trial.set_user_attr('metrics', metrics)
        return metrics[key_metric]


def _waiting(study: optuna.Study) -> bool:
    return any(t.state == State.WAITING
               for t in study.get_trials(deepcopy=False))


def run_queue_worker(storage: str,
                     name: str,
                     cfg_dict: Dict,
                     work_dir: str,
                     metric: Optional[str] = None,
                     on_done: Optional[Callable] = None,
                     threads: int = 0) -> None:
    """Take queued trainings of study ``name`` until none waits; calls
    ``on_done(key, metrics)`` after each (in this process)."""
    if threads:
        torch.set_num_threads(threads)
    init_default_scope('mmpose')
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_queue(storage, name)
    objective = QueuedTraining(Config(cfg_dict), work_dir, metric)
    callbacks = []
    if on_done is not None:

        def done(study, trial) -> None:
            if trial.state == State.COMPLETE:
                on_done(trial.user_attrs['key'], trial.user_attrs['metrics'])

        callbacks.append(done)
    while _waiting(study):
        study.optimize(
            objective, n_trials=1, callbacks=callbacks, gc_after_trial=True)


def finished(study: optuna.Study) -> Dict[str, Dict[str, float]]:
    """Metrics of the finished trainings, by key."""
    return {
        t.user_attrs['key']: t.user_attrs['metrics']
        for t in study.get_trials(deepcopy=False, states=(State.COMPLETE, ))
    }


def train_queue(
    storage: str,
    name: str,
    cfg: Config,
    trainings: Sequence[Training],
    work_dir: str,
    workers: int = 1,
    metric: Optional[str] = None,
    on_done: Optional[Callable[[str, Dict], None]] = None,
) -> Dict[str, Dict[str, float]]:
    """Train every training with ``cfg`` (resuming the queue ``name`` in
    ``storage``) in ``workers`` processes, or in this one; returns the
    metrics by key, in the order of ``trainings``.

    Args:
        storage (str): An Optuna storage URL.
        name (str): The queue's study name.
        cfg (Config): The training config.
        trainings (Sequence[Training]): What to train.
        work_dir (str): Each training's logs go to ``work_dir/<key>``.
        workers (int): Worker processes; 1 trains in this process.
        metric (str, optional): The metric a trial's value is.
        on_done (Callable, optional): ``on_done(key, metrics)`` for every
            training as it finishes, including those finished before.

    Raises:
        FloatingPointError: A training tested to a non-finite metric.
        RuntimeError: A worker process failed, or a training did not
            finish; a rerun retries it.
    """
    study = enqueue(storage, name, trainings, config_identity(cfg))
    wanted = {tr.key for tr in trainings}
    reported = set()

    def report_new() -> None:
        if on_done is None:
            return
        for key, metrics in finished(study).items():
            if key in wanted and key not in reported:
                reported.add(key)
                on_done(key, metrics)

    report_new()
    if not wanted <= set(finished(study)):
        payload = (storage, name, cfg.to_dict(), work_dir, metric)
        if workers <= 1:
            run_queue_worker(*payload, on_done=lambda key, m: report_new())
        else:
            spawn_workers(
                run_queue_worker, [payload + (None, )] * workers,
                poll=(report_new, POLL_SECONDS))
        report_new()
    done = finished(study)
    missing: List[str] = [tr.key for tr in trainings if tr.key not in done]
    if missing:
        raise RuntimeError(
            f'{len(missing)} trainings of queue {name!r} in {storage} did '
            f'not finish (e.g. {missing[0]}); rerun the same command to '
            f'train them')
    return {tr.key: done[tr.key] for tr in trainings}


def sqlite_url(path: str) -> str:
    return f'sqlite:///{osp.abspath(path)}'


__all__ = [
    'Training', 'config_identity', 'enqueue', 'train_queue', 'sqlite_url'
]
