"""The figures summed for every series, declared once.

A series is (kind, name, method, status class): a route, a custom timer, a
Celery task or a normalised SQL statement. For each minute, hour and day it
holds the figures of `FIGURES`: counters (added up), peaks (the largest kept)
and histograms (bucket counts added up, see lib.sketch). Everything
else is derived from that list: the `Series` class and its merge, the Redis
hash field codes, the Rollup / LiveAggregate columns (`SeriesFields`), row <->
series conversion and the columns the readers ask for. Adding a figure is one
entry here and a migration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from lib import sketch

# Kinds of series (the first part of a series key).
REQUEST, TIMER, TASK, QUERY, QUEUE = "request", "timer", "task", "query", "queue"
# The name statements past the recorder's cap are summed under.
OTHER_STATEMENT = "<other statements>"

COUNTER, PEAK, HISTOGRAM = "counter", "peak", "histogram"


@dataclass(frozen=True)
class Figure:
    """One figure: its name (the Series attribute and the model column) and how it sums."""

    name: str
    kind: str  # COUNTER, PEAK or HISTOGRAM
    # Its field in Redis hashes; for a histogram, the prefix of each bucket's field (b12).
    code: str
    # Milliseconds (a float; whole microseconds in Redis), else a whole number.
    ms: bool = False
    # Also counted since the start, per host, for /metrics.
    metrics: bool = False


FIGURES = (
    Figure("count", COUNTER, "c", metrics=True),
    Figure("errors", COUNTER, "e", metrics=True),
    Figure("sum_ms", COUNTER, "s", ms=True, metrics=True),
    Figure("max_ms", PEAK, "m", ms=True),
    Figure("db_ms", COUNTER, "d", ms=True, metrics=True),
    Figure("db_max_ms", PEAK, "dm", ms=True),
    Figure("queries", COUNTER, "q", metrics=True),
    Figure("n_plus_one", COUNTER, "n"),
    # Histograms of latency and DB time.
    Figure("buckets", HISTOGRAM, "b"),
    Figure("db_buckets", HISTOGRAM, "x"),
)

NAMES = tuple(f.name for f in FIGURES)
COUNTERS = tuple(f.name for f in FIGURES if f.kind == COUNTER)
PEAKS = tuple(f.name for f in FIGURES if f.kind == PEAK)
HISTOGRAMS = tuple(f.name for f in FIGURES if f.kind == HISTOGRAM)
# Counters and peaks: the figures that are plain numbers, in this order wherever listed.
SCALARS = COUNTERS + PEAKS
# Field code of the Prometheus bucket counters kept with the /metrics totals (l0, l1...).
LE_CODE = "l"

_BY_CODE = {f.code: f for f in FIGURES if f.kind != HISTOGRAM}
_HISTOGRAM_BY_CODE = {f.code: f for f in FIGURES if f.kind == HISTOGRAM}


def _check_codes() -> None:
    """A field's code must tell its figure: histogram fields are the prefix and a number."""
    codes = [f.code for f in FIGURES] + [LE_CODE]
    if len(set(codes)) != len(codes):
        raise ValueError(f"series field codes repeat: {codes}")
    if any(f.metrics and f.kind != COUNTER for f in FIGURES):
        raise ValueError("only counters can be /metrics totals")
    for prefix in [*_HISTOGRAM_BY_CODE, LE_CODE]:
        if len(prefix) != 1 or any(c.startswith(prefix) for c in codes if c != prefix):
            raise ValueError(f"code {prefix!r} must be one letter that starts no other code")


_check_codes()


