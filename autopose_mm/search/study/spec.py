"""What a study is: :class:`StudySpec`, its settings, read from a trial
config's ``study`` section and the command line's options
(:func:`spec_from_config`)."""
import dataclasses
import os.path as osp
from typing import Dict, Optional, Sequence, Union

import numpy as np
from mmengine.config import Config

from ...models.genotype import nearest
from ..networks import NetworkSpace
from .rungs import SIGNALS
from .workers import check_storage_url, masked_url, sqlite_url

__all__ = [
    'StudySpec', 'spec_from_config', 'SAMPLERS', 'PRUNERS', 'SPEC_FIELDS',
    'RUN_FIELDS', 'TPE_STARTUP_TRIALS'
]

SAMPLERS = ('tpe', 'random', 'nsga2')
# trials TPE draws at random before it models the finished ones (Optuna's
# default)
TPE_STARTUP_TRIALS = 10
PRUNERS = ('halving', 'hyperband', 'none')


@dataclasses.dataclass
class StudySpec:
    """What a study searches and how (every worker of a study must be
    given the same).

    Args:
        config (str): The trial's training config: network, data, schedule
            (its ``train_cfg.max_epochs`` is the last rung) and test metric.
        work_dir (str): Where the study's database, logs and results go.
        name (str): The study's name in the storage.
        storage (str, optional): An Optuna storage URL; default
            ``sqlite:///<work_dir>/study.db``.
        sampler (str): ``'tpe'``, ``'nsga2'`` or ``'random'``.
        startup_trials (int): Trials TPE draws at random before it models
            the finished ones.
        pruner (str): ``'halving'`` (asynchronous successive halving),
            ``'hyperband'`` or ``'none'`` (every trial trains fully).
        min_epochs (int): The first rung.
        reduction_factor (int): Rungs are ``min_epochs`` times its powers;
            the pruner keeps 1 in ``reduction_factor`` at each.
        rung_signal (str): What a trial reports before its last rung:
            ``'train_loss'`` (minus its mean training loss so far, free)
            or ``'metric'`` (a test at every rung). The last rung reports
            the test metric.
        budget_epochs (int): Training epochs the study may spend in all
            (per target), counting every trial's epochs, pruned or not.
        targets (Sequence[float]): Cost targets (GMACs, or ms with a
            latency table); empty: the median cost of random genotypes.
        tolerance (float): A candidate must cost within ``target *
            (1 +- tolerance)``.
        latency_table (str, optional): A latency table of the trial
            network (``tools/analysis/latency_table.py``), or for a
            whole-network study one per width (``{width: path}``); the
            cost is then its predicted latency, else analytic GMACs.
        deploy_input_size (Sequence[int], optional): ``[H, W]``, the
            input size the latency tables were measured at when it is
            not the trial network's: the study trains at the config's
            size and predicts (and measures its front's) latency at the
            deployed one (``latency_table.py --input-size H W``).
        seed (int): Seed of the samplers and the trials' trainings.
        metric (str, optional): Metric key (COCO AP, else PCKh, else PCK).
        enqueue (Sequence[str]): Genotype files (or ``'published'``) each
            study tries first, e.g. a supernet's shortlist.
        heartbeat (int): Seconds between a running trial's heartbeats.
        grace (int): Seconds without a heartbeat after which a trial counts
            as dead.
        max_retry (int): How often a dead worker's trial is queued again.
        cfg_options (dict): Changes to the trial config outside its
            ``study`` section (``--cfg-options``), applied to every trial
            and counted in the study's record.
        space (dict, optional): The whole-network space
            (:class:`~autopose_mm.search.networks.NetworkSpace`: cells per
            scale, widths, stages). With it, one study searches whole
            networks for the metric and the cost over ``cost_range``
            (:mod:`.network`); without it, cells in the config's network,
            one study per target.
        cost_range (Sequence[float]): ``[low, high]`` cost (ms with a
            latency table, else GMACs) of the networks a whole-network
            study may return.
        buckets (int): Log-spaced cost buckets of ``cost_range`` within
            which the rungs compare trials.
    """
    config: str
    work_dir: str
    name: str = 'cells'
    storage: Optional[str] = None
    sampler: str = 'tpe'
    startup_trials: int = TPE_STARTUP_TRIALS
    pruner: str = 'halving'
    min_epochs: int = 1
    reduction_factor: int = 2
    rung_signal: str = 'train_loss'
    budget_epochs: int = 64
    targets: Sequence[float] = ()
    tolerance: float = 0.1
    latency_table: Optional[Union[str, Dict]] = None
    deploy_input_size: Optional[Sequence[int]] = None
    seed: int = 0
    metric: Optional[str] = None
    enqueue: Sequence[str] = ()
    heartbeat: int = 30
    grace: int = 120
    max_retry: int = 1
    cfg_options: Dict = dataclasses.field(default_factory=dict)
    space: Optional[Dict] = None
    cost_range: Sequence[float] = ()
    buckets: int = 4

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f'study sampler {self.sampler!r}: use one of '
                             f'{", ".join(SAMPLERS)}')
        if self.pruner not in PRUNERS:
            raise ValueError(f'study pruner {self.pruner!r}: use one of '
                             f'{", ".join(PRUNERS)}')
        if self.rung_signal not in SIGNALS:
            raise ValueError(f'study rung_signal {self.rung_signal!r}: use '
                             f'one of {", ".join(SIGNALS)}')
        if isinstance(self.startup_trials, bool) or not isinstance(
                self.startup_trials, int) or self.startup_trials < 1:
            raise ValueError(f'study startup_trials must be a positive '
                             f'integer, got {self.startup_trials!r}')
        if self.budget_epochs < 1:
            raise ValueError(f'study budget_epochs must be at least 1, got '
                             f'{self.budget_epochs}')
        if not 0 < self.tolerance < 1:
            raise ValueError(f'study tolerance must lie in (0, 1), got '
                             f'{self.tolerance}')
        if any(not np.isfinite(t) or t <= 0 for t in self.targets):
            raise ValueError(f'study targets must be positive, got '
                             f'{list(self.targets)}')
        if self.heartbeat < 1 or self.grace <= self.heartbeat:
            raise ValueError(
                f'study heartbeat ({self.heartbeat} s) must be at least 1 '
                f'and below grace ({self.grace} s)')
        if self.storage is not None:
            check_storage_url(self.storage, '--storage (study.storage)')
        if self.deploy_input_size is not None:
            self._check_deploy_input_size()
        self.targets = tuple(float(t) for t in self.targets)
        self.enqueue = tuple(self.enqueue)
        self.cost_range = tuple(float(c) for c in self.cost_range)
        if self.space is not None:
            self._check_network_study()
        elif self.cost_range:
            raise ValueError('study.cost_range is for a whole-network study: '
                             'give study.space as well, or study.targets '
                             'for a cells-only study')

    def _check_deploy_input_size(self) -> None:
        size = self.deploy_input_size
        if isinstance(size, (str, bytes)) or not isinstance(
                size, Sequence) or len(size) != 2 or any(
                    isinstance(v, bool) or not isinstance(v, int) or v < 1
                    for v in size):
            raise ValueError(
                f'study.deploy_input_size must be [H, W] (two positive '
                f'integers, as latency_table.py --input-size H W), got '
                f'{size!r}')
        if not self.latency_table:
            raise ValueError(
                'study.deploy_input_size is the input size of the latency '
                'tables: give study.latency_table as well (built with '
                'tools/analysis/latency_table.py --input-size H W)')
        self.deploy_input_size = [int(v) for v in size]

    def _check_network_study(self) -> None:
        self.space = NetworkSpace.from_dict(self.space).to_dict()
        if len(self.cost_range) != 2 or not \
                0 < self.cost_range[0] < self.cost_range[1] or \
                not all(np.isfinite(self.cost_range)):
            raise ValueError(
                f'a whole-network study (study.space) needs study.cost_range'
                f'=[low, high] with 0 < low < high, got '
                f'{list(self.cost_range)}')
        if self.targets:
            raise ValueError('study.targets are for cells-only studies; a '
                             'whole-network study (study.space) searches '
                             'study.cost_range')
        if self.enqueue:
            raise ValueError('study.enqueue is for cells-only studies (a '
                             'genotype file does not hold a width)')
        if self.pruner == 'hyperband':
            raise ValueError("a whole-network study prunes by rungs within "
                             "cost buckets: study.pruner='halving' or "
                             "'none'")
        if self.buckets < 1:
            raise ValueError(f'study.buckets must be at least 1, got '
                             f'{self.buckets}')

    @property
    def storage_url(self) -> str:
        return self.storage or sqlite_url(osp.join(self.work_dir, 'study.db'))

    @property
    def storage_shown(self) -> str:
        """The storage URL as printed and written: password masked."""
        return masked_url(self.storage_url)

    @property
    def cost_unit(self) -> str:
        return 'ms' if self.latency_table else 'GMACs'

    def study_name(self, target: Optional[float] = None) -> str:
        if self.space is not None:
            low, high = self.cost_range
            return f'{self.name}@{low:.6g}-{high:.6g}{self.cost_unit}'
        return f'{self.name}@{target:.6g}{self.cost_unit}'

    @property
    def studies(self) -> Sequence[Optional[float]]:
        """The target of each of its studies (None: the one whole-network
        study)."""
        return (None, ) if self.space is not None else self.targets

    def trial_cfg(self) -> Config:
        """The config every trial trains with: the file with
        ``cfg_options`` applied."""
        cfg = Config.fromfile(self.config)
        if self.cfg_options:
            cfg.merge_from_dict(dict(self.cfg_options))
        return cfg

    def load_cfg(self) -> Config:
        cfg = self.trial_cfg()
        cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
        return cfg


