"""The one log-bucketed sketch (DDSketch style) behind every percentile in the product.

Buckets. A value v > MIN_VALUE falls in bucket i = ceil(log_GAMMA(v)), which
covers (GAMMA^(i-1), GAMMA^i]; the bucket's representative 2·GAMMA^i / (GAMMA + 1)
is within RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1) ≈ 0.99 % of every value in
it. Values at or below MIN_VALUE (zeros, and what is too small to tell from zero)
share the zero bucket ZERO_INDEX, whose representative is 0. The sketch holds
non-negative values: a negative one counts as a zero.

A sketch is a plain dict {bucket index: count}, so merging sketches of several
processes, minutes, routes or pages is a sum of counts, exact.

The quantile (the only definition, everywhere). The q-quantile (0 ≤ q ≤ 1) of
n values is numpy's default, "linear": with the values sorted, rank
h = q·(n - 1) and x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋ + 1] - x[⌊h⌋]), each value taken
as its bucket's representative. Bound: each representative r of a value
x ≥ 0 has |r - x| ≤ RELATIVE_ERROR·x + MIN_VALUE, and the interpolation is a
weighted mean of two of them, so

    |percentile(sketch, q) - numpy.quantile(values, q)| ≤ RELATIVE_ERROR·exact + MIN_VALUE

(up to floating-point rounding of the logarithm at a bucket's edge). An empty
sketch has no quantile (None).

Storage (a database column). b"" is the empty sketch. Otherwise the first byte
says the record format and the records follow, sorted by index, one per
non-empty bucket: 1 = compact, a little-endian int16 index and uint32 count
(6 bytes); 2 = wide, int64 index and int64 count (16 bytes), for a sketch with
a count past 2**32 - 1 or an index outside int16. The zero bucket is the record
with index ZERO_INDEX (= -698, below every other bucket); data written before
it existed never holds that index, so it reads back unchanged.

Many sketches at once (numpy): `stored_many` reads many columns in one go,
`run_records` picks runs of their records, `group_sums` adds them up by group
into one dense [group, bucket] array (one bincount), and `grouped_percentile`
answers every group's quantile at once, exactly as `percentile` answers each.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

GAMMA = 1.02
LOG_GAMMA = math.log(GAMMA)
INV_LOG_GAMMA = 1.0 / LOG_GAMMA
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)
# Below a millionth (of a millisecond, or of a CLS score) nothing is worth telling apart.
MIN_VALUE = 1e-6
# The zero bucket: just below the bucket holding the smallest value above MIN_VALUE.
ZERO_INDEX = math.ceil(math.log(MIN_VALUE) * INV_LOG_GAMMA) - 1


def bucket_index(value: float) -> int:
    if not value > MIN_VALUE:
        return ZERO_INDEX
    return math.ceil(math.log(value) * INV_LOG_GAMMA)


def bucket_indexes(values) -> np.ndarray:
    """`bucket_index` of many values at once."""
    values = np.asarray(values, dtype=np.float64)
    out = np.full(values.shape, ZERO_INDEX, dtype=np.int64)
    above = values > MIN_VALUE
    out[above] = np.ceil(np.log(values[above]) * INV_LOG_GAMMA)
    return out


def bucket_values(indexes) -> np.ndarray:
    """The representative values of buckets: within RELATIVE_ERROR of all their values."""
    indexes = np.asarray(indexes, dtype=np.int64)
    values = 2.0 * np.power(GAMMA, indexes.astype(np.float64)) / (GAMMA + 1.0)
    return np.where(indexes == ZERO_INDEX, 0.0, values)


def bucket_value(index: int) -> float:
    return float(bucket_values(index))


def build(values: Iterable[float]) -> dict[int, int]:
    """The sketch of some values."""
    indexes, counts = np.unique(bucket_indexes(list(values)), return_counts=True)
    return dict(zip(indexes.tolist(), counts.tolist(), strict=True))


def add(target: dict, source: Mapping) -> dict:
    """Add the counts of `source` into `target` (keys may be int or str)."""
    for key, count in source.items():
        key = int(key)
        target[key] = target.get(key, 0) + count
    return target


def merge(histograms: Iterable[Mapping]) -> dict[int, int]:
    total: dict[int, int] = {}
    for histogram in histograms:
        add(total, histogram)
    return total


def points(histogram: Mapping) -> list[tuple[float, int]]:
    """(representative value, count) of each non-empty bucket in value order: the
    distribution to draw."""
    items = sorted((int(k), int(v)) for k, v in histogram.items() if v)
    values = bucket_values([k for k, _ in items]).tolist()
    return list(zip(values, (v for _, v in items), strict=True))


def percentiles(histogram: Mapping, qs: Iterable[float]) -> list[float | None]:
    """Values at quantiles qs (0..1), as the module docstring defines them."""
    qs = list(qs)
    items = sorted((int(k), v) for k, v in histogram.items() if v)
    if not items:
        return [None] * len(qs)
    indexes = np.array([k for k, _ in items], dtype=np.int64)
    running = np.cumsum(np.array([v for _, v in items], dtype=np.float64))[None, :]
    values = bucket_values(indexes)
    return [_interpolate(running, values, q)[0] for q in qs]


def percentile(histogram: Mapping, q: float) -> float | None:
    return percentiles(histogram, [q])[0]


def grouped_percentile(base: int, dense: np.ndarray, q: float) -> list[float | None]:
    """Each row's quantile q of a dense [group, bucket] array from `group_sums`: the
    same numbers as `percentile` of each group's sketch, all groups at once."""
    n_groups, width = dense.shape
    if not width:
        return [None] * n_groups
    values = bucket_values(base + np.arange(width))
    return _interpolate(np.cumsum(dense, axis=1), values, q)


