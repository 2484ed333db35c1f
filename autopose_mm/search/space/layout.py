"""The network-level search space: how the encoder's cells spread over the
four scales, and the policy that samples it."""
import itertools
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import Tensor

Layout = Tuple[int, ...]


class LayoutSpace:
    """All cells-per-scale layouts ``(n1, n2, n3, n4)`` of the encoder.

    Args:
        num_cells (int | Sequence[int]): The allowed totals L; a single
            value fixes the depth, several let the search choose it.
        min_cells (int): Fewest cells per scale. Defaults to 1.
        max_cells (int, optional): Most cells per scale. Defaults to the
            largest L minus ``3 * min_cells``.
    """

    def __init__(self,
                 num_cells: Union[int, Sequence[int]] = 12,
                 min_cells: int = 1,
                 max_cells: Optional[int] = None) -> None:
        totals = [num_cells] if isinstance(num_cells, int) else list(num_cells)
        if min_cells < 1 or any(t < 4 * min_cells for t in totals):
            raise ValueError(
                f'every scale needs at least one cell: min_cells must be '
                f'>= 1 and each num_cells >= 4 * min_cells, got '
                f'num_cells={num_cells}, min_cells={min_cells}')
        top = max_cells or max(totals) - 3 * min_cells
        self.layouts: List[Layout] = [
            layout for layout in itertools.product(
                range(min_cells, top + 1), repeat=4) if sum(layout) in totals
        ]
        if not self.layouts:
            raise ValueError(f'no layout has {totals} cells with '
                             f'{min_cells}..{top} cells per scale')
        self.max_per_scale: Layout = tuple(
            max(layout[s] for layout in self.layouts) for s in range(4))

    def __len__(self) -> int:
        return len(self.layouts)

    def index(self, layout: Sequence[int]) -> int:
        return self.layouts.index(tuple(layout))


@MODELS.register_module()
class LayoutController(nn.Module):
    """A factorised categorical policy over the layouts of a
    :class:`LayoutSpace`, trained by REINFORCE with a moving-average
    baseline and an entropy bonus.

    A layout is drawn factor by factor: the depth L (when several are
    allowed), then the cells of the 1/4, 1/8 and 1/16 scales, each from its
    own logits masked to the counts that can still complete a layout; the
    1/32 scale takes the rest. Credit thus spreads over layouts that share
    a choice, which learns far faster than one flat categorical.

    The logits are parameters without ``requires_grad``: the policy takes
    no part in the network's forward pass (so DDP ignores it), and
    :meth:`reinforce` computes their gradient itself.

    Args:
        space (LayoutSpace): The layouts.
        baseline_momentum (float): Momentum of the reward baseline.
        entropy_weight (float): Weight of the entropy bonus.
    """

    def __init__(self,
                 space: LayoutSpace,
                 baseline_momentum: float = 0.9,
                 entropy_weight: float = 1e-3) -> None:
        super().__init__()
        self.space = space
        self.baseline_momentum = baseline_momentum
        self.entropy_weight = entropy_weight
        totals = sorted({sum(layout) for layout in space.layouts})
        options = max(space.max_per_scale) + 1
        self.depth_logits = nn.Parameter(
            torch.zeros(len(totals)), requires_grad=False)
        self.scale_logits = nn.Parameter(
            torch.zeros(3, options), requires_grad=False)
        self.register_buffer('baseline', torch.zeros(()))
        self.register_buffer('steps', torch.zeros((), dtype=torch.long))
        # For every layout: its choice of each factor and the options that
        # were open at that point (all layouts are enumerated).
        n = len(space.layouts)
        choice = torch.zeros(4, n, dtype=torch.long)
        masks = [torch.zeros(n, len(totals), dtype=torch.bool)] + [
            torch.zeros(n, options, dtype=torch.bool) for _ in range(3)
        ]
        for j, layout in enumerate(space.layouts):
            total = sum(layout)
            choice[0, j] = totals.index(total)
            masks[0][j] = True
            for f in range(3):
                choice[f + 1, j] = layout[f]
                for other in space.layouts:
                    if sum(other) == total and other[:f] == layout[:f]:
                        masks[f + 1][j, other[f]] = True
        self.register_buffer('choice', choice, persistent=False)
        for f, mask in enumerate(masks):
            self.register_buffer(f'mask_{f}', mask, persistent=False)

    def log_probs(self,
                  depth_logits: Optional[Tensor] = None,
                  scale_logits: Optional[Tensor] = None) -> Tensor:
        """Log-probability of every layout of the space."""
        depth = self.depth_logits if depth_logits is None else depth_logits
        scale = self.scale_logits if scale_logits is None else scale_logits
        rows = torch.arange(len(self.space.layouts))
        total = 0.
        for f, logits in enumerate([depth] + list(scale)):
            masked = logits.expand_as(getattr(self, f'mask_{f}')).masked_fill(
                ~getattr(self, f'mask_{f}'), float('-inf'))
            total = total + F.log_softmax(masked, -1)[rows, self.choice[f]]
        return total

    def probs(self) -> Tensor:
        return self.log_probs().exp()

    def sample(self, generator: Optional[torch.Generator] = None) -> int:
        """Index of a layout drawn from the policy."""
        return int(torch.multinomial(self.probs(), 1, generator=generator))

    def best(self) -> Layout:
        """The most probable layout."""
        return self.space.layouts[int(self.log_probs().argmax())]

    def ranked(self) -> List[Layout]:
        """All layouts, the most probable first."""
        order = torch.argsort(self.log_probs(), descending=True)
        return [self.space.layouts[int(i)] for i in order]

    def reinforce(self, index: int, reward: float) -> float:
        """Set the logits' gradients to the REINFORCE gradient of
        ``-(reward - baseline) * log p(layout) - entropy_weight * H(p)`` and
        update the baseline. Returns the advantage."""
        if int(self.steps) == 0:
            self.baseline.fill_(reward)
        advantage = reward - float(self.baseline)
        depth = self.depth_logits.detach().requires_grad_()
        scale = self.scale_logits.detach().requires_grad_()
        log_p = self.log_probs(depth, scale)
        entropy = -(log_p.exp() * log_p).sum()
        loss = -advantage * log_p[index] - self.entropy_weight * entropy
        self.depth_logits.grad, self.scale_logits.grad = torch.autograd.grad(
            loss, [depth, scale], allow_unused=False)
        m = self.baseline_momentum
        self.baseline.mul_(m).add_((1 - m) * reward)
        self.steps.add_(1)
        return advantage
