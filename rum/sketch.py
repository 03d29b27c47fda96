"""A mergeable log-bucketed histogram (DDSketch style) with 1 % relative accuracy.

A value v > 0 falls in bucket ceil(log_gamma(v)); every value in a bucket is
within 1 % of the bucket's representative. Histograms merge by adding counts,
so the p75 of any set of hours is exact to the bucket width.
Stored as {"bucket": count} with string keys (JSON); "z" counts zeros.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping

RELATIVE_ACCURACY = 0.01
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
LOG_GAMMA = math.log(GAMMA)
ZERO = "z"
# Values below this count as zero (CLS of 0.000001 is no shift worth telling apart).
MIN_VALUE = 1e-6


def bucket(value: float) -> str:
    if value < MIN_VALUE:
        return ZERO
    return str(math.ceil(math.log(value) / LOG_GAMMA))


def representative(key: str) -> float:
    if key == ZERO:
        return 0.0
    return 2 * GAMMA ** int(key) / (GAMMA + 1)


def build(values: Iterable[float]) -> dict[str, int]:
    return dict(Counter(bucket(v) for v in values))


def merge(histograms: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: Counter = Counter()
    for histogram in histograms:
        total.update(histogram)
    return dict(total)


def _ordered(histogram: Mapping[str, int]) -> list[tuple[float, int]]:
    return sorted((representative(k), n) for k, n in histogram.items() if n > 0)


def quantile(histogram: Mapping[str, int], q: float) -> float | None:
    """The value at rank q * (n - 1) (the lower order statistic), within 1 %; None if empty."""
    ordered = _ordered(histogram)
    total = sum(n for _, n in ordered)
    if total == 0:
        return None
    rank = q * (total - 1)
    seen = 0
    for value, n in ordered:
        seen += n
        if seen > rank:
            return value
    return ordered[-1][0]


def points(histogram: Mapping[str, int]) -> list[tuple[float, int]]:
    """(value, count) pairs in value order, for drawing the distribution."""
    return _ordered(histogram)
