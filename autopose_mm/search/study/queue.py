"""Trainings of known genotypes as trials of an Optuna study: the full
trainings that judge a search. Each training is a queued trial (its
genotype as the trial's parameters, its seed and name as attributes), so
they share the search's storage, workers, resume and retry: a rerun trains
only what has not finished, on as many workers as are started."""
import copy
import dataclasses
import hashlib
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

import optuna
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from ...models.genotype import Genotype
from ..training import pick_metric, train_and_test
from .engine import StudySpec, make_storage, spawn_workers
from .space import genotype_params, suggest_genotype

State = optuna.trial.TrialState


@dataclasses.dataclass(frozen=True)
class Training:
    """One queued training: ``key`` names it (unique in its queue)."""
    key: str
    genotype: Genotype
    seed: int


def _queue(spec: StudySpec, name: str) -> optuna.Study:
    return optuna.create_study(
        study_name=name,
        storage=make_storage(spec),
        sampler=optuna.samplers.RandomSampler(seed=0),
        direction='maximize',
        load_if_exists=True)


def enqueue(spec: StudySpec,
            name: str,
            trainings: Sequence[Training],
            identity: Optional[Dict] = None) -> optuna.Study:
    """Queue the trainings not queued yet (by key) in study ``name``.

    Raises:
        ValueError: When the queue was made for another ``identity`` (the
            config and schedule its trainings ran with).
    """
    study = _queue(spec, name)
    stored = study.user_attrs.get('identity')
    if stored is None:
        study.set_user_attr('identity', identity)
    elif stored != identity:
        raise ValueError(
            f'queue {name!r} in {spec.storage_url} holds trainings of '
            f'{stored}, not of {identity}; use another --work-dir or '
            f'--storage')
    known = {
        t.user_attrs.get('key')
        for t in study.get_trials(deepcopy=False) if t.state != State.FAIL
    }
    for tr in trainings:
        if tr.key not in known:
            study.enqueue_trial(
                genotype_params(tr.genotype),
                user_attrs=dict(key=tr.key, seed=tr.seed))
    return study


class QueuedTraining:
    """Objective of a queue: train the queued trial's genotype with its
    seed and the config, test it, keep every metric as an attribute."""

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
        genotype = suggest_genotype(trial, name=key)
        metrics = train_and_test(
            copy.deepcopy(self.cfg), genotype, osp.join(self.work_dir, key),
            int(trial.user_attrs['seed']))
        bad = [k for k, v in metrics.items() if not math.isfinite(v)]
        if bad:
            raise FloatingPointError(
                f'training {key} tested to non-finite {bad}; see '
                f'{osp.join(self.work_dir, key)}')
        trial.set_user_attr('metrics', metrics)
        return metrics[pick_metric(metrics, self.metric)]


def _waiting(study: optuna.Study) -> bool:
    return any(t.state == State.WAITING
               for t in study.get_trials(deepcopy=False))


def run_queue_worker(spec_dict: Dict,
                     name: str,
                     config: str,
                     work_dir: str,
                     epochs: Optional[int] = None,
                     threads: int = 0) -> None:
    """Take queued trainings of study ``name`` until none waits (trained
    with the config, for ``epochs`` when given)."""
    if threads:
        torch.set_num_threads(threads)
    init_default_scope('mmpose')
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = StudySpec(**spec_dict)
    study = _queue(spec, name)
    cfg = Config.fromfile(config)
    if epochs:
        cfg.train_cfg.max_epochs = epochs
        cfg.train_cfg.val_interval = epochs
    objective = QueuedTraining(cfg, work_dir, spec.metric)
    while _waiting(study):
        study.optimize(objective, n_trials=1, gc_after_trial=True)


def train_queue(spec: StudySpec,
                name: str,
                config: str,
                trainings: Sequence[Training],
                work_dir: str,
                workers: int = 1,
                epochs: Optional[int] = None) -> Dict[str, Dict[str, float]]:
    """Train every training (resuming the queue ``name`` in the spec's
    storage) with ``workers`` processes, with the config's schedule or
    ``epochs``; returns the metrics by key.

    Raises:
        RuntimeError: When a training did not finish (it failed twice, or a
            worker died); a rerun retries it.
    """
    cfg_text = Config.fromfile(config).pretty_text
    enqueue(
        spec, name, trainings,
        dict(
            config=osp.abspath(config),
            config_sha1=hashlib.sha1(cfg_text.encode()).hexdigest(),
            epochs=epochs))
    payload = (dataclasses.asdict(spec), name, config, work_dir, epochs)
    if workers <= 1:
        run_queue_worker(*payload)
    else:
        spawn_workers(run_queue_worker, [payload] * workers)
    study = _queue(spec, name)
    done: Dict[str, Dict[str, float]] = {}
    for t in study.get_trials(deepcopy=False, states=(State.COMPLETE, )):
        done[t.user_attrs['key']] = t.user_attrs['metrics']
    missing: List[str] = [tr.key for tr in trainings if tr.key not in done]
    if missing:
        raise RuntimeError(
            f'{len(missing)} trainings of queue {name!r} in '
            f'{spec.storage_url} did not finish (e.g. {missing[0]}); '
            f'rerun the same command to train them')
    return {tr.key: done[tr.key] for tr in trainings}