SPEC_FIELDS = tuple(f.name for f in dataclasses.fields(StudySpec))
# set by the command line or the caller, not by a config's ``study``
RUN_FIELDS = ('config', 'work_dir', 'storage', 'cfg_options')


def spec_from_config(config: str,
                     work_dir: str,
                     cfg_options: Optional[Dict] = None,
                     **overrides) -> StudySpec:
    """The study of a trial config: its ``study = dict(...)`` section
    with ``cfg_options`` applied (``study.<setting>`` keys change the
    study, the others every trial's config), then ``overrides`` (those
    that are not None).

    Raises:
        ValueError: For a key of ``study`` that is not a setting, naming
            the nearest one.
    """
    cfg = Config.fromfile(config)
    options = dict(cfg_options or {})
    study_options = {
        k: v
        for k, v in options.items() if k == 'study' or k.startswith('study.')
    }
    trial_options = {
        k: v
        for k, v in options.items() if k not in study_options
    }
    if study_options:
        cfg.merge_from_dict(study_options)
    section = dict(cfg.get('study') or {})
    allowed = [f for f in SPEC_FIELDS if f not in RUN_FIELDS]
    for key in section:
        if key not in allowed:
            raise ValueError(
                f'{config}: study.{key} is not a study setting'
                f'{nearest(key, allowed)} (allowed: {", ".join(allowed)})')
    section.update({k: v for k, v in overrides.items() if v is not None})
    return StudySpec(
        config=config, work_dir=work_dir, cfg_options=trial_options, **section)
