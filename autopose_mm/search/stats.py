"""Statistics for judging a search: did it beat random architectures?"""
import math
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
from scipy import stats


def summarize(values: Sequence[float]) -> Dict[str, float]:
    """n, mean, sample std (0 for one value), best, worst."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError('no values to summarize')
    return dict(
        n=int(v.size),
        mean=float(v.mean()),
        std=float(v.std(ddof=1)) if v.size > 1 else 0.0,
        best=float(v.max()),
        worst=float(v.min()))


def welch_greater(a: Sequence[float], b: Sequence[float]) -> Optional[float]:
    """One-sided p-value of Welch's t-test that mean(a) > mean(b); ``None``
    when a group has fewer than two values or both have no spread."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 2 or b.size < 2:
        return None
    if a.std(ddof=1) == 0 and b.std(ddof=1) == 0:
        return None
    return float(
        stats.ttest_ind(a, b, equal_var=False, alternative='greater').pvalue)


def seed_std(per_item: Sequence[Sequence[float]]) -> Optional[float]:
    """The pooled standard deviation of repeated measurements of the same
    items (e.g. one genotype trained with several seeds): the square root
    of the within-item sample variances, weighted by their degrees of
    freedom; ``None`` when no item has two values."""
    dof = sum(len(v) - 1 for v in per_item if len(v) > 1)
    if dof == 0:
        return None
    ss = sum(
        float(((np.asarray(v, float) - np.mean(v))**2).sum()) for v in per_item
        if len(v) > 1)
    return math.sqrt(ss / dof)


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> Optional[float]:
    """Kendall's tau-b between two scorings of the same items; ``None``
    for fewer than three items or a constant scoring."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size != y.size:
        raise ValueError(f'kendall_tau needs paired values, got {x.size} '
                         f'and {y.size}')
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(stats.kendalltau(x, y).statistic)


def rank_among(value: float, others: Sequence[float]) -> int:
    """1 + how many of ``others`` are strictly better (higher)."""
    return 1 + int(sum(o > value for o in others))


def normalized_entropy(weights: Sequence[float]) -> float:
    """Entropy of a distribution over its non-zero entries, divided by the
    entropy of the uniform one over those entries (1 = uniform)."""
    p = np.asarray([w for w in weights if w > 0], dtype=float)
    if p.size < 2:
        return 0.0
    p = p / p.sum()
    return float(-(p * np.log(p)).sum() / math.log(p.size))


def max_over_uniform(weights: Sequence[float]) -> float:
    """The strongest entry of a distribution over the uniform weight of its
    non-zero entries (1 = uniform)."""
    p = np.asarray([w for w in weights if w > 0], dtype=float)
    return float(p.max() * p.size / p.sum())


def history_movement(history: Mapping) -> List[Dict]:
    """Per epoch of a ``search_history.json`` and per cell type, the mean
    over edges of the normalised entropy of the operation weights and of
    the strongest operation's weight over uniform."""
    out = []
    for record in history['epochs']:
        row: Dict = dict(epoch=record['epoch'], cells={})
        for cell, data in record['cells'].items():
            alphas = data['alphas']
            row['cells'][cell] = dict(
                entropy=float(
                    np.mean([normalized_entropy(e) for e in alphas])),
                max_over_uniform=float(
                    np.mean([max_over_uniform(e) for e in alphas])))
        out.append(row)
    return out