def _interpolate(running: np.ndarray, values: np.ndarray, q: float) -> list[float | None]:
    """Rows of cumulative counts over buckets of these values: each row's quantile q."""
    totals = running[:, -1]
    rank = min(max(q, 0.0), 1.0) * (totals - 1)
    low = np.floor(rank)
    fraction = rank - low
    last = running.shape[1] - 1
    # The bucket of a rank: the first whose running count exceeds it.
    low_at = np.minimum((running <= low[:, None]).sum(axis=1), last)
    high_at = np.minimum((running <= (low + 1)[:, None]).sum(axis=1), last)
    low_value, high_value = values[low_at], values[high_at]
    found = np.where(fraction > 0, low_value + fraction * (high_value - low_value), low_value)
    return [v if n > 0 else None for v, n in zip(found.tolist(), totals.tolist(), strict=True)]


def count_at_most(histogram: Mapping, bounds: Sequence[float]) -> list[int]:
    """Cumulative counts of values ≤ each bound (Prometheus `le` buckets).

    A bucket counts toward the first bound its representative value fits under,
    so a value within RELATIVE_ERROR of a bound may land on either side of it.
    """
    counts = [0] * len(bounds)
    for key, count in histogram.items():
        value = bucket_value(int(key))
        for position, bound in enumerate(bounds):
            if value <= bound:
                counts[position] += count
                break
    running = 0
    for position, count in enumerate(counts):
        running += count
        counts[position] = running
    return counts


# --- storage ------------------------------------------------------------------------------
_COMPACT = np.dtype([("index", "<i2"), ("count", "<u4")])
_WIDE = np.dtype([("index", "<i8"), ("count", "<i8")])
_FORMATS = {1: _COMPACT, 2: _WIDE}


def encode(histogram: Mapping) -> bytes:
    """A sketch as bytes for a database column: small, and fast to read back."""
    items = sorted((int(k), int(v)) for k, v in histogram.items() if v)
    if not items:
        return b""
    compact = all(-(2**15) <= k < 2**15 and v < 2**32 for k, v in items)
    kind = 1 if compact else 2
    return bytes([kind]) + np.array(items, dtype=_FORMATS[kind]).tobytes()


