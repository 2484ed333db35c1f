"""Weights of the reference release in this package's modules.

The reference release names its tensors after its own modules
(``stem0``, ``cells.<i>._ops.<k>.net.1``, ``stage1.upsamples.<j>``,
``reduce_channel_prev``...). :data:`NAME_RULES` maps each of those names to
the module of an :class:`~autopose_mm.models.AutoPoseEstimator` that holds
the same tensor, one rule per kind of module; :func:`convert_reference`
applies them to a whole state dict and checks the result against a model,
tensor by tensor. ``docs/models.md`` lists the names.
"""
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor

from .backbone import ARCH_SETTINGS

# Where the reference keeps its modules -> where they are here. The part of
# a cell's name after its prefix goes through CELL_RULES.
PREFIX_RULES: Tuple[Tuple[str, str], ...] = (
    (r'stem0\.([01])\.', r'backbone.stem0.\1.'),
    (r'stem1\.0\.', 'backbone.stem0.3.'),
    (r'stem1\.1\.', 'backbone.stem0.4.'),
    (r'stem2\.([01])\.', r'backbone.stem1.\1.'),
    (r'cells\.(\d+)\.', r'backbone.cells.cells.\1.'),
    (r'refine_cells\.(\d+)\.', r'neck.refine.cells.\1.'),
    (r'stage1\.upsamples\.(\d+)\.', r'neck.decoder.cells.\1.'),
    (r'stage2\.upsamples\.(\d+)\.', r'neck.decoder2.cells.\1.'),
    (r'reduce_channel_prev\.1\.', 'neck.refine_proj.conv.'),
    (r'reduce_channel_prev\.2\.', 'neck.refine_proj.bn.'),
    (r'reduce_channel(\d)\.1\.', r'neck.refine_out.\1.conv.'),
    (r'reduce_channel(\d)\.2\.', r'neck.refine_out.\1.bn.'),
    # the heads' 1x1 convolutions: see head_rules()
)
# Inside a cell: input projections and operations.
CELL_RULES: Tuple[Tuple[str, str], ...] = (
    # a decoder cell's coarse input: upsampled (.0), then ReLU-conv-BN (.1)
    (r'preprocess0\.1\.net\.1\.', 'preprocess0.proj.conv.'),
    (r'preprocess0\.1\.net\.2\.', 'preprocess0.proj.bn.'),
    # ReLU-conv-BN projections (net.0 is the ReLU)
    (r'preprocess([01])\.net\.1\.', r'preprocess\1.conv.'),
    (r'preprocess([01])\.net\.2\.', r'preprocess\1.bn.'),
    # factorized reduce after a reduction cell
    (r'preprocess0\.conv([12])\.', r'preprocess0.conv_\1.'),
    (r'preprocess0\.bn\.', 'preprocess0.bn.'),
    # operations: convolutions, factorized reduce, pooling BN, SE gate
    (r'_ops\.(\d+)\.net\.1\.', r'graph.ops.\1.conv.'),
    (r'_ops\.(\d+)\.net\.2\.', r'graph.ops.\1.bn.'),
    (r'_ops\.(\d+)\.conv([12])\.', r'graph.ops.\1.conv_\2.'),
    (r'_ops\.(\d+)\.bn\.', r'graph.ops.\1.bn.'),
    (r'_ops\.(\d+)\.fc1\.', r'graph.ops.\1.squeeze.'),
    (r'_ops\.(\d+)\.fc2\.', r'graph.ops.\1.excite.'),
)
CELL_PREFIXES = ('cells.', 'refine_cells.', 'stage1.upsamples.',
                 'stage2.upsamples.')
LEAVES = ('weight', 'bias', 'running_mean', 'running_var',
          'num_batches_tracked')
# The state dicts a reference checkpoint may hold (train.py's
# checkpoint.pth), in the order they are looked for.
CHECKPOINT_KEYS = ('state_dict', 'best_state_dict')


class ReferenceConversionError(ValueError):
    """A reference checkpoint does not fit the model it is converted to."""


