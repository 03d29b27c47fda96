"""Log-bucketed latency histograms (DDSketch style): mergeable, ≤ 1 % relative error.

A value x > 0 (milliseconds) falls in bucket i = ceil(log_gamma(x)), which covers
(gamma^(i-1), gamma^i]. Reporting 2·gamma^i / (gamma + 1) for any value of the
bucket is off by at most (gamma - 1) / (gamma + 1) ≈ 0.99 % for gamma = 1.02.
Histograms are plain dicts {bucket index: count}, so merging several processes,
minutes or routes is a sum of counts, and a percentile over any window is exact
to the bucket width.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

GAMMA = 1.02
LOG_GAMMA = math.log(GAMMA)
INV_LOG_GAMMA = 1.0 / LOG_GAMMA
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)
# Values below a microsecond share one bucket: nobody tunes below that.
MIN_VALUE_MS = 0.001
MIN_INDEX = math.ceil(math.log(MIN_VALUE_MS) * INV_LOG_GAMMA)


def bucket_index(value_ms: float) -> int:
    if value_ms <= MIN_VALUE_MS:
        return MIN_INDEX
    return math.ceil(math.log(value_ms) * INV_LOG_GAMMA)


def bucket_value(index: int) -> float:
    """The representative value of a bucket: within RELATIVE_ERROR of all its values."""
    return 2.0 * GAMMA**index / (GAMMA + 1.0)


def bucket_upper(index: int) -> float:
    return GAMMA**index


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


def to_json(histogram: Mapping) -> dict[str, int]:
    """JSON object keys are strings."""
    return {str(k): int(v) for k, v in histogram.items() if v}


def percentiles(histogram: Mapping, qs: Iterable[float]) -> list[float | None]:
    """Values at quantiles qs (0..1), interpolated between ranks like numpy's default.

    Each rank's value is its bucket's representative, so the answer is within
    RELATIVE_ERROR of the exact percentile of the recorded values.
    """
    qs = list(qs)
    items = sorted((int(k), v) for k, v in histogram.items() if v)
    total = sum(v for _, v in items)
    if total == 0:
        return [None] * len(qs)
    return [_quantile(items, total, q) for q in qs]


def percentile(histogram: Mapping, q: float) -> float | None:
    return percentiles(histogram, [q])[0]


def _quantile(items: list[tuple[int, int]], total: int, q: float) -> float:
    rank = min(max(q, 0.0), 1.0) * (total - 1)
    low = math.floor(rank)
    fraction = rank - low
    low_value = _value_at_rank(items, low)
    if fraction == 0:
        return low_value
    high_value = _value_at_rank(items, low + 1)
    return low_value + fraction * (high_value - low_value)


def _value_at_rank(items: list[tuple[int, int]], rank: int) -> float:
    seen = 0
    for index, count in items:
        seen += count
        if seen > rank:
            return bucket_value(index)
    return bucket_value(items[-1][0])


def count_at_most(histogram: Mapping, bounds: list[float]) -> list[int]:
    """Cumulative counts of values ≤ each bound (Prometheus `le` buckets).

    A bucket counts toward the first bound its representative value fits under,
    so a value within 1 % of a bound may land on either side of it.
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


# --- storage: (index, count) pairs, read with numpy ----------------------------------
# Compact: a 2-byte index and a 4-byte count per non-empty bucket; a histogram
# with a count past 2**32 - 1 falls back to 8 + 8 bytes. The first byte says which.
_COMPACT = np.dtype([("index", "<i2"), ("count", "<u4")])
_WIDE = np.dtype([("index", "<i8"), ("count", "<i8")])
_FORMATS = {1: _COMPACT, 2: _WIDE}


def encode(histogram: Mapping) -> bytes:
    """A histogram as bytes for a database column: small, and fast to read back."""
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


def stored_many(blobs: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Many stored histograms at once: each one's number of records, then every record's
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


def sum_stored(records: list[np.ndarray | None]) -> dict[int, int]:
    """Add many stored histograms at once (a bincount, not a loop over buckets)."""
    by_format: dict[np.dtype, list[np.ndarray]] = {}
    for record in records:
        if record is not None and len(record):
            by_format.setdefault(record.dtype, []).append(record)
    if not by_format:
        return {}
    joined = [np.concatenate(group) for group in by_format.values()]
    indexes = np.concatenate([j["index"].astype(np.int64) for j in joined])
    counts = np.concatenate([j["count"].astype(np.float64) for j in joined])
    base = int(indexes.min())
    totals = np.bincount(indexes - base, weights=counts)
    present = np.flatnonzero(totals)
    return dict(
        zip((present + base).tolist(), totals[present].astype(np.int64).tolist(), strict=True)
    )


def as_stored(histogram: Mapping) -> np.ndarray | None:
    """An in-memory histogram as stored records, to add to stored ones."""
    data = encode(histogram)
    return stored(data)