def stored(data: bytes | memoryview | None) -> np.ndarray | None:
    """The stored (index, count) records, as they are (no copy); None when empty."""
    if not data:
        return None
    return np.frombuffer(data, dtype=_FORMATS[data[0]], offset=1)


def stored_many(blobs: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Many stored sketches at once: each one's number of records, then every record's
    index and count, in order (one numpy read when they share a format, as they do)."""
    if all(not blob or blob[0] == 1 for blob in blobs):
        size = _COMPACT.itemsize
        lengths = np.array([(len(b) - 1) // size if b else 0 for b in blobs], dtype=np.int64)
        records = np.frombuffer(b"".join(memoryview(b)[1:] for b in blobs if b), dtype=_COMPACT)
        return lengths, records["index"].astype(np.int64), records["count"].astype(np.float64)
    parts = [stored(blob) for blob in blobs]
    lengths = np.array([0 if p is None else len(p) for p in parts], dtype=np.int64)
    kept = [p for p in parts if p is not None] or [np.zeros(0, dtype=_WIDE)]
    index = np.concatenate([p["index"].astype(np.int64) for p in kept])
    return lengths, index, np.concatenate([p["count"].astype(np.float64) for p in kept])


def decode(data: bytes | memoryview | None) -> dict[int, int]:
    return sum_stored([stored(data)])


def merge_encoded(blobs: Iterable[bytes | memoryview | None]) -> dict[int, int]:
    """The merged sketch of many stored ones."""
    return sum_stored([stored(blob) for blob in blobs])


def sum_stored(records: Iterable[np.ndarray | None]) -> dict[int, int]:
    """Add many stored sketches at once (a bincount, not a loop over buckets)."""
    by_format: dict[np.dtype, list[np.ndarray]] = {}
    for record in records:
        if record is not None and len(record):
            by_format.setdefault(record.dtype, []).append(record)
    if not by_format:
        return {}
    joined = [np.concatenate(group) for group in by_format.values()]
    indexes = np.concatenate([j["index"].astype(np.int64) for j in joined])
    counts = np.concatenate([j["count"].astype(np.float64) for j in joined])
    base, [totals] = group_sums(np.zeros(len(indexes), dtype=np.int64), indexes, counts, 1)
    present = np.flatnonzero(totals)
    return dict(
        zip((present + base).tolist(), totals[present].astype(np.int64).tolist(), strict=True)
    )


def as_stored(histogram: Mapping) -> np.ndarray | None:
    """An in-memory sketch as stored records, to add to stored ones."""
    return stored(encode(histogram))


# --- many sketches by group ---------------------------------------------------------------
def run_records(
    starts: np.ndarray, ends: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The records of runs [starts[i], ends[i]) of stored records (`stored_many`), run
    after run, without a Python loop: their positions, and the group of each (its run's
    groups[i]), ready for `group_sums`."""
    lengths = np.asarray(ends - starts, dtype=np.int64)
    run_starts = np.cumsum(lengths) - lengths
    positions = np.repeat(starts - run_starts, lengths) + np.arange(int(lengths.sum()))
    return positions, np.repeat(groups, lengths)


def group_sums(
    owners: np.ndarray, indexes: np.ndarray, counts: np.ndarray, n_groups: int
) -> tuple[int, np.ndarray]:
    """Records (bucket index, count) summed by owner group (0 .. n_groups - 1):
    (base index, dense counts [group, index - base]), one bincount."""
    if not len(indexes):
        return 0, np.zeros((n_groups, 0))
    base = int(indexes.min())
    width = int(indexes.max()) - base + 1
    cell = owners * width + (indexes - base)
    dense = np.bincount(cell, weights=counts, minlength=n_groups * width)
    return base, dense.reshape(n_groups, width)
