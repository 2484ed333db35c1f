"""What a network costs: analytic GMACs, latency lookup tables and their
blocks, and the budgets a search rewards against."""
from .blocks import (
    CALL_BLOCK,
    Block,
    build_block,
    build_network,
    network_blocks,
    network_runner,
    space_blocks,
)
from .budgets import Budget, GMACsBudget, LatencyBudget
from .config import config_gmacs, config_latency, config_layout
from .macs import analytic_macs
from .table import (
    ENTRY,
    TABLE_FORMAT,
    LatencyTable,
    TableMismatch,
    check_table_fields,
    mape,
    measure_networks,
    measure_table,
    random_networks,
    validate,
)

__all__ = [
    'CALL_BLOCK', 'Block', 'build_block', 'build_network', 'network_blocks',
    'network_runner', 'space_blocks', 'Budget', 'GMACsBudget', 'LatencyBudget',
    'config_gmacs', 'config_latency', 'config_layout', 'analytic_macs',
    'ENTRY', 'TABLE_FORMAT', 'LatencyTable', 'TableMismatch',
    'check_table_fields', 'mape', 'measure_networks', 'measure_table',
    'random_networks', 'validate'
]
