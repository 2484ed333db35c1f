"""Candidate evaluation as an Optuna study.

Every candidate (a genotype of the cell space) is a trial of an Optuna
study kept in a database (a SQLite file in the work dir by default, any
Optuna RDB storage URL otherwise). A trial trains its network with the
project's training code at increasing fidelities (:mod:`.rungs`) and
reports its metric at every rung, where the study's pruner (successive
halving or Hyperband) may stop it. Any number of worker processes, on one
machine or on many, run trials of the same study: each takes the next
trial from the storage, until the study's compute budget (training
epochs) is spent. A worker that dies leaves a trial whose heartbeat
stops; the next worker to start a trial marks it failed and queues it
again once. Running the same command again resumes the study.

Optuna's pruners compare one objective only, so a study searches one cost
target (latency or GMACs within a window around the target); a search of
several targets runs one study per target in the same storage, and the
accuracy-cost front is taken over all of them (:mod:`.front`).
"""
import copy
import dataclasses
import hashlib
import json
import os.path as osp
from typing import Callable, Dict, List, Mapping, Optional, Union

import numpy as np
import optuna
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from ...models.genotype import NETWORK_FIELDS, load_genotype
from ...models.operations import OPERATION_NAMES
from ...utils.io import check_writable_dir
from ...utils.processes import spawn_workers
from ..costs import config_gmacs, config_latency
from ..networks import NetworkSpace
from ..space.sampling import sample_genotype
from ..training import check_metric, config_identity
from .network import NetworkObjective, network_cost_function
from .rungs import RungObjective
from .space import genotype_params, suggest_genotype
from .spec import TPE_STARTUP_TRIALS, StudySpec, spec_from_config
from .workers import rdb_storage

# trials failing (a non-finite metric) this many times in a row stop the
# worker: the config, not the candidates, is at fault
MAX_FAILED_IN_A_ROW = 5
# NSGA-II's generation: small, for studies of a few dozen trainings
NSGA2_POPULATION = 8


def make_storage(spec: StudySpec) -> optuna.storages.BaseStorage:
    """The study's storage (:func:`rdb_storage` with its heartbeat)."""
    return rdb_storage(spec.storage_url, spec.heartbeat, spec.grace,
                       spec.max_retry)


def make_sampler(spec: StudySpec, worker: int) -> optuna.samplers.BaseSampler:
    """The sampler of one worker: seeded by the study's seed and the
    worker, so that workers do not all suggest the same candidates."""
    seed = spec.seed * 1000 + worker
    if spec.sampler == 'random':
        return optuna.samplers.RandomSampler(seed=seed)
    if spec.sampler == 'nsga2':
        return optuna.samplers.NSGAIISampler(
            population_size=NSGA2_POPULATION, seed=seed)
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=spec.startup_trials)


def make_pruner(spec: StudySpec, max_epochs: int) -> optuna.pruners.BasePruner:
    if spec.pruner == 'halving':
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=spec.min_epochs,
            reduction_factor=spec.reduction_factor,
            min_early_stopping_rate=0)
    if spec.pruner == 'hyperband':
        return optuna.pruners.HyperbandPruner(
            min_resource=spec.min_epochs,
            max_resource=max_epochs,
            reduction_factor=spec.reduction_factor)
    return optuna.pruners.NopPruner()


def cost_function(spec: StudySpec, cfg: Config) -> Callable:
    """The study's cost of a genotype: predicted latency (ms) with a
    latency table, else analytic GMACs of the trial network."""
    if spec.latency_table:
        return config_latency(cfg, spec.latency_table, spec.deploy_input_size)
    return config_gmacs(cfg)


def default_target(cost: Callable, seed: int = 0, draws: int = 200) -> float:
    """The median cost of random genotypes (the middle of the space)."""
    rng = np.random.default_rng(seed + 7919)
    return float(np.median([cost(sample_genotype(rng)) for _ in range(draws)]))


