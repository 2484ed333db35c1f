"""Bookkeeping of a search: the derived genotype and the alpha history."""
import json
import os.path as osp
from typing import Dict, List

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS

from ..utils.io import atomic_write_text
from .plots import plot_search_curves
from .space import arch_modules


@HOOKS.register_module()
class GenotypeExportHook(Hook):
    """Write the search model's genotype after every epoch to the work dir.

    The genotype is the model's :meth:`~autopose_mm.search.algorithms.
    SearchEstimator.export_genotype`: in a bi-level search it also holds the
    network level and, per budget, the target and the predicted cost (see
    :meth:`~autopose_mm.search.AutoPoseBiLevelSearchEstimator.
    export_genotype`); in a single-path search, the selection's choice.

    Files (written atomically, by the main process):

    - ``genotype.json``: the latest genotype, ready for a network config
      (``genotype='<work_dir>/genotype.json'``);
    - ``genotypes/epoch_<n>.json``: the genotype after epoch ``n``;
    - ``search_history.json``: per epoch, the genotype and the softmaxed
      alphas and edge weights of every cell type;
    - ``search_curves.png`` (``plot=True``): the mean weight of each
      candidate operation per cell type against the epoch, and the losses.

    The history is also kept in the checkpoints, so that a resumed search
    continues it.

    Args:
        out_file (str): Name of the latest genotype file.
        plot (bool): Draw the alpha curves. Defaults to True.
    """

    priority = 'NORMAL'  # before CheckpointHook saves the epoch

    def __init__(self,
                 out_file: str = 'genotype.json',
                 plot: bool = True) -> None:
        self.out_file = out_file
        self.plot = plot
        self.history: List[Dict] = []

    def after_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        archs = arch_modules(model)
        if not archs or not hasattr(model, 'export_genotype'):
            raise RuntimeError('GenotypeExportHook needs a search model '
                               '(autopose_mm.search.algorithms) with '
                               'ArchParams (a search backbone and neck)')
        epoch = runner.epoch + 1
        genotype = model.export_genotype(epoch)
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
            json.dumps(
                dict(
                    candidates=list(archs[0].candidates), epochs=self.history),
                allow_nan=False))
        if self.plot:
            scalars = osp.join(runner.log_dir, 'vis_data', 'scalars.json')
            plot_search_curves(
                osp.join(work_dir, 'search_history.json'),
                scalars if osp.isfile(scalars) else None,
                osp.join(work_dir, 'search_curves.png'))
        runner.logger.info(f'epoch {epoch}: genotype written to '
                           f'{osp.join(work_dir, self.out_file)}')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['genotype_history'] = self.history

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.history = list(checkpoint.get('genotype_history', []))


@HOOKS.register_module()
class ArchGradientStatsHook(Hook):
    """Measure the signal in the architecture gradients of a search.

    Records the alpha gradients of every alpha step (before the ``arch``
    optimiser steps) and writes ``arch_gradients.json`` to the work dir after
    every epoch, per epoch and cell type:

    - ``grad_rms``: root mean square of the gradient entries;
    - ``snr``: mean over entries of ``|mean over steps| / std over steps``,
      how consistent the gradient's direction is (1/sqrt(steps) for noise);
    - ``decay_rms``: root mean square of ``weight_decay * alpha``, the pull
      of an L2 weight decay coupled into the gradient (Adam's
      ``weight_decay``); when it is comparable to ``grad_rms`` it caps how
      far the alphas can move;
    - ``alpha_rms``: root mean square of the alphas at the epoch's end.

    Args:
        out_file (str): File name in the work dir.
    """

    priority = 'LOW'

    def __init__(self, out_file: str = 'arch_gradients.json') -> None:
        self.out_file = out_file
        self.records: List[Dict] = []
        self._steps: Dict[str, List] = {}

    def before_train(self, runner) -> None:
        wrapper = runner.optim_wrapper['arch']
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        alphas = {
            t: p
            for arch in arch_modules(model)
            for t, p in arch.alphas.items()
        }
        decay = float(wrapper.optimizer.param_groups[0].get(
            'weight_decay', 0.0))
        original = wrapper.step
        self._alphas, self._decay = alphas, decay

        def step(*args, **kwargs):
            for t, p in alphas.items():
                if p.grad is not None:
                    self._steps.setdefault(t, []).append(
                        p.grad.detach().flatten().clone())
            return original(*args, **kwargs)

        wrapper.step = step

    def after_train_epoch(self, runner) -> None:
        if not self._steps:
            return
        cells = {}
        for t, grads in self._steps.items():
            g = torch.stack(grads)
            std = g.std(dim=0) if len(grads) > 1 else torch.full_like(
                g[0], float('inf'))
            alpha = self._alphas[t].detach().flatten()
            cells[t] = dict(
                steps=len(grads),
                grad_rms=float(g.pow(2).mean().sqrt()),
                snr=float(
                    (g.mean(dim=0).abs() /
                     std.clamp_min(1e-30)).mean()) if len(grads) > 1 else None,
                decay_rms=float((self._decay * alpha).pow(2).mean().sqrt()),
                alpha_rms=float(alpha.pow(2).mean().sqrt()))
        self._steps = {}
        self.records.append(dict(epoch=runner.epoch + 1, cells=cells))
        if is_main_process():
            atomic_write_text(
                osp.join(runner.work_dir, self.out_file),
                json.dumps(
                    dict(weight_decay=self._decay, epochs=self.records),
                    allow_nan=False,
                    indent=1))
