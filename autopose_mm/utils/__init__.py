"""Utilities: safe checkpoint loading, distributed start-up on any device,
atomic file writes and dataset path checks."""
from .checkpoint import (
    CheckpointReadError,
    UnsafeCheckpointError,
    install_safe_loader,
    load_from_local_safely,
    pickled_globals,
    safe_globals,
)
from .data_check import DataFileError, check_data_files, check_data_paths
from .dist import DeviceAgnosticDDP, init_dist_for_device
from .io import atomic_write, atomic_write_text

__all__ = [
    'CheckpointReadError', 'UnsafeCheckpointError', 'pickled_globals',
    'install_safe_loader', 'load_from_local_safely', 'safe_globals',
    'DataFileError', 'check_data_files', 'check_data_paths',
    'DeviceAgnosticDDP', 'init_dist_for_device', 'atomic_write',
    'atomic_write_text'
]
