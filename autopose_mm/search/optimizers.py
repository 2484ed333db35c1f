"""Separate optimisers for the network weights and the architecture."""
import copy
from typing import Optional

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmpose.registry import (
    OPTIM_WRAPPER_CONSTRUCTORS,
    OPTIM_WRAPPERS,
    OPTIMIZERS,
)

from .algorithms import find_controller
from .space import arch_modules


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class SearchOptimWrapperConstructor:
    """Build ``OptimWrapperDict(weights=..., arch=...)`` for a supernet.

    The ``arch`` optimiser gets the parameters of every
    :class:`~autopose_mm.search.space.ArchParams` module of the model; for the
    bi-level search, the optional ``controller`` optimiser gets those of the
    :class:`~autopose_mm.search.space.LayoutController`; the ``weights``
    optimiser all the others.

    Example::

        optim_wrapper = dict(
            constructor='SearchOptimWrapperConstructor',
            weights=dict(optimizer=dict(type='SGD', lr=1e-3, momentum=0.9,
                                        weight_decay=1e-4)),
            arch=dict(optimizer=dict(type='Adam', lr=4e-4,
                                     betas=(0.5, 0.999), weight_decay=1e-4)))

    Args:
        optim_wrapper_cfg (dict): ``weights`` and ``arch`` optimiser wrapper
            configs (each with ``optimizer`` and optionally ``type``).
        paramwise_cfg (dict, optional): Not supported; must be None.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        missing = {'weights', 'arch'} - set(optim_wrapper_cfg)
        if missing:
            raise ValueError(
                f'the search optim_wrapper needs "weights" and "arch" '
                f'entries; missing: {", ".join(sorted(missing))}')
        if paramwise_cfg:
            raise ValueError('SearchOptimWrapperConstructor does not take a '
                             'paramwise_cfg')
        self.cfg = copy.deepcopy(dict(optim_wrapper_cfg))

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        arch = [p for m in arch_modules(model) for p in m.parameters()]
        if not arch:
            raise ValueError('the model has no ArchParams: use the search '
                             'backbone/neck (AutoPoseSearchNet, '
                             'AutoPoseSearchDecoder)')
        found = find_controller(model)
        controller = list(found.parameters()) if found else []
        if controller and 'controller' not in self.cfg:
            raise ValueError('the model has a LayoutController: add a '
                             '"controller" entry to the search optim_wrapper')
        taken = {id(p) for p in arch + controller}
        weights = [p for p in model.parameters() if id(p) not in taken]
        groups = [('weights', weights), ('arch', arch)]
        if controller:
            groups.append(('controller', controller))
        wrappers = {}
        for name, params in groups:
            cfg = copy.deepcopy(self.cfg[name])
            optimizer_cfg = cfg.pop('optimizer')
            optimizer = OPTIMIZERS.build(dict(optimizer_cfg, params=params))
            cfg.setdefault('type', 'OptimWrapper')
            wrappers[name] = OPTIM_WRAPPERS.build(
                dict(cfg, optimizer=optimizer))
        return OptimWrapperDict(**wrappers)