def head_rules(model_keys: Sequence[str]) -> Tuple[Tuple[str, str], ...]:
    """Rules for the reference's ``stage<n>.final_layer``: CPMHead's
    ``multi_final_layers.<n-1>`` in a two-stage model, HeatmapHead's
    ``final_layer`` in a one-stage one."""
    if any(k.startswith('head.multi_final_layers.') for k in model_keys):
        return ((r'stage1\.final_layer\.', 'head.multi_final_layers.0.'),
                (r'stage2\.final_layer\.', 'head.multi_final_layers.1.'))
    return ((r'stage1\.final_layer\.', 'head.final_layer.'), )


def map_name(
    name: str, heads: Sequence[Tuple[str, str]] = ()) -> Optional[str]:
    """The name here of the reference's tensor ``name``, or None when no
    rule covers it."""
    prefix, leaf = name.rsplit('.', 1) if '.' in name else ('', name)
    if leaf not in LEAVES:
        return None
    prefix += '.'
    for pattern, target in tuple(PREFIX_RULES) + tuple(heads):
        match = re.match(pattern, prefix)
        if match is None:
            continue
        rest = prefix[match.end():]
        mapped = match.expand(target)
        if not prefix.startswith(CELL_PREFIXES):
            return mapped + leaf if not rest else None
        for cell_pattern, cell_target in CELL_RULES:
            inner = re.fullmatch(cell_pattern, rest)
            if inner is not None:
                return mapped + inner.expand(cell_target) + leaf
        return None
    return None


def strip_wrapper(state: Mapping[str, Any]) -> Dict[str, Any]:
    """``state`` without DataParallel's ``module.`` prefixes."""
    return {
        (k[len('module.'):] if k.startswith('module.') else k): v
        for k, v in state.items()
    }


def reference_state_dict(checkpoint: Any, where: str) -> Dict[str, Tensor]:
    """The reference's state dict from any of the shapes its scripts save:
    ``{'state_dict': {'module.…': …}, …}`` (``train.py``) or a bare state
    dict (``model_best.pth``, ``final_state.pth``), prefixes stripped.

    Raises:
        ReferenceConversionError: Not a mapping of names to tensors; names
            ``where`` and the first entry that is not a tensor.
    """
    if not isinstance(checkpoint, Mapping):
        raise ReferenceConversionError(
            f'{where} holds a {type(checkpoint).__name__}, not a checkpoint '
            f'(a dict of tensors, or a dict with "state_dict")')
    state = checkpoint
    for key in CHECKPOINT_KEYS:
        if isinstance(checkpoint.get(key), Mapping):
            state = checkpoint[key]
            break
    state = strip_wrapper(state)
    for k, v in state.items():
        if not isinstance(k, str) or not torch.is_tensor(v):
            raise ReferenceConversionError(
                f'{where}: entry {k!r} is a {type(v).__name__}, not a '
                f'tensor; this is not a state dict of the reference code '
                f'(expected a dict of tensors, or one under "state_dict")')
    if not state:
        raise ReferenceConversionError(f'{where} holds no tensors')
    return state


@dataclass(frozen=True)
class ReferenceLayout:
    """What a reference state dict's shapes say about its network.

    Args:
        num_cells (int): L, the encoder's cells.
        base_channels (int): C, the stem's width.
        reduction_indices (tuple[int]): The encoder's reduction cells.
        num_joints (int): K, the heatmaps.
        num_stages (int): 1, or 2 with the refinement stage.
    """
    num_cells: int
    base_channels: int
    reduction_indices: Tuple[int, ...]
    num_joints: int
    num_stages: int


def _require(state: Mapping[str, Tensor], name: str, where: str) -> Tensor:
    if name not in state:
        raise ReferenceConversionError(
            f'{where} has no tensor {name!r}: it is not a checkpoint of the '
            f'reference AutoPose network')
    return state[name]


def read_layout(state: Mapping[str, Tensor], where: str) -> ReferenceLayout:
    """Read L, C, the reductions, K and the stages from the tensor shapes.

    A reduction cell is the one before a cell whose older input goes
    through a factorized reduce (``cells.<i>.preprocess0.conv1``).
    """
    stem = _require(state, 'stem0.0.weight', where)
    head = _require(state, 'stage1.final_layer.weight', where)
    cells = {
        int(m.group(1))
        for m in (re.match(r'cells\.(\d+)\.', k) for k in state) if m
    }
    if not cells:
        raise ReferenceConversionError(f'{where} has no encoder cells '
                                       f'(cells.<i>.*)')
    reductions = tuple(
        sorted(i - 1 for i in cells
               if f'cells.{i}.preprocess0.conv1.weight' in state))
    return ReferenceLayout(
        num_cells=max(cells) + 1,
        base_channels=int(stem.shape[0]),
        reduction_indices=reductions,
        num_joints=int(head.shape[0]),
        num_stages=2 if any(k.startswith('stage2.') for k in state) else 1)


