"""Cost budgets of the network-level search: what a layout costs, and the
penalty a reward pays for missing the target.

Both budgets share one reward form: ``weight * |cost / target - 1|`` is
subtracted from the controller's accuracy reward.
"""
from typing import Dict, Optional, Sequence, Tuple

from ...models.genotype import Genotype
from .blocks import space_blocks
from .macs import analytic_macs
from .table import LatencyTable


class Budget:
    """A target cost and the weight of missing it.

    Args:
        target (float): The budget, in the unit of :meth:`cost`.
        weight (float): Weight of the penalty. Defaults to 1.
    """

    name = 'cost'

    def __init__(self, target: float, weight: float = 1.0) -> None:
        if not target > 0:
            raise ValueError(f'{type(self).__name__} target must be > 0, '
                             f'got {target!r}')
        self.target = float(target)
        self.weight = float(weight)

    def cost(self, genotype: Genotype, layout: Sequence[int],
             input_size: Tuple[int, int]) -> float:
        raise NotImplementedError

    def penalty(self, cost: float) -> float:
        """``weight * |cost / target - 1|``."""
        return self.weight * abs(cost / self.target - 1)

    def record(self, genotype: Genotype, layout: Sequence[int],
               input_size: Tuple[int, int]) -> Dict:
        """What a written genotype keeps about this budget."""
        return dict(
            target=self.target,
            predicted=self.cost(genotype, layout, input_size))


class GMACsBudget(Budget):
    """A compute budget: the analytic GMACs of the derived network at the
    search's input size and width.

    Args:
        target (float): GMACs.
        base_channels (int): C of the searched network.
        num_keypoints (int): Heatmap channels.
        weight (float): Weight of the penalty.
    """

    name = 'gmacs'

    def __init__(self,
                 target: float,
                 base_channels: int,
                 num_keypoints: int = 17,
                 weight: float = 1.0) -> None:
        super().__init__(target, weight)
        self.base_channels = base_channels
        self.num_keypoints = num_keypoints

    def cost(self, genotype: Genotype, layout: Sequence[int],
             input_size: Tuple[int, int]) -> float:
        return analytic_macs(genotype, layout, self.base_channels, input_size,
                             self.num_keypoints) / 1e9


class LatencyBudget(Budget):
    """A latency budget: the batch-1 latency (ms) that a lookup table
    predicts for the derived network, at the table's own width and input
    size (those of the deployed network, which may differ from the
    search's proxy).

    Args:
        target (float): Milliseconds.
        table (str | LatencyTable): The lookup table, or its JSON file.
        weight (float): Weight of the penalty.
        check (str): What to do with a table measured on another device
            or library versions (``'warn'``, ``'error'``, ``'ignore'``).
    """

    name = 'latency_ms'

    def __init__(self,
                 target: float,
                 table,
                 weight: float = 1.0,
                 check: str = 'warn') -> None:
        super().__init__(target, weight)
        if isinstance(table, str):
            table = LatencyTable.load(table, check)
        self.table = table

    def check_covers(self, layouts: Sequence[Sequence[int]],
                     candidates: Sequence[str], nodes: int) -> None:
        """Fail now, naming the table, if a network the search may derive
        has a block the table lacks."""
        s = self.table.setting
        needed = space_blocks(candidates, layouts, s['base_channels'],
                              tuple(s['input_size']), s['num_keypoints'],
                              nodes)
        missing = [k for k in needed if k not in self.table.entries]
        if missing:
            raise ValueError(
                f'latency table {self.table.path} lacks {len(missing)} '
                f'block(s) of this search space (e.g. {missing[0]!r}): it '
                f'was built for layouts {s["layouts"]} and candidates '
                f'{s["candidates"]}; rebuild it with '
                f'tools/analysis/latency_table.py --config <this config>')

    def cost(self,
             genotype: Genotype,
             layout: Sequence[int],
             input_size: Optional[Tuple[int, int]] = None) -> float:
        return self.table.predict(genotype, layout)

    def record(self, genotype: Genotype, layout: Sequence[int],
               input_size: Tuple[int, int]) -> Dict:
        return dict(super().record(genotype, layout, input_size),
                    **self.table.summary())
