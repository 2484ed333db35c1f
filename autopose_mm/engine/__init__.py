"""The guard hooks that stop a run on a mismatched checkpoint or a
non-finite loss or prediction, and the checks behind them."""
from .guards import (
    GUARD_HOOKS,
    CheckpointGuardHook,
    CheckpointMismatchError,
    NonFiniteLossHook,
)

__all__ = [
    'GUARD_HOOKS', 'CheckpointGuardHook', 'CheckpointMismatchError',
    'NonFiniteLossHook'
]
