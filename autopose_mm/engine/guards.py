"""Hooks that stop a run before it writes or evaluates something wrong.

- :class:`CheckpointGuardHook`: a loaded checkpoint must match the model
  (keys, shapes and the genotype it was trained with); a checkpoint about to
  be saved must hold finite weights, and it records the genotype.
- :class:`NonFiniteLossHook`: training stops at the first non-finite loss,
  before anything of that iteration is saved.

Both are in the configs' ``custom_hooks``; ``tools/train.py`` and
``tools/test.py`` add them to configs that lack them.
"""
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS
from torch import nn

from ..models.genotype import Genotype

GUARD_HOOKS = ('CheckpointGuardHook', 'NonFiniteLossHook')
SHOWN = 5  # keys named per kind of mismatch


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's weights or genotype do not fit the model."""


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


def model_genotype(model: nn.Module) -> Optional[Genotype]:
    """The fixed genotype a network is built from, or None (a supernet, or
    not an AutoPose network)."""
    genotype = getattr(getattr(model, 'backbone', None), 'genotype', None)
    return genotype if isinstance(genotype, Genotype) else None


def _architecture(genotype: Dict[str, Any]) -> Dict[str, Any]:
    """The parts of a genotype dict that decide the network (not its name
    or notes)."""
    return {
        k: genotype.get(k)
        for k in ('nodes', 'network', 'encoder', 'decoder')
    }


def _listing(title: str, items: Sequence[str]) -> str:
    shown = ', '.join(items[:SHOWN])
    more = f' and {len(items) - SHOWN} more' if len(items) > SHOWN else ''
    return f'\n  {len(items)} {title}: {shown}{more}'


def compare_state_dicts(
        model_state: Dict[str, torch.Tensor],
        ckpt_state: Dict[str, Any]) -> Tuple[List[str], List[str], List[str]]:
    """Keys the checkpoint lacks, keys the model lacks, and keys whose
    shapes differ (``'key: checkpoint (a, b) vs model (c, d)'``)."""
    missing = [k for k in model_state if k not in ckpt_state]
    unexpected = [k for k in ckpt_state if k not in model_state]
    shapes = [
        f'{k}: checkpoint {tuple(ckpt_state[k].shape)} vs model '
        f'{tuple(v.shape)}' for k, v in model_state.items()
        if k in ckpt_state and hasattr(ckpt_state[k], 'shape')
        and tuple(ckpt_state[k].shape) != tuple(v.shape)
    ]
    return missing, unexpected, shapes


def _likely_cause(missing: List[str], unexpected: List[str],
                  shapes: List[str]) -> str:
    keys = missing + unexpected + [s.split(':')[0] for s in shapes]
    parts = sorted({k.split('.')[0] for k in keys})
    if missing and unexpected and not shapes and all(
            k.startswith('module.') for k in unexpected):
        return 'the checkpoint was saved from a wrapped model'
    if (missing or unexpected) and any(
            p in ('backbone', 'neck') for p in parts):
        return ('the architecture differs: another genotype, number of '
                'cells or decoder stages (check genotype, arch, num_cells '
                'and neck.num_stages)')
    if shapes and parts == ['head']:
        return ('the head differs: another number of keypoints '
                '(head.out_channels) or head type')
    if shapes:
        return ('the widths differ: another preset or base_channels (check '
                'arch, base_channels and the neck/head in_channels)')
    return f'the {"/".join(parts)} differ'


def check_checkpoint(model: nn.Module,
                     checkpoint: dict,
                     where: str = 'the checkpoint',
                     partial: bool = False) -> None:
    """Check that a loaded checkpoint fits ``model``: the genotype recorded
    in its meta, and the keys and shapes of its state dict.

    Args:
        model (nn.Module): The model about to receive the weights.
        checkpoint (dict): The loaded checkpoint (or a bare state dict).
        where (str): The checkpoint's path, for the messages.
        partial (bool): Log the mismatch as a warning instead of stopping.

    Raises:
        CheckpointMismatchError: Names the first few missing, unexpected and
            mis-shaped keys and what probably differs.
    """
    _check_genotype(model, checkpoint, where, partial)
    state = checkpoint.get('state_dict', checkpoint)
    state = {
        (k[len('module.'):] if k.startswith('module.') else k): v
        for k, v in state.items()
    }
    missing, unexpected, shapes = compare_state_dicts(model.state_dict(),
                                                      state)
    if not (missing or unexpected or shapes):
        return
    message = (f'checkpoint {where} does not match the model: '
               f'{_likely_cause(missing, unexpected, shapes)}.')
    if missing:
        message += _listing('missing keys (in the model only)', missing)
    if unexpected:
        message += _listing('unexpected keys (in the checkpoint only)',
                            unexpected)
    if shapes:
        message += _listing('keys with other shapes', shapes)
    if partial:
        print_log(
            message + '\nload_partial=True: loading the matching weights '
            'only.',
            logger='current',
            level=30)
        return
    raise CheckpointMismatchError(
        message + '\nUse the config the checkpoint was trained with. To load '
        'only the matching weights on purpose (e.g. fine-tuning with another '
        'head), set load_partial=True (tools: --partial-load).')


