"""The search model: a supernet estimator whose search steps are methods,
as MMEngine's ``train_step`` is one of every model."""
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.dist import all_reduce
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmpose.evaluation.functional import pose_pck_accuracy
from mmpose.registry import MODELS
from torch import Tensor

from .budgets import Budget
from .estimator import AutoPoseEstimator
from .layout import Layout, LayoutController
from .search_space import ArchParams, arch_modules, derive_genotype


@torch.no_grad()
def heatmap_pck(model: nn.Module, data_batch: dict) -> float:
    """PCK of the model's heatmaps against the batch's target heatmaps
    (MMPose's ``pose_pck_accuracy``, threshold 0.05 of the heatmap size)."""
    data = model.data_preprocessor(data_batch, True)
    heatmaps = model.head.forward(model.extract_feat(data['inputs']))
    if isinstance(heatmaps, (list, tuple)):
        heatmaps = heatmaps[-1]
    samples = data['data_samples']
    target = torch.stack([d.gt_fields.heatmaps for d in samples])
    mask = torch.cat([d.gt_instance_labels.keypoint_weights
                      for d in samples]) > 0
    _, acc, _ = pose_pck_accuracy(heatmaps.detach().cpu().numpy(),
                                  target.cpu().numpy(),
                                  mask.cpu().numpy())
    return float(acc)


def find_controller(model: nn.Module) -> Optional[LayoutController]:
    """The :class:`LayoutController` of a (possibly wrapped) model, or None
    (a cell-only search)."""
    module = model.module if is_model_wrapper(model) else model
    return next(
        (m for m in module.modules() if isinstance(m, LayoutController)), None)


@MODELS.register_module()
class AutoPoseSearchEstimator(AutoPoseEstimator):
    """An :class:`AutoPoseEstimator` holding a supernet (search backbone and
    neck), with the steps of the search as methods:

    - :meth:`arch_step`: one first-order step of the architecture weights;
    - :meth:`search_step`: the alpha step and the weight step of one
      iteration (what :class:`~autopose_mm.engine.CellSearchLoop` runs);
    - for a bi-level supernet, :meth:`sample_layout`, :meth:`use_layout` and
      :meth:`controller_step` (what
      :class:`~autopose_mm.engine.BiLevelSearchLoop` adds).

    The loops only schedule these; the benchmark times the same methods.
    Arguments are those of :class:`AutoPoseEstimator` (no genotype: the
    supernet holds every genotype).
    """

    @property
    def arch_modules(self) -> Tuple[ArchParams, ...]:
        """The :class:`ArchParams` of the backbone and neck."""
        return arch_modules(self)

    @property
    def controller(self) -> Optional[LayoutController]:
        """The network-level policy of a bi-level supernet, else None."""
        return find_controller(self)

    def derive(self, **kwargs):
        """The genotype the architecture weights (and, bi-level, the
        controller's most probable layout) give now; ``kwargs`` go to
        :func:`~autopose_mm.models.search_space.derive_genotype`."""
        controller = self.controller
        return derive_genotype(
            self.arch_modules,
            cells_per_scale=controller.best() if controller else None,
            **kwargs)

    def arch_step(self, data: dict,
                  optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One first-order step of the architecture weights on ``data``.

        Back-propagation computes the gradients of the architecture weights
        only (``backward(inputs=...)`` skips the weight gradients). This
        runs on the bare module, not through DDP, whose reducer expects
        gradients for every weight; the alpha gradients are averaged over
        the ranks here instead, so all ranks keep identical alphas.

        Returns:
            dict: The losses (log variables).
        """
        params: List[nn.Parameter] = [
            p for group in optim_wrapper.optimizer.param_groups
            for p in group['params']
        ]
        self.zero_grad(set_to_none=True)
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self(**data, mode='loss')
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.backward(loss, inputs=params)
        for p in params:
            if p.grad is not None:
                all_reduce(p.grad, op='mean')
        optim_wrapper.step()
        optim_wrapper.zero_grad()
        return log_vars

    def search_step(
            self,
            data: dict,
            arch_data: Optional[dict],
            optim_wrapper: OptimWrapperDict,
            train_step: Optional[Callable[...,
                                          Dict]] = None) -> Dict[str, Tensor]:
        """One search iteration: the alpha step on ``arch_data`` (when
        given: after the warm-up) with ``optim_wrapper['arch']``, then the
        weight step on ``data`` with ``optim_wrapper['weights']``.

        Args:
            data (dict): A batch of the weights' half of the data.
            arch_data (dict, optional): A batch of the alphas' half.
            optim_wrapper (OptimWrapperDict): ``weights`` and ``arch``.
            train_step (callable, optional): The weight step; the loop
                passes the (DDP-wrapped) runner model's ``train_step`` so
                that weight gradients are synchronised. Defaults to this
                model's own.

        Returns:
            dict: The log variables, those of the alpha step prefixed
            ``arch_``.
        """
        outputs = {}
        if arch_data is not None:
            arch_out = self.arch_step(arch_data, optim_wrapper['arch'])
            outputs.update({f'arch_{k}': v for k, v in arch_out.items()})
        self.zero_grad(set_to_none=True)  # the alpha step's leftovers
        step = train_step or self.train_step
        outputs.update(step(data, optim_wrapper=optim_wrapper['weights']))
        return outputs

    # the network level (bi-level search) -----------------------------------
    def _layout_backbone(self):
        if not hasattr(self.backbone, 'use_layout'):
            raise TypeError(
                f'{type(self.backbone).__name__} has no network-level '
                f'search; use AutoPoseBiLevelSearchNet as the backbone')
        return self.backbone

    def sample_layout(self) -> Layout:
        """A layout drawn from the controller (rank 0, shared by all)."""
        return self._layout_backbone().sample_layout()

    @contextmanager
    def use_layout(self, layout: Sequence[int]) -> Iterator[None]:
        """Run ``layout`` in the forward passes inside the block."""
        with self._layout_backbone().use_layout(layout):
            yield

    def controller_step(
        self,
        data: dict,
        optim_wrapper: OptimWrapper,
        budgets: Sequence[Budget] = ()
    ) -> Dict[str, Tensor]:
        """One REINFORCE step of the layout controller.

        A layout is sampled and rewarded with the supernet's keypoint
        accuracy under it (PCK of its heatmaps on ``data``, averaged over
        the ranks), minus each budget's penalty (``weight * |cost / target
        - 1|``) for the network derived now under that layout.

        Args:
            data (dict): A held-out batch.
            optim_wrapper (OptimWrapper): The controller's optimiser.
            budgets (Sequence[Budget]): Cost budgets, e.g. a
                :class:`~autopose_mm.models.budgets.GMACsBudget` or a
                :class:`~autopose_mm.models.budgets.LatencyBudget`.

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
        if budgets:
            genotype = derive_genotype(self.arch_modules)
            input_size = tuple(data['inputs'][0].shape[-2:])
            for budget in budgets:
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
