"""Distributed start-up that works on CPU-only machines as well as GPUs.

MMEngine's launchers call ``torch.cuda.set_device`` unconditionally and hand
GPU ``device_ids`` to DDP, so ``--launcher pytorch`` fails on a machine
without CUDA. :func:`init_dist_for_device` starts a ``gloo`` process group
itself when CUDA is absent (MMEngine then sees it initialised and leaves it
alone) and selects :class:`DeviceAgnosticDDP`, which drops the GPU ids.
"""
import os
import subprocess
from typing import Any

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class DeviceAgnosticDDP(MMDistributedDataParallel):
    """:class:`MMDistributedDataParallel` that also wraps CPU modules.

    MMEngine passes ``device_ids=[LOCAL_RANK]``; DDP only accepts device ids
    for modules on a single GPU, so they are dropped for CPU modules.
    """

    def __init__(self, module: torch.nn.Module, **kwargs: Any) -> None:
        if not torch.cuda.is_available() or next(
                module.parameters()).device.type != 'cuda':
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        super().__init__(module=module, **kwargs)


def _set_env_from_launcher(launcher: str) -> None:
    """Fill RANK / WORLD_SIZE / LOCAL_RANK / MASTER_* for slurm and mpi."""
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
        if 'MASTER_ADDR' not in os.environ:
            node_list = os.environ['SLURM_NODELIST']
            os.environ['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {node_list} | head -n1')
        os.environ.setdefault('MASTER_PORT', '29500')
    elif launcher == 'mpi':
        os.environ.setdefault('RANK', os.environ['OMPI_COMM_WORLD_RANK'])
        os.environ.setdefault('WORLD_SIZE', os.environ['OMPI_COMM_WORLD_SIZE'])
        os.environ.setdefault('LOCAL_RANK',
                              os.environ['OMPI_COMM_WORLD_LOCAL_RANK'])
        os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
        os.environ.setdefault('MASTER_PORT', '29500')


def init_dist_for_device(launcher: str, cfg: Config) -> None:
    """Prepare ``cfg`` (and, on CPU, the process group) for ``launcher``.

    On GPUs this only fills in ``env_cfg.dist_cfg.backend='nccl'`` when the
    config names none, and MMEngine starts the processes' group as usual. On
    a machine without CUDA it starts a ``gloo`` group from the launcher's
    environment variables and sets ``model_wrapper_cfg`` to
    :class:`DeviceAgnosticDDP` (keeping the config's other wrapper options).

    Args:
        launcher (str): ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        cfg (Config): The run's config; updated in place.
    """
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if torch.cuda.is_available():
        dist_cfg.setdefault('backend', 'nccl')
        return
    dist_cfg['backend'] = 'gloo'
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    if wrapper.get(
            'type',
            'MMDistributedDataParallel') in ('MMDistributedDataParallel',
                                             'DeviceAgnosticDDP'):
        wrapper['type'] = 'DeviceAgnosticDDP'
        wrapper.setdefault('broadcast_buffers', False)
        wrapper.setdefault('find_unused_parameters',
                           cfg.get('find_unused_parameters', False))
        cfg.model_wrapper_cfg = wrapper
    if torch_dist.is_available() and not torch_dist.is_initialized():
        _set_env_from_launcher(launcher)
        kwargs = {k: v for k, v in dist_cfg.items() if k != 'backend'}
        if 'timeout' in kwargs:
            from datetime import timedelta
            kwargs['timeout'] = timedelta(seconds=kwargs['timeout'])
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)
