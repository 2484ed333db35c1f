"""Zero-cost proxies: scores of an untrained network that are meant to
rank candidates before any training.

- ``synflow`` (Tanaka et al. 2020): with every weight replaced by its
  magnitude and an all-ones input, the sum over weights of
  ``|w * dR/dw|``, where ``R`` is the sum of the network's outputs (of
  every stage); needs no data.
- ``zico`` (Li et al. 2023): per layer, the log of the summed ratio of the
  mean to the standard deviation of each weight's gradient over training
  batches, summed over layers; needs two or more batches of real data.

Both are computed on the whole pose estimator (backbone, neck and head),
synflow in double precision (its products overflow single precision),
BatchNorm layers in the mode each function names.
"""
import copy
import math
import time
from typing import Dict, List, Sequence

import torch
from mmengine.config import Config
from mmengine.runner import Runner, set_random_seed
from mmpose.registry import MODELS

from autopose_mm.models.genotype import Genotype
from autopose_mm.utils.complexity import count_params

__all__ = ['build_candidate', 'train_batches', 'synflow', 'zico', 'proxies']


def build_candidate(cfg: Config, genotype: Genotype, seed: int = 0):
    """The config's model built from ``genotype``, freshly initialised
    with ``seed``."""
    cfg = copy.deepcopy(cfg)
    cfg.model.genotype = genotype.to_dict()
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def train_batches(cfg: Config, count: int, seed: int = 0) -> List[Dict]:
    """The first ``count`` batches of the config's training data (its
    pipeline and augmentation), loaded in this process; the same for the
    same ``seed``."""
    set_random_seed(seed)  # the augmentation draws from the global RNGs
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.num_workers = 0
    loader_cfg.persistent_workers = False
    loader = Runner.build_dataloader(loader_cfg, seed=seed)
    batches = []
    for batch in loader:
        batches.append(batch)
        if len(batches) == count:
            return batches
    raise ValueError(f'the training data of the config has fewer than '
                     f'{count} batches; zico needs {count}')


def _weights(model: torch.nn.Module) -> List[torch.nn.Parameter]:
    """Weights of convolutions and linear layers (no biases, no norms)."""
    return [
        m.weight for m in model.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))
    ]


def synflow(model: torch.nn.Module, input_size: Sequence[int]) -> float:
    """The synflow score (log10) of ``model`` for one input of
    ``input_size`` (H, W); BatchNorm in eval mode (an all-ones input
    would be normalised to zero in train mode).

    Raises:
        FloatingPointError: When the score is not finite.
    """
    net = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    x = torch.ones((1, 3) + tuple(input_size), dtype=torch.float64)
    out = net._forward(x)
    outs = out if isinstance(out, (list, tuple)) else [out]
    sum(o.sum() for o in outs).backward()
    total = sum(
        float((w.detach() * w.grad).abs().sum()) for w in _weights(net)
        if w.grad is not None)
    if not (math.isfinite(total) and total > 0):
        raise FloatingPointError(f'synflow score is {total}')
    return math.log10(total)


def zico(model: torch.nn.Module, batches: Sequence[Dict]) -> float:
    """The ZiCo score of ``model`` over training ``batches`` (two or more);
    BatchNorm in train mode, as in training.

    Raises:
        FloatingPointError: When the score is not finite.
    """
    if len(batches) < 2:
        raise ValueError(f'zico needs two or more batches, got '
                         f'{len(batches)}')
    net = copy.deepcopy(model).train()
    weights = _weights(net)
    grads: List[List[torch.Tensor]] = [[] for _ in weights]
    for batch in batches:
        net.zero_grad()
        data = net.data_preprocessor(batch, True)
        losses = net.loss(data['inputs'], data['data_samples'])
        loss, _ = net.parse_losses(losses)
        loss.backward()
        for i, w in enumerate(weights):
            grads[i].append(w.grad.detach().clone().flatten())
    score = 0.
    for g in grads:
        g = torch.stack(g)
        std = g.std(0)
        keep = std > 0
        ratio = float((g.abs().mean(0)[keep] / std[keep]).sum())
        if ratio > 0:
            score += math.log(ratio)
    if not math.isfinite(score):
        raise FloatingPointError(f'zico score is {score}')
    return score


def proxies(cfg: Config,
            genotype: Genotype,
            batches: Sequence[Dict],
            seed: int = 0) -> Dict[str, Dict[str, float]]:
    """Every zero-cost proxy and the parameter count of the config's
    network built from ``genotype``, each with the seconds it took."""
    out = {}
    start = time.time()
    model = build_candidate(cfg, genotype, seed)
    params = float(count_params(model))
    out['params'] = dict(value=params, seconds=time.time() - start)
    w, h = cfg.codec['input_size']
    start = time.time()
    out['synflow'] = dict(
        value=synflow(model, (h, w)), seconds=time.time() - start)
    start = time.time()
    out['zico'] = dict(value=zico(model, batches), seconds=time.time() - start)
    return out
