"""What every search model shares: a supernet estimator that knows its
architecture weights and writes the genotype it stands for."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmpose.evaluation.functional import pose_pck_accuracy

from ...models.estimator import AutoPoseEstimator
from ...models.genotype import Genotype
from ..space import ArchParams, LayoutController, arch_modules, derive_genotype


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


class SearchEstimator(AutoPoseEstimator):
    """An :class:`~autopose_mm.models.AutoPoseEstimator` holding a supernet
    (search backbone and neck). The algorithms subclass it with their own
    steps; every one writes its result through :meth:`export_genotype`.

    Arguments are those of :class:`~autopose_mm.models.AutoPoseEstimator`
    (no genotype: the supernet holds every genotype).
    """

    @property
    def arch_modules(self) -> Tuple[ArchParams, ...]:
        """The :class:`ArchParams` of the backbone and neck."""
        return arch_modules(self)

    @property
    def controller(self) -> Optional[LayoutController]:
        """The network-level policy of a bi-level supernet, else None."""
        return find_controller(self)

    def derive(self, **kwargs) -> Genotype:
        """The genotype the architecture weights (and, bi-level, the
        controller's most probable layout) give now; ``kwargs`` go to
        :func:`~autopose_mm.search.space.derive_genotype`."""
        controller = self.controller
        return derive_genotype(
            self.arch_modules,
            cells_per_scale=controller.best() if controller else None,
            **kwargs)

    def export_genotype(self, epoch: int) -> Genotype:
        """The genotype to write after ``epoch``: :meth:`derive` named
        after the epoch."""
        return self.derive(
            name=f'searched-epoch{epoch}', extra=dict(epoch=epoch))