def file_sha256(path) -> Optional[Union[str, Dict]]:
    """SHA-256 of a file's content, None without a file; of each file of
    a dict of them."""
    if not path:
        return None
    if isinstance(path, Mapping):
        return {str(k): file_sha256(v) for k, v in sorted(path.items())}
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def genotype_sha1(path: str) -> str:
    """A genotype (file or ``'published'``) by what it builds."""
    data = load_genotype(path).to_dict()
    text = json.dumps({k: data.get(k)
                       for k in NETWORK_FIELDS if k != 'name'},
                      sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


def spec_record(spec: StudySpec, target: float, max_epochs: int) -> Dict:
    """What a study is, as stored with it: a worker or rerun given other
    settings for the same study is refused, naming them. The metric is
    checked against the config's evaluator here, before any trial. The
    config, the latency table and the enqueued genotypes count by their
    content, so machines with the repository at other paths share a study,
    and a table replaced at the same path is told apart."""
    cfg = spec.trial_cfg()
    return dict(
        config_sha1=config_identity(cfg),
        metric=check_metric(cfg, spec.metric, spec.config),
        latency_table_sha256=file_sha256(spec.latency_table),
        enqueue=[genotype_sha1(path) for path in spec.enqueue],
        candidates=list(OPERATION_NAMES),
        sampler=spec.sampler,
        pruner=spec.pruner,
        min_epochs=spec.min_epochs,
        reduction_factor=spec.reduction_factor,
        rung_signal=spec.rung_signal,
        max_epochs=max_epochs,
        target=target,
        tolerance=spec.tolerance,
        cost_unit=spec.cost_unit,
        seed=spec.seed,
        **startup_record(spec),
        **deploy_record(spec),
        **network_record(spec))


def startup_record(spec: StudySpec) -> Dict:
    """TPE's start-up trials where the study changes them (a study with
    the default keeps the record it had before the setting existed)."""
    if spec.sampler != 'tpe' or spec.startup_trials == TPE_STARTUP_TRIALS:
        return {}
    return dict(startup_trials=spec.startup_trials)


def deploy_record(spec: StudySpec) -> Dict:
    """The deployed input size where the study sets one (a study without
    it keeps the record it had before the setting existed)."""
    if spec.deploy_input_size is None:
        return {}
    return dict(deploy_input_size=list(spec.deploy_input_size))


def network_record(spec: StudySpec) -> Dict:
    """The whole-network settings of a study's record (none for a
    cells-only study, whose record stays as it was)."""
    if spec.space is None:
        return {}
    return dict(
        space=spec.space,
        cost_range=list(spec.cost_range),
        buckets=spec.buckets)


def open_study(spec: StudySpec,
               target: Optional[float],
               max_epochs: int,
               worker: int = 0,
               storage=None) -> optuna.Study:
    """Create the study of ``target`` or load it (resume), checking that
    it was created with the same settings."""
    storage = storage or make_storage(spec)
    # a whole-network study: metric up, cost down (its rungs are judged
    # by the objective, see .network)
    study = optuna.create_study(
        study_name=spec.study_name(target),
        storage=storage,
        sampler=make_sampler(spec, worker),
        pruner=make_pruner(spec, max_epochs)
        if spec.space is None else optuna.pruners.NopPruner(),
        directions=['maximize']
        if spec.space is None else ['maximize', 'minimize'],
        load_if_exists=True)
    record = spec_record(spec, target, max_epochs)
    stored = study.user_attrs.get('spec')
    if stored is None:
        study.set_user_attr('spec', record)
        for path in spec.enqueue:
            study.enqueue_trial(
                genotype_params(load_genotype(path)),
                user_attrs=dict(enqueued=str(path)),
                skip_if_exists=True)
    else:
        differ = [k for k in record if stored.get(k) != record[k]]
        if differ:
            raise ValueError(
                f'study {study.study_name!r} in {spec.storage_shown} was made '
                f'with other settings ({", ".join(differ)}: '
                f'{[stored.get(k) for k in differ]} there, '
                f'{[record[k] for k in differ]} now); give this search '
                f'another --name or --work-dir, or the same settings')
    return study


def epochs_spent(study: optuna.Study, max_epochs: int) -> int:
    """Training epochs the study has spent, counting a running trial as if
    it trained fully (what it may still spend)."""
    total = 0
    for t in study.get_trials(deepcopy=False):
        if t.state == optuna.trial.TrialState.RUNNING:
            total += max_epochs
        elif t.state != optuna.trial.TrialState.WAITING:
            steps = max(t.intermediate_values, default=0)
            total += max(int(t.user_attrs.get('epochs', 0)), steps)
    return total


class TrialObjective(RungObjective):
    """A study's objective: suggest a genotype, check its cost against the
    target, train it by rungs, return its metric at the last rung.

    Args:
        spec (StudySpec): The study.
        target (float): The cost target of this study.
        cfg (Config): The loaded trial config.
        cost (Callable): Cost of a genotype (:func:`cost_function`).
        worker (int): The worker running it (recorded with each trial).
    """

    def __init__(self,
                 spec: StudySpec,
                 target: float,
                 cfg: Config,
                 cost: Callable,
                 worker: int = 0) -> None:
        super().__init__(spec, cfg, cost, worker)
        self.target = target

    def __call__(self, trial: optuna.Trial) -> float:
        genotype = suggest_genotype(
            trial, candidates=OPERATION_NAMES, name=f'trial-{trial.number}')
        cost = float(self.cost(genotype))
        trial.set_user_attr('cost', cost)
        trial.set_user_attr('epochs', 0)
        trial.set_user_attr('worker', self.worker)
        self.refuse_outside(
            trial, cost, self.target * (1 - self.spec.tolerance),
            self.target * (1 + self.spec.tolerance),
            'choose a target nearer the space\'s middle or a larger '
            'tolerance')
        reported: List[float] = []

        def report(epochs: int, value: float) -> None:
            trial.report(value, epochs)
            trial.set_user_attr('epochs', epochs)
            reported.append(value)
            # at the last rung the training is done: keep its result
            if epochs < self.rungs[-1] and trial.should_prune():
                raise optuna.TrialPruned(f'pruned after {epochs} epochs')

        self.train(trial, self.cfg, genotype, report)
        return reported[-1]


def run_worker(spec: StudySpec, worker: int = 0, threads: int = 0) -> None:
    """Run trials of every target's study until each has spent its
    budget; what one worker process does."""
    if threads:
        torch.set_num_threads(threads)
    init_default_scope('mmpose')
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cfg = spec.load_cfg()
    storage = make_storage(spec)
    if spec.space is not None:
        cost = network_cost_function(spec, NetworkSpace.from_dict(spec.space),
                                     cfg)
    else:
        cost = cost_function(spec, cfg)
    for target in spec.studies:
        study = open_study(spec, target, cfg.train_cfg.max_epochs, worker,
                           storage)
        if target is None:
            objective = NetworkObjective(spec, copy.deepcopy(cfg), cost,
                                         worker)
        else:
            objective = TrialObjective(spec, target, copy.deepcopy(cfg), cost,
                                       worker)
        while epochs_spent(study, cfg.train_cfg.max_epochs) < \
                spec.budget_epochs:
            study.optimize(
                objective,
                n_trials=1,
                catch=(FloatingPointError, ),
                gc_after_trial=True)
            if objective.failed_in_a_row >= MAX_FAILED_IN_A_ROW:
                raise RuntimeError(
                    f'{objective.failed_in_a_row} trials in a row of study '
                    f'{study.study_name} failed with a non-finite metric '
                    f'(their logs are under {spec.work_dir}/trials); check '
                    f'the learning rate and data of {spec.config}')


def _worker_main(spec_dict: Dict, worker: int, threads: int) -> None:
    run_worker(StudySpec(**spec_dict), worker, threads)


def resolve_targets(spec: StudySpec) -> StudySpec:
    """The spec with its targets filled in (the median cost of random
    genotypes when none is given; a whole-network study has none)."""
    if spec.targets or spec.space is not None:
        return spec
    cost = cost_function(spec, spec.load_cfg())
    return dataclasses.replace(
        spec, targets=(round(default_target(cost, spec.seed), 6), ))


def run_study(spec: StudySpec,
              workers: int = 1,
              first_worker: int = 0) -> None:
    """Run the study with ``workers`` processes on this machine (sharing
    its cores equally); with one, in this process. Another machine joins
    by running the same with another ``first_worker``."""
    # trials write their logs and checkpoints there: refuse a work dir
    # that cannot take them before a trial is stored as failed
    check_writable_dir(osp.join(spec.work_dir, 'trials'), '--work-dir')
    if workers <= 1:
        run_worker(spec, first_worker)
        return
    # the database and the studies exist before the workers start
    storage = make_storage(spec)
    max_epochs = spec.load_cfg().train_cfg.max_epochs
    for target in spec.studies:
        open_study(spec, target, max_epochs, first_worker, storage)
    spawn_workers(_worker_main, [(dataclasses.asdict(spec), first_worker + i)
                                 for i in range(workers)])


def finished_trials(study: optuna.Study) -> List[optuna.trial.FrozenTrial]:
    return [
        t for t in study.get_trials(deepcopy=False)
        if t.state == optuna.trial.TrialState.COMPLETE
    ]


__all__ = [
    'StudySpec', 'spec_from_config', 'make_storage', 'make_sampler',
    'make_pruner', 'open_study', 'epochs_spent', 'TrialObjective',
    'run_worker', 'run_study', 'resolve_targets', 'finished_trials',
    'cost_function', 'default_target'
]
