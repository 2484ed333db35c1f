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

import numpy as np
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
    if not isinstance(state, dict):
        raise CheckpointMismatchError(
            f'checkpoint {where}: its state_dict is a '
            f'{type(state).__name__}, not a dict of tensors')
    state = {
        (k[len('module.'):] if k.startswith('module.') else k): v
        for k, v in state.items()
    }
    check_finite_weights(state, where)
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


def stored_genotype(checkpoint: dict,
                    where: str = 'the checkpoint') -> Optional[Dict[str, Any]]:
    """The genotype a checkpoint records in its meta, if any, validated
    (defaults such as ``concat`` filled in).

    Raises:
        CheckpointMismatchError: The checkpoint is not a dict, or its
            ``meta['genotype']`` is not a valid genotype; names ``where``.
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatchError(
            f'checkpoint {where} holds a {type(checkpoint).__name__}, not a '
            f'dict of weights')
    meta = checkpoint.get('meta') or {}
    if not isinstance(meta, dict):
        raise CheckpointMismatchError(
            f'checkpoint {where}: its "meta" is a {type(meta).__name__}, '
            f'not a dict')
    stored = meta.get('genotype')
    if stored is None:
        return None
    if not isinstance(stored, dict):
        raise CheckpointMismatchError(
            f'checkpoint {where}: meta["genotype"] is a '
            f'{type(stored).__name__}, not a genotype mapping; it was not '
            f'saved by this package. Give the genotype it was trained with '
            f'(--genotype FILE or model.genotype)')
    try:
        return Genotype.from_dict(stored).to_dict()
    except ValueError as e:
        raise CheckpointMismatchError(
            f'checkpoint {where}: the genotype in meta["genotype"] is not '
            f'valid: {e}') from None


def non_finite_weights(state: Dict[str, Any]) -> List[str]:
    """Names of the floating-point tensors of ``state`` that hold a NaN or
    an infinity."""
    return [
        k for k, v in state.items() if torch.is_tensor(v)
        and v.is_floating_point() and not bool(torch.isfinite(v).all())
    ]


def check_finite_weights(state: Dict[str, Any], where: str) -> None:
    """Refuse weights (parameters and buffers such as BN statistics) with
    NaN or infinite values: every prediction of them would be garbage.

    Raises:
        FloatingPointError: Names the checkpoint and the first tensors.
    """
    bad = non_finite_weights(state)
    if bad:
        raise FloatingPointError(
            f'checkpoint {where}: {len(bad)} tensors hold NaN or infinite '
            f'values (first: {", ".join(bad[:SHOWN])}); its predictions '
            f'would be meaningless. Use an earlier checkpoint of the run')


def _check_genotype(model: nn.Module, checkpoint: dict, where: str,
                    partial: bool) -> None:
    stored = stored_genotype(checkpoint, where)
    genotype = model_genotype(model)
    if stored is None or genotype is None:
        return
    ours = _architecture(genotype.to_dict())
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
        bad = non_finite_weights(checkpoint.get('state_dict', {}))
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
        where = runner.cfg.get('load_from') or 'the checkpoint'
        check_checkpoint(
            unwrap(runner.model),
            checkpoint,
            where=where,
            partial=bool(runner.cfg.get('load_partial', False)))
        if getattr(runner, '_resume', False):
            check_resumable(checkpoint, runner, where)


def _group_keys(state: Any) -> Any:
    """The settings each parameter group of an optimiser state holds (for
    a dict of optimisers, by name), without the values."""
    if isinstance(state, dict) and 'param_groups' in state:
        return [
            sorted(set(g) - {'params', 'initial_lr'})
            for g in state['param_groups']
        ]
    if isinstance(state, dict):
        return {k: _group_keys(v) for k, v in state.items()}
    return None


def check_resumable(checkpoint: dict, runner, where: str) -> None:
    """A checkpoint to resume from must hold the training state (epoch,
    iteration, optimiser) of an optimiser of the same kind.

    Raises:
        CheckpointMismatchError: Names the checkpoint and what it lacks or
            what differs, and how to start from its weights instead.
    """
    meta = checkpoint.get('meta')
    lacking = [
        k for k in ('epoch', 'iter')
        if not isinstance(meta, dict) or k not in meta
    ]
    if 'optimizer' not in checkpoint:
        lacking.append('optimizer')
    if lacking:
        raise CheckpointMismatchError(
            f'cannot resume from checkpoint {where}: it holds weights only '
            f'(no {", ".join(lacking)}), not a training state. To start a '
            f'new training from its weights, use load_from={where} '
            f'(--cfg-options load_from=...) without --resume')
    wrapper = getattr(runner, 'optim_wrapper', None)
    if wrapper is None or not hasattr(wrapper, 'state_dict'):
        return
    ours = _group_keys(wrapper.state_dict())
    theirs = _group_keys(checkpoint['optimizer'])
    if ours != theirs:
        raise CheckpointMismatchError(
            f'cannot resume from checkpoint {where}: its optimiser state '
            f'has the settings {theirs}, the config\'s optimiser '
            f'{ours}; it was trained with another optimiser. Resume with '
            f'the optimiser it was trained with, or start from its weights '
            f'with load_from={where} without --resume')


def non_finite_field(sample: Any) -> Optional[str]:
    """The first of a pose data sample's predicted keypoints, keypoint
    scores and boxes that holds a NaN or infinity, or None."""
    pred = getattr(sample, 'pred_instances', None)
    for name in ('keypoints', 'keypoint_scores', 'bboxes'):
        value = pred.get(name) if hasattr(pred, 'get') else None
        if value is None:
            continue
        if torch.is_tensor(value):
            finite = bool(torch.isfinite(value).all())
        else:
            finite = bool(np.isfinite(np.asarray(value)).all())
        if not finite:
            return name
    return None


def check_predictions(samples: Optional[Sequence], where: str) -> None:
    """Stop at the first prediction with a non-finite keypoint, score or
    box, before a metric is computed or a file is written from it.

    Raises:
        FloatingPointError: Names the image and ``where`` (the step).
    """
    for sample in samples or ():
        name = non_finite_field(sample)
        if name is not None:
            image = sample.metainfo.get('img_path', 'a frame')
            raise FloatingPointError(
                f'{where}: the prediction for {image} has non-finite '
                f'{name}; nothing is computed or written from it. Check the '
                f'person boxes and the weights (a NaN in a checkpoint is '
                f'refused when it is loaded)')


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first NaN or infinite loss, and evaluation at
    the first NaN or infinite predicted keypoint.

    It runs before the checkpoint and logger hooks of the same iteration, so
    nothing computed from the non-finite state is saved or logged as a
    result; the last checkpoint stays the latest one. A non-finite
    prediction (from non-finite boxes or weights) stops validation and
    testing before a metric is computed from it: COCO's evaluation would
    count NaN keypoints as matches.
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

    def after_val_iter(self,
                       runner,
                       batch_idx: int,
                       data_batch: Any = None,
                       outputs: Optional[Sequence] = None) -> None:
        check_predictions(outputs, f'validation, batch {batch_idx + 1}')

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Any = None,
                        outputs: Optional[Sequence] = None) -> None:
        check_predictions(outputs, f'testing, batch {batch_idx + 1}')
