"""Bookkeeping of a search: the derived genotype and the alpha history."""
import json
import os.path as osp
from typing import Dict, List, Sequence

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS

from ..models.search_space import arch_modules, derive_genotype
from ..utils.io import atomic_write, atomic_write_text


@HOOKS.register_module()
class GenotypeExportHook(Hook):
    """Derive the genotype after every epoch and write it to the work dir.

    Files (written atomically, by the main process):

    - ``genotype.json``: the latest genotype, ready for a network config
      (``genotype='<work_dir>/genotype.json'``);
    - ``genotypes/epoch_<n>.json``: the genotype after epoch ``n``;
    - ``search_history.json``: per epoch, the genotype and the softmaxed
      alphas and edge weights of every cell type;
    - ``search_alphas.png`` (``plot=True``): the mean weight of each
      candidate operation per cell type against the epoch.

    The history is also kept in the checkpoints, so that a resumed search
    continues it.

    Args:
        out_file (str): Name of the latest genotype file.
        plot (bool): Draw the alpha curves. Defaults to True.
    """

    priority = 'NORMAL'  # before CheckpointHook saves the epoch

    def __init__(self, out_file: str = 'genotype.json',
                 plot: bool = True) -> None:
        self.out_file = out_file
        self.plot = plot
        self.history: List[Dict] = []

    def after_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        archs = arch_modules(model)
        if not archs:
            raise RuntimeError('GenotypeExportHook needs a model with '
                               'ArchParams (a search backbone and neck)')
        epoch = runner.epoch + 1
        genotype = derive_genotype(
            archs, name=f'searched-epoch{epoch}', extra=dict(epoch=epoch))
        record = dict(epoch=epoch, genotype=genotype.to_dict(), cells={})
        for arch in archs:
            record['cells'].update(arch.summary())
        self.history = [h for h in self.history if h['epoch'] < epoch]
        self.history.append(record)
        if not is_main_process():
            return
        work_dir = runner.work_dir
        genotype.dump(osp.join(work_dir, 'genotypes', f'epoch_{epoch}.json'))
        genotype.dump(osp.join(work_dir, self.out_file))
        atomic_write_text(
            osp.join(work_dir, 'search_history.json'),
            json.dumps(dict(candidates=list(archs[0].candidates),
                            epochs=self.history)))
        if self.plot:
            self.plot_history(
                osp.join(work_dir, 'search_alphas.png'), archs[0].candidates)
        runner.logger.info(
            f'epoch {epoch}: genotype written to '
            f'{osp.join(work_dir, self.out_file)}')

    def plot_history(self, path: str, candidates: Sequence[str]) -> None:
        """Mean softmaxed alpha of every operation per cell type."""
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        import numpy as np
        cell_types = list(self.history[-1]['cells'])
        fig, axes = plt.subplots(
            1, len(cell_types), figsize=(4 * len(cell_types), 3.2),
            squeeze=False)
        epochs = [h['epoch'] for h in self.history]
        for ax, cell_type in zip(axes[0], cell_types):
            weights = np.array([
                np.array(h['cells'][cell_type]['alphas']).mean(0)
                for h in self.history
            ])
            for o, name in enumerate(candidates):
                ax.plot(epochs, weights[:, o], marker='.', label=name)
            ax.set_title(cell_type, fontsize=9)
            ax.set_xlabel('epoch')
        axes[0][0].set_ylabel('mean operation weight')
        axes[0][-1].legend(fontsize=6, loc='upper left',
                           bbox_to_anchor=(1, 1))
        fig.tight_layout()
        atomic_write(path, lambda f: fig.savefig(f, format='png', dpi=110),
                     mode='wb')
        plt.close(fig)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['genotype_history'] = self.history

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.history = list(checkpoint.get('genotype_history', []))