def stored_genotype(checkpoint: dict) -> Optional[Dict[str, Any]]:
    """The genotype a checkpoint records in its meta, if any."""
    return (checkpoint.get('meta') or {}).get('genotype')


def _check_genotype(model: nn.Module, checkpoint: dict, where: str,
                    partial: bool) -> None:
    stored = stored_genotype(checkpoint)
    genotype = model_genotype(model)
    if stored is None or genotype is None:
        return
    ours = _architecture(genotype.to_dict())
    try:  # compare the normalised forms (defaults such as concat filled in)
        stored = Genotype.from_dict(stored).to_dict()
    except (ValueError, TypeError):
        pass
    differs = [k for k, v in _architecture(stored).items() if ours[k] != v]
    if not differs:
        return
    message = (
        f'checkpoint {where} was trained with genotype '
        f'{stored.get("name") or "(unnamed)"!r}, but the model is built from '
        f'genotype {genotype.name or "(unnamed)"!r}; they differ in '
        f'{", ".join(differs)}. Write the stored one out with `python '
        f'tools/misc/checkpoint_genotype.py {where} genotype.json` and pass '
        f'--cfg-options model.genotype=genotype.json.')
    if partial:
        print_log(message, logger='current', level=30)
        return
    raise CheckpointMismatchError(message)


@HOOKS.register_module()
class CheckpointGuardHook(Hook):
    """Refuse checkpoints that do not fit the model; never save non-finite
    weights; record the genotype in every checkpoint.

    On load (``load_from``, ``--resume``, ``tools/test.py``): stops with
    :class:`CheckpointMismatchError` when the checkpoint's state dict has
    missing, unexpected or mis-shaped keys (naming the first few of each and
    what probably differs), or when it records a genotype other than the
    model's. A config may set ``load_partial = True`` (``--partial-load`` in
    the tools) to load what matches instead, e.g. to fine-tune with another
    head; the mismatch is then logged as a warning.

    On save: writes the network's genotype to ``meta['genotype']`` and
    refuses (``FloatingPointError``) to save weights that are NaN or
    infinite, so that the last good checkpoint stays the latest one.
    """

    priority = 'VERY_HIGH'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = [
            k for k, v in checkpoint.get('state_dict', {}).items()
            if torch.is_tensor(v) and v.is_floating_point()
            and not bool(torch.isfinite(v).all())
        ]
        if bad:
            raise FloatingPointError(
                f'refusing to save a checkpoint at epoch {runner.epoch + 1}, '
                f'iteration {runner.iter}: {len(bad)} weights are NaN or '
                f'infinite (first: {", ".join(bad[:SHOWN])}). The previous '
                f'checkpoint in {runner.work_dir} is kept; lower the '
                f'learning rate or check the data, then resume from it.')
        genotype = model_genotype(unwrap(runner.model))
        if genotype is not None:
            checkpoint.setdefault('meta', {})['genotype'] = genotype.to_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        check_checkpoint(
            unwrap(runner.model),
            checkpoint,
            where=runner.cfg.get('load_from') or 'the checkpoint',
            partial=bool(runner.cfg.get('load_partial', False)))


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first NaN or infinite loss.

    It runs before the checkpoint and logger hooks of the same iteration, so
    nothing computed from the non-finite state is saved or logged as a
    result; the last checkpoint stays the latest one.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[Dict[str, Any]] = None) -> None:
        for name, value in (outputs or {}).items():
            if torch.is_tensor(value):
                if value.numel() != 1:
                    continue
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                raise FloatingPointError(
                    f'{name} is {value} at epoch {runner.epoch + 1}, '
                    f'iteration {runner.iter + 1} (batch {batch_idx + 1} of '
                    f'the epoch); training stopped before saving anything '
                    f'from this state. Lower the learning rate or check the '
                    f'data, then resume from the last checkpoint in '
                    f'{runner.work_dir}.')
