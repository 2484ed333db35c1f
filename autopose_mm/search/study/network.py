"""The whole-network study: one multi-objective Optuna study whose
candidates are whole networks (cells per scale, width, stages and cells,
:mod:`..networks`) and whose objectives are the metric (maximised) and the
cost (minimised: the latency a table predicts, else GMACs), over the
config's ``study.cost_range``. Its front is the answer.

Optuna's pruners compare one objective, and a multi-objective trial cannot
report intermediate values, so the rungs are judged here: a trial records
its value at each rung (``rungs`` user attribute) with its cost bucket
(``study.buckets`` log-spaced intervals of the cost range), and stops when
it is not among the best ``1 / reduction_factor`` of the trials of its
bucket that reached that rung (itself included; with fewer than
``reduction_factor`` of them, only the best goes on), as asynchronous
successive halving does within one bucket. A network is thus compared with
networks of similar cost, not with larger ones that learn faster.
"""
import dataclasses
import math
from typing import Callable, Dict, Mapping

import optuna
from mmengine.config import Config

from ...models.genotype import load_genotype
from ...models.plan import cells_to_reductions
from ..costs.config import config_latency
from ..networks import Network, NetworkSpace, apply_network, network_gmacs
from .rungs import RungObjective
from .space import suggest_genotype

__all__ = [
    'suggest_network', 'network_params', 'cost_bucket', 'keeps_in_bucket',
    'network_cost_function', 'NetworkObjective', 'latency_tables'
]


def _cells_key(scale: int) -> str:
    return f'network.cells_{scale}'


def suggest_network(trial,
                    space: NetworkSpace,
                    name: str = 'trial') -> Network:
    """Let ``trial`` choose a whole network of ``space``: cells per scale
    (integers), width and stages (categorical), then the cells
    (:func:`.space.suggest_genotype`, conditional parameters)."""
    layout = tuple(
        trial.suggest_int(_cells_key(s), lo, hi)
        for s, (lo, hi) in enumerate(space.cells_per_scale))
    width = trial.suggest_categorical('network.width', space.widths)
    stages = trial.suggest_categorical('network.stages', space.stages)
    genotype = suggest_genotype(trial, name=name)
    return Network(
        dataclasses.replace(genotype, cells_per_scale=layout), int(width),
        int(stages))


def network_params(network: Network) -> Dict:
    """The network-level parameters of :func:`suggest_network` naming
    ``network`` (the cells' are :func:`.space.genotype_params`)."""
    params = {_cells_key(s): int(n) for s, n in enumerate(network.layout)}
    params.update({
        'network.width': network.width,
        'network.stages': network.stages
    })
    return params


def cost_bucket(cost: float, low: float, high: float, buckets: int) -> int:
    """The index of the log-spaced interval of ``[low, high]`` holding
    ``cost`` (0 to ``buckets - 1``)."""
    where = math.log(cost / low) / math.log(high / low)
    return min(max(int(where * buckets), 0), buckets - 1)