class Series:
    """Running sums of one series: an attribute per figure."""

    __slots__ = NAMES

    def __init__(self):
        for name, zero in _ZEROS:
            setattr(self, name, zero)
        for name in HISTOGRAMS:
            setattr(self, name, {})

    def merge(self, other: Series) -> None:
        for name, mine, theirs in zip(COUNTERS, _counters(self), _counters(other), strict=True):
            setattr(self, name, mine + theirs)
        for name, mine, theirs in zip(PEAKS, _peaks(self), _peaks(other), strict=True):
            if theirs > mine:
                setattr(self, name, theirs)
        for target, source in zip(_histograms(self), _histograms(other), strict=True):
            for key, value in source.items():
                target[key] = target.get(key, 0) + value

    def scalars(self) -> tuple:
        """The counters and peaks, in SCALARS order."""
        return _scalars(self)

    def add_scalars(self, values: Sequence) -> None:
        """Add counters and peaks given in SCALARS order (columns read with `values_list`)."""
        n = len(COUNTERS)
        for name, value in zip(COUNTERS, values[:n], strict=True):
            setattr(self, name, getattr(self, name) + value)
        for name, value in zip(PEAKS, values[n:], strict=True):
            if value > getattr(self, name):
                setattr(self, name, value)


_ZEROS = tuple((f.name, 0.0 if f.ms else 0) for f in FIGURES if f.kind != HISTOGRAM)
_counters = attrgetter(*COUNTERS)
_peaks = attrgetter(*PEAKS)
_histograms = attrgetter(*HISTOGRAMS)
_scalars = attrgetter(*SCALARS)


# --- rows: Rollup and LiveAggregate (their figure columns: models.SeriesFigures) ----------
def row_values(value: Series) -> dict:
    """A series as the figure columns of a row (histograms encoded)."""
    out = dict(zip(SCALARS, _scalars(value), strict=True))
    for name in HISTOGRAMS:
        out[name] = sketch.encode(getattr(value, name))
    return out


def from_row(row) -> Series:
    """A Rollup or LiveAggregate row as a Series (histogram keys as ints)."""
    value = Series()
    for name in SCALARS:
        setattr(value, name, getattr(row, name))
    for name in HISTOGRAMS:
        setattr(value, name, sketch.decode(getattr(row, name)))
    return value


def merge_into_row(row, value: Series) -> None:
    """Add a series to a row's figure columns."""
    for name in COUNTERS:
        setattr(row, name, getattr(row, name) + getattr(value, name))
    for name in PEAKS:
        setattr(row, name, max(getattr(row, name), getattr(value, name)))
    for name in HISTOGRAMS:
        summed = sketch.add(sketch.decode(getattr(row, name)), getattr(value, name))
        setattr(row, name, sketch.encode(summed))


# --- Redis hash fields: whole numbers under short codes ------------------------------
def _whole(figure: Figure, value) -> int:
    return round(value * 1000) if figure.ms else value


def coded(value: Series) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(increments, maxima) of a series as (code, whole number); zero increments left out."""
    increments = []
    maxima = []
    for figure in FIGURES:
        amount = getattr(value, figure.name)
        if figure.kind == COUNTER:
            if amount:
                increments.append((figure.code, _whole(figure, amount)))
        elif figure.kind == PEAK:
            maxima.append((figure.code, _whole(figure, amount)))
        else:
            increments += [(f"{figure.code}{k}", v) for k, v in amount.items() if v]
    return increments, maxima


def add_coded(target: Series, code: str, amount: int) -> None:
    """Add one coded field (as `coded` gives them) to a series."""
    figure = _BY_CODE.get(code)
    if figure is None:
        figure = _HISTOGRAM_BY_CODE.get(code[:1])
        if figure is None:  # a figure this version does not know (one written by a newer one)
            return
        buckets = getattr(target, figure.name)
        index = int(code[1:])
        buckets[index] = buckets.get(index, 0) + amount
        return
    value = amount / 1000.0 if figure.ms else amount
    if figure.kind == COUNTER:
        setattr(target, figure.name, getattr(target, figure.name) + value)
    elif value > getattr(target, figure.name):
        setattr(target, figure.name, value)


def metric_increments(value: Series) -> dict[str, int]:
    """The coded counters a series adds to the /metrics totals (zeros left out)."""
    fields = {}
    for figure in FIGURES:
        if figure.metrics:
            amount = _whole(figure, getattr(value, figure.name))
            if amount:
                fields[figure.code] = amount
    return fields
