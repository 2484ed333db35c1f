"""Build a pose model from a config and a checkpoint for deployment, with
the checkpoint's genotype and strict weight loading."""
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from torch import nn

from ..engine.guards import check_checkpoint, stored_genotype
from ..utils.checkpoint import load_from_local_safely


def load_pose_model(config: str,
                    checkpoint: Optional[str],
                    genotype: Optional[str] = None,
                    partial: bool = False) -> Tuple[nn.Module, Config]:
    """The config's model in eval mode, with the checkpoint's weights.

    The genotype is ``genotype`` if given, else the one the checkpoint
    records, else the config's. The checkpoint must fit the model
    (:func:`autopose_mm.engine.guards.check_checkpoint`) unless ``partial``.
    Without a checkpoint the weights stay random (for export tests and
    latency).

    Returns:
        tuple: The model and the config it was built from.
    """
    from mmpose.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    state = None
    if checkpoint is not None:
        state = load_from_local_safely(checkpoint, map_location='cpu')
    if genotype is not None:
        cfg.model.genotype = genotype
    elif state is not None and stored_genotype(state, checkpoint) is not None:
        cfg.model.genotype = stored_genotype(state, checkpoint)
        print_log(
            f'using the genotype stored in {checkpoint}', logger='current')
    for part in ('backbone', 'neck', 'head'):
        if part in cfg.model and 'init_cfg' in cfg.model[part]:
            cfg.model[part].init_cfg = None
    model = MODELS.build(cfg.model)
    if state is not None:
        check_checkpoint(model, state, checkpoint, partial)
        weights = state.get('state_dict', state)
        weights = {
            k[len('module.'):] if k.startswith('module.') else k: v
            for k, v in weights.items()
        }
        model.load_state_dict(weights, strict=not partial)
    return model.eval(), cfg