def keeps_in_bucket(study: optuna.Study, number: int, bucket: int, epochs: int,
                    value: float, reduction_factor: int) -> bool:
    """Whether trial ``number`` (``value`` after ``epochs``) is among the
    best ``1 / reduction_factor`` of the trials of its bucket that reached
    ``epochs`` (see the module)."""
    values = [value]
    for t in study.get_trials(deepcopy=False):
        rungs = t.user_attrs.get('rungs') or {}
        if t.number != number and t.user_attrs.get('bucket') == bucket \
                and str(epochs) in rungs:
            values.append(float(rungs[str(epochs)]))
    keep = max(1, len(values) // reduction_factor)
    better = sum(1 for v in values if v > value)
    return better < keep


def latency_tables(spec) -> Dict[int, str]:
    """The study's latency tables by width: ``study.latency_table`` as one
    path (its width is the config's) or a dict width -> path."""
    table = spec.latency_table
    if not table:
        return {}
    if isinstance(table, Mapping):
        return {int(w): str(p) for w, p in table.items()}
    return {None: str(table)}


def deploy_option(spec) -> str:
    """The ``latency_table.py`` option that builds a table at the study's
    deployed input size (empty without one)."""
    if spec.deploy_input_size is None:
        return ''
    h, w = spec.deploy_input_size
    return f' --input-size {h} {w}'


def network_cost_function(spec, space: NetworkSpace,
                          cfg: Config) -> Callable[[Network], float]:
    """``cost(network)``: the latency (ms) the study's latency table for
    the network's width predicts, else GMACs of both stages.

    Raises:
        ValueError: With tables, when a width of the space has none or the
            space has two-stage networks (the tables hold stage-1 blocks).
    """
    tables = latency_tables(spec)
    if not tables:
        return network_gmacs(cfg)
    if 2 in space.stages:
        raise ValueError(
            f'{spec.config}: study.latency_table predicts stage-1 networks; '
            f'the space has study.space.stages={list(space.stages)}. Use '
            f'stages=[1] with a table, or search GMACs (no table)')
    if None in tables:
        if len(space.widths) != 1:
            raise ValueError(
                f'{spec.config}: one study.latency_table for the widths '
                f'{list(space.widths)}: give one table per width, '
                f'study.latency_table={{width: path}} (each built with '
                f'tools/analysis/latency_table.py --channels width)')
        tables = {space.widths[0]: tables[None]}
    missing = [w for w in space.widths if w not in tables]
    if missing:
        raise ValueError(
            f'{spec.config}: study.latency_table has no table for width(s) '
            f'{missing}; build them with tools/analysis/latency_table.py '
            f'--channels W and list them as {{width: path}}')
    published = load_genotype('published')
    costs = {}
    for width, path in tables.items():
        probe = Network(
            dataclasses.replace(published, cells_per_scale=(1, 1, 1, 1)),
            width)
        probe_cfg = apply_network(cfg, probe)
        # the backbone as the genotype's layout sets it
        probe_cfg.model.backbone.update(
            num_cells=sum(probe.layout),
            reduction_indices=cells_to_reductions(probe.layout))
        costs[width] = config_latency(probe_cfg, path, spec.deploy_input_size)
        for layout in space.layouts():
            try:
                costs[width](published, layout)
            except KeyError:
                raise ValueError(
                    f'{spec.config}: latency table {path} does not cover '
                    f'the layout {list(layout)} of study.space at C={width};'
                    f' build it from this config: tools/analysis/'
                    f'latency_table.py --config {spec.config} --channels '
                    f'{width}{deploy_option(spec)}') from None

    def cost(network: Network) -> float:
        return costs[network.width](network.genotype, network.layout)

    return cost


class NetworkObjective(RungObjective):
    """The whole-network study's objective: suggest a network, refuse it
    outside the cost range, train it by rungs (stopped at a rung by
    :func:`keeps_in_bucket`), return ``(metric, cost)``.

    Args:
        spec (StudySpec): The study (with ``space`` and ``cost_range``).
        cfg (Config): The loaded trial config.
        cost (Callable): Cost of a network (:func:`network_cost_function`).
        worker (int): The worker running it.
    """

    def __init__(self,
                 spec,
                 cfg: Config,
                 cost: Callable[[Network], float],
                 worker: int = 0) -> None:
        super().__init__(spec, cfg, cost, worker)
        self.space = NetworkSpace.from_dict(spec.space)

    def __call__(self, trial: optuna.Trial):
        network = suggest_network(trial, self.space, f'trial-{trial.number}')
        cost = float(self.cost(network))
        low, high = self.spec.cost_range
        for key, value in dict(
                cost=cost, epochs=0, worker=self.worker,
                network=network.to_dict()).items():
            trial.set_user_attr(key, value)
        self.refuse_outside(trial, cost, low, high,
                            'widen study.cost_range or change study.space')
        bucket = cost_bucket(cost, low, high, self.spec.buckets)
        trial.set_user_attr('bucket', bucket)
        reported: Dict[str, float] = {}

        def report(epochs: int, value: float) -> None:
            reported[str(epochs)] = value
            trial.set_user_attr('rungs', dict(reported))
            trial.set_user_attr('epochs', epochs)
            if epochs < self.rungs[-1] and self.spec.pruner != 'none' and \
                    not keeps_in_bucket(trial.study, trial.number, bucket,
                                        epochs, value,
                                        self.spec.reduction_factor):
                raise optuna.TrialPruned(f'pruned after {epochs} epochs')

        self.train(trial, apply_network(self.cfg, network), network.genotype,
                   report)
        return reported[str(self.rungs[-1])], cost
