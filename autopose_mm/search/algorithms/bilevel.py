"""AutoPose's bi-level search model: the cells by gradient, the network
level (cells per scale) by a REINFORCE controller, under cost budgets."""
import dataclasses
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.dist import all_reduce
from mmengine.optim import OptimWrapper
from mmpose.registry import MODELS
from torch import Tensor

from ...models.genotype import Genotype
from ..costs import Budget, GMACsBudget, LatencyBudget
from ..space import Layout, derive_genotype
from .base import heatmap_pck
from .differentiable import AutoPoseSearchEstimator


@MODELS.register_module()
class AutoPoseBiLevelSearchEstimator(AutoPoseSearchEstimator):
    """The bi-level search model, on an
    :class:`~autopose_mm.search.AutoPoseBiLevelSearchNet` backbone.

    Besides the differentiable search's steps it owns the network level:
    :meth:`sample_layout`, :meth:`use_layout`, :meth:`controller_step` and
    the cost budgets (:meth:`set_budgets`), with which it chooses the
    layout it writes (:meth:`choose_layout`, :meth:`export_genotype`).
    Arguments are those of :class:`AutoPoseSearchEstimator`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not hasattr(self.backbone, 'use_layout'):
            raise TypeError(
                f'{type(self).__name__} searches the network level: use '
                f"model.backbone.type='AutoPoseBiLevelSearchNet' (got "
                f'{type(self.backbone).__name__})')
        self.budgets: List[Budget] = []
        self.budget_tolerance = 0.05
        self.input_size: Optional[Tuple[int, int]] = None

    def set_budgets(self,
                    flops_target: Optional[float] = None,
                    flops_weight: float = 1.0,
                    latency_target: Optional[float] = None,
                    latency_table: Optional[str] = None,
                    latency_weight: float = 1.0,
                    latency_check: str = 'warn',
                    tolerance: float = 0.05) -> List[Budget]:
        """Set the cost budgets of the controller's reward and of the
        written layout.

        Args:
            flops_target (float, optional): Compute budget in GMACs (the
                analytic GMACs at this supernet's width and the search's
                input size).
            flops_weight (float): Weight of the compute penalty.
            latency_target (float, optional): Latency budget in ms; needs
                ``latency_table``.
            latency_table (str, optional): A table written by
                ``tools/analysis/latency_table.py``.
            latency_weight (float): Weight of the latency penalty.
            latency_check (str): What to do with a table measured on
                another device or library versions (``'warn'``,
                ``'error'``, ``'ignore'``).
            tolerance (float): Relative distance from every target within
                which a written layout counts as on budget.

        Returns:
            list[Budget]: The budgets.
        """
        budgets: List[Budget] = []
        if flops_target:
            budgets.append(
                GMACsBudget(flops_target, self.backbone.base_channels,
                            self.head.out_channels, flops_weight))
        if (latency_target is None) != (latency_table is None):
            raise ValueError(
                'train_cfg.latency_target (ms) and train_cfg.latency_table '
                '(a file from tools/analysis/latency_table.py) go together: '
                f'got latency_target={latency_target!r}, '
                f'latency_table={latency_table!r}')
        if latency_target is not None:
            budget = LatencyBudget(latency_target, latency_table,
                                   latency_weight, latency_check)
            arch = self.arch_modules[0]
            budget.check_covers(self.controller.space.layouts, arch.candidates,
                                arch.nodes)
            budgets.append(budget)
        self.budgets = budgets
        self.budget_tolerance = tolerance
        return budgets

    def sample_layout(self, data: Optional[dict] = None) -> Layout:
        """A layout drawn from the controller (rank 0, shared by all).
        ``data``: the batch it is drawn for, whose input size the GMACs
        budget then counts at."""
        if data is not None:
            self.input_size = tuple(data['inputs'][0].shape[-2:])
        return self.backbone.sample_layout()

    @contextmanager
    def use_layout(self, layout: Sequence[int]) -> Iterator[None]:
        """Run ``layout`` in the forward passes inside the block."""
        with self.backbone.use_layout(layout):
            yield

    def controller_step(self, data: dict,
                        optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One REINFORCE step of the layout controller.

        A layout is sampled and rewarded with the supernet's keypoint
        accuracy under it (PCK of its heatmaps on ``data``, averaged over
        the ranks), minus each budget's penalty (``weight * |cost / target
        - 1|``) for the network derived now under that layout.

        Args:
            data (dict): A held-out batch.
            optim_wrapper (OptimWrapper): The controller's optimiser.

        Returns:
            dict: ``reward_pck``, ``reward``, ``reward_baseline`` and, per
            budget, ``layout_<name>`` (e.g. ``layout_gmacs``,
            ``layout_latency_ms``).
        """
        controller = self.controller
        layout = self.sample_layout()
        with self.use_layout(layout):
            pck = torch.tensor(heatmap_pck(self, data))
        all_reduce(pck, op='mean')
        reward = float(pck)
        out = dict(reward_pck=torch.tensor(reward))
        if self.budgets:
            genotype = derive_genotype(self.arch_modules)
            input_size = tuple(data['inputs'][0].shape[-2:])
            for budget in self.budgets:
                cost = budget.cost(genotype, layout, input_size)
                reward -= budget.penalty(cost)
                out[f'layout_{budget.name}'] = torch.tensor(cost)
        controller.reinforce(controller.space.index(layout), reward)
        optim_wrapper.step()
        optim_wrapper.zero_grad()
        out.update(
            reward=torch.tensor(reward),
            reward_baseline=controller.baseline.clone())
        return out

    def choose_layout(self, genotype: Genotype) -> Layout:
        """The layout written with the cells of ``genotype``: the
        controller's most probable one; with budgets, the most probable one
        whose every cost lies within the tolerance of its target for these
        cells (the cells keep changing while the controller learns, so its
        favourite may have drifted off the budget), else the one closest to
        the budgets."""
        controller = self.controller
        if not self.budgets:
            return controller.best()

        def miss(layout) -> float:
            return max(
                abs(b.cost(genotype, layout, self.input_size) / b.target - 1)
                for b in self.budgets)

        ranked = controller.ranked()
        for layout in ranked:
            if miss(layout) <= self.budget_tolerance:
                return layout
        return min(ranked, key=miss)

    def budget_records(self, genotype: Genotype) -> Dict[str, Dict]:
        """Per budget, its target and the cost of ``genotype`` (with its
        layout), for the genotype file."""
        if not self.budgets or genotype.cells_per_scale is None:
            return {}
        return {
            b.name: b.record(genotype, genotype.cells_per_scale,
                             self.input_size)
            for b in self.budgets
        }

    def export_genotype(self, epoch: int) -> Genotype:
        """The cells, the layout of :meth:`choose_layout` and, for each
        budget, the target and the predicted cost (with the latency table
        it came from) under ``budgets``."""
        archs = self.arch_modules
        cells = derive_genotype(archs)
        layout = self.choose_layout(cells)
        extra = dict(epoch=epoch)
        budgets = self.budget_records(
            dataclasses.replace(cells, cells_per_scale=tuple(layout)))
        if budgets:
            extra['budgets'] = budgets
        return derive_genotype(
            archs,
            name=f'searched-epoch{epoch}',
            extra=extra,
            cells_per_scale=layout)
