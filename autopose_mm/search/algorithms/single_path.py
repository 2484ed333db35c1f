"""Single-path one-shot search: the supernet's shared weights train on
random derived-shaped cells, and the cells are then chosen by a selection
stage (:mod:`autopose_mm.search.selection`)."""
import dataclasses
from typing import Optional

from mmpose.registry import MODELS

from ...models.genotype import Genotype
from .base import SearchEstimator


@MODELS.register_module()
class AutoPoseSinglePathSearchEstimator(SearchEstimator):
    """The single-path search model. Its one training step is MMEngine's
    ``train_step`` (the supernet runs one random cell per cell type,
    ``sample_paths=True`` on the search backbone and neck); the choice of
    the selection stage is handed to it with :meth:`choose`, and
    :meth:`export_genotype` writes that choice.

    Arguments are those of :class:`~autopose_mm.models.AutoPoseEstimator`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.arch_modules or not all(a.sample_paths
                                            for a in self.arch_modules):
            raise ValueError(
                'AutoPoseSinglePathSearchEstimator trains single paths: set '
                'sample_paths=True on the search backbone and neck')
        self.chosen: Optional[Genotype] = None

    def choose(self, genotype: Genotype) -> None:
        """Take ``genotype``'s cells as the search's result."""
        for arch in self.arch_modules:  # fails if the space lacks them
            for t in arch.cell_types:
                arch.one_hot(t, genotype.cells[t])
        self.chosen = genotype

    def export_genotype(self, epoch: int) -> Genotype:
        """The chosen cells once the selection ran, else the cells the
        (untrained) architecture weights give."""
        if self.chosen is None:
            return super().export_genotype(epoch)
        return dataclasses.replace(
            self.chosen,
            name=f'searched-epoch{epoch}',
            extra=dict(epoch=epoch))