def convert_reference(state: Mapping[str, Tensor],
                      model_state: Mapping[str, Tensor],
                      where: str) -> Dict[str, Tensor]:
    """Rename the reference's tensors to the model's and check them.

    Args:
        state (dict): The reference's state dict (prefixes stripped).
        model_state (dict): ``model.state_dict()`` of the model to load.
        where (str): The source file, for the messages.

    Returns:
        dict: The model's keys, in its order, with the reference's tensors.

    Raises:
        ReferenceConversionError: A tensor that no rule covers, that maps to
            no tensor of the model, or whose shape differs; two tensors
            mapped to one; a model tensor left without a value. Each names
            the tensors.
    """
    heads = head_rules(list(model_state))
    converted: Dict[str, Tensor] = {}
    source: Dict[str, str] = {}
    unmapped, extra, shapes = [], [], []
    for name, value in state.items():
        target = map_name(name, heads)
        if target is None:
            unmapped.append(name)
        elif target not in model_state:
            extra.append(f'{name} (-> {target})')
        elif target in converted:
            raise ReferenceConversionError(
                f'{where}: tensors {source[target]!r} and {name!r} both map '
                f'to {target!r}')
        elif tuple(value.shape) != tuple(model_state[target].shape):
            shapes.append(f'{name}: {tuple(value.shape)} vs {target}: '
                          f'{tuple(model_state[target].shape)}')
        else:
            converted[target] = value
            source[target] = name
    named = {map_name(n, heads) for n in state}
    missing = [k for k in model_state if k not in named]
    problems: List[str] = []
    for title, items in (('tensors no rule covers', unmapped),
                         ('tensors the model has no place for',
                          extra), ('tensors of another shape', shapes),
                         ('model tensors the checkpoint lacks', missing)):
        if items:
            shown = ', '.join(items[:6])
            more = f' and {len(items) - 6} more' if len(items) > 6 else ''
            problems.append(f'\n  {len(items)} {title}: {shown}{more}')
    if problems:
        raise ReferenceConversionError(
            f'{where} does not fit the model:{"".join(problems)}\nGive the '
            f'config of the network the checkpoint was trained as (--config): '
            f'its preset, joints, stages and genotype must be the '
            f'checkpoint\'s; nothing was written')
    return {k: converted[k].detach().clone() for k in model_state}


def preset_config_name(layout: ReferenceLayout, where: str) -> str:
    """The name of the shipped config (``configs/autopose/<name>.py``) of
    the preset a reference checkpoint was trained as.

    Raises:
        ReferenceConversionError: L, C and the reductions are no preset, or
            K is neither COCO's 17 nor MPII's 16 joints; names the fix.
    """
    preset = None
    for arch, settings in ARCH_SETTINGS.items():
        if (settings['num_cells'], settings['base_channels'],
                tuple(settings['reduction_indices'])) == (
                    layout.num_cells, layout.base_channels,
                    layout.reduction_indices):
            preset = arch
    if preset is None:
        raise ReferenceConversionError(
            f'{where}: L={layout.num_cells}, C={layout.base_channels} with '
            f'reductions at cells {list(layout.reduction_indices)} is none '
            f'of the presets ({", ".join(ARCH_SETTINGS)}); give the config '
            f'of that network with --config')
    datasets = {17: 'coco_256x192', 16: 'mpii_256x256'}
    if layout.num_joints not in datasets:
        raise ReferenceConversionError(
            f'{where}: stage1.final_layer makes {layout.num_joints} heatmaps, '
            f'neither COCO\'s 17 nor MPII\'s 16; give the config of its '
            f'data set with --config')
    name = preset.lower().replace('-', '_')
    return f'{name}_{datasets[layout.num_joints]}'
