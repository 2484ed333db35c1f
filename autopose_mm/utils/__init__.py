"""Utilities: safe checkpoint loading, distributed start-up on any device,
atomic file writes and dataset path checks."""
from .checkpoint import (UnsafeCheckpointError, install_safe_loader,
                         load_from_local_safely, safe_globals)
from .data_check import check_data_paths
from .dist import DeviceAgnosticDDP, init_dist_for_device
from .io import atomic_write, atomic_write_text

__all__ = [
    'UnsafeCheckpointError', 'install_safe_loader', 'load_from_local_safely',
    'safe_globals', 'check_data_paths', 'DeviceAgnosticDDP',
    'init_dist_for_device', 'atomic_write', 'atomic_write_text'
]
