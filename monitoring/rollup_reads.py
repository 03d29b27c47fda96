"""Reading rollups for any window: the fewest rows, plus what is not folded yet.

A window is covered by day rows for its whole days, hour rows for its whole
hours and minute rows for its ragged ends, then the live (unfolded) minutes
are added, so the still-open minute shows within seconds. Sums come back as
`Series` keyed (kind, name, method, status class).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import FloatField, Func, Q

from lib import sketch
from monitoring import series
from monitoring.live_store import live_store
from monitoring.models import ALL, DAY, HOUR, MINUTE, Rollup
from monitoring.series import REQUEST, Series

# Read from rollup rows: the time, the series key, the counters and peaks, the histograms.
KEY_COLUMNS = ("time", "kind", "name", "method", "status_class")
_SCALARS = slice(len(KEY_COLUMNS), len(KEY_COLUMNS) + len(series.SCALARS))


class Epoch(Func):
    """A datetime column as seconds since 1970, read as a number (no datetimes to build)."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        # Stored as UTC text; julianday is exact to well under a millisecond.
        template = "ROUND((julianday(%(expressions)s) - 2440587.5) * 86400.0, 3)"
        return self.as_sql(compiler, connection, template=template, **extra)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _floor(value: int, unit: int) -> int:
    return value - value % unit


def _ceil(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def minute_floor(now: float | None = None) -> int:
    """The oldest minute whose minute rows are still kept."""
    now = time.time() if now is None else now
    return _ceil(int(now) - settings.RETENTION_MINUTE_ROLLUPS_DAYS * DAY, HOUR)


def cover(
    start: int, end: int, oldest_minute: int, open_end: bool = False
) -> list[tuple[int, int, int]]:
    """(resolution, from, to) segments tiling [start, end) with the coarsest rows.

    Minute rows older than `oldest_minute` are gone: there the window starts on
    the hour instead. With `open_end` (nothing can exist after `end`: it is now),
    the trailing hour and day are read from their rows, which the fold keeps
    up to date, rather than minute by minute.
    """
    start = _floor(start, MINUTE)
    if start < oldest_minute:
        start = _floor(start, HOUR)
    segments: list[tuple[int, int, int]] = []

    def take(resolution: int, a: int, b: int) -> None:
        if a < b:
            segments.append((resolution, a, b))

    first_hour = _ceil(start, HOUR)
    last_hour = _ceil(end, HOUR) if open_end else _floor(end, HOUR)
    if first_hour >= last_hour:
        take(MINUTE, start, end)
        return segments
    take(MINUTE, start, first_hour)
    first_day = _ceil(first_hour, DAY)
    last_day = _ceil(end, DAY) if open_end else _floor(last_hour, DAY)
    if first_day >= last_day:
        take(HOUR, first_hour, last_hour)
    else:
        take(HOUR, first_hour, first_day)
        take(DAY, first_day, last_day)
        take(HOUR, last_day, last_hour)
    take(MINUTE, last_hour, end)
    return segments


def _filters(kinds: Iterable[str], name, method: str | None, totals: bool) -> Q:
    return Q(kind__in=list(kinds)) & series_filters(name, method, totals)


def series_filters(name, method: str | None, totals: bool) -> Q:
    """`name`: one name, a collection of names, or None for all (but the totals rows)."""
    if totals:
        return Q(name=ALL, method=ALL, status_class=ALL)
    if name is None:
        query = ~Q(name=ALL)
    elif isinstance(name, str):
        query = Q(name=name)
    else:
        query = Q(name__in=list(name))
    if method:
        query &= Q(method=method)
    return query


def columns(histograms=series.HISTOGRAMS) -> tuple[str, ...]:
    """The columns `_Sums.add_row` reads, with these histograms (by default all)."""
    return (*KEY_COLUMNS, *series.SCALARS, *histograms)


class _Sums:
    """Sums of rows for one series; histograms summed once at the end (numpy)."""

    __slots__ = ("series", "histograms")

    def __init__(self):
        self.series = Series()
        self.histograms: dict[str, list] = {name: [] for name in series.HISTOGRAMS}

    def add_row(self, row: tuple, histograms=series.HISTOGRAMS) -> None:
        """A row of `columns(histograms)`."""
        self.series.add_scalars(row[_SCALARS])
        for name, stored in zip(histograms, row[_SCALARS.stop :], strict=True):
            self.histograms[name].append(sketch.stored(stored))

    def add_series(self, value: Series) -> None:
        self.series.add_scalars(value.scalars())
        for name, found in self.histograms.items():
            found.append(sketch.as_stored(getattr(value, name)))

    def result(self) -> Series:
        for name, found in self.histograms.items():
            setattr(self.series, name, sketch.sum_stored(found))
        return self.series


def load(
    kinds: Iterable[str],
    start: datetime,
    end: datetime,
    *,
    name: str | Iterable[str] | None = None,
    method: str | None = None,
    totals: bool = False,
    db_histograms: bool = True,
) -> dict[tuple, Series]:
    """Sums over [start, end) per series; `totals` reads the all-routes request rows.

    Without `db_histograms` the DB time histograms are not read (nor summed):
    half the bytes, for tables that show no DB time percentile.
    """
    kinds = set(kinds)
    now = time.time()
    open_end = epoch(end) >= now - MINUTE
    segments = cover(epoch(start), epoch(end), minute_floor(now), open_end)
    if not segments:
        return {}
    # One indexable term per kind and segment (kind, resolution, time range):
    # SQLite, too, then reads each range from the index instead of every row.
    where = Q()
    for kind in sorted(kinds):
        for resolution, a, b in segments:
            where |= Q(kind=kind, resolution=resolution, time__gte=_dt(a), time__lt=_dt(b))
    # (The kinds are in `where` only: repeated outside, SQLite would scan by kind.)
    rows = Rollup.objects.filter(where & series_filters(name, method, totals))
    histograms = tuple(h for h in series.HISTOGRAMS if db_histograms or h != "db_buckets")
    sums: dict[tuple, _Sums] = {}
    for row in rows.values_list(*columns(histograms)):
        key = (row[1], row[2], row[3], row[4])
        target = sums.get(key)
        if target is None:
            target = sums[key] = _Sums()
        target.add_row(row, histograms)
    live_start = segments[0][1]
    for (_, *key), value in live(kinds, live_start, epoch(end), name, method, totals).items():
        target = sums.get(tuple(key))
        if target is None:
            target = sums[tuple(key)] = _Sums()
        target.add_series(value)
    return {key: value.result() for key, value in sums.items()}


def load_steps(
    kinds: Iterable[str],
    start: datetime,
    end: datetime,
    step: int,
    *,
    name: str | Iterable[str] | None = None,
    method: str | None = None,
    totals: bool = False,
) -> dict[int, dict[tuple, Series]]:
    """Sums per chart step (epoch of the step's start → series → sums), for time series."""
    kinds = set(kinds)
    resolution = DAY if step % DAY == 0 else HOUR if step % HOUR == 0 else MINUTE
    if resolution == MINUTE and epoch(start) < minute_floor():
        resolution = HOUR
    first = _floor(epoch(start), resolution)
    rows = Rollup.objects.filter(
        _filters(kinds, name, method, totals),
        resolution=resolution,
        time__gte=_dt(first),
        time__lt=end,
    )
    sums: dict[int, dict[tuple, _Sums]] = {}
    lowest = _floor(epoch(start), step)
    for row in rows.values_list(*columns()):
        bucket = max(_floor(epoch(row[0]), step), lowest)
        series = sums.setdefault(bucket, {})
        key = (row[1], row[2], row[3], row[4])
        target = series.get(key)
        if target is None:
            target = series[key] = _Sums()
        target.add_row(row)
    for (minute, *key), value in live(kinds, first, epoch(end), name, method, totals).items():
        series = sums.setdefault(max(_floor(minute, step), lowest), {})
        target = series.get(tuple(key))
        if target is None:
            target = series[tuple(key)] = _Sums()
        target.add_series(value)
    return {
        bucket: {key: value.result() for key, value in series.items()}
        for bucket, series in sorted(sums.items())
    }


def live(kinds, start: int, end: int, name, method, totals) -> dict[tuple, Series]:
    """Live minutes matching the same filters (all-routes totals summed on the fly)."""
    found = live_store().live_series(kinds, start, end)
    out: dict[tuple, Series] = {}
    for (minute, kind, series_name, series_method, status), value in found.items():
        if totals:
            if kind != REQUEST:
                continue
            key = (minute, kind, ALL, ALL, ALL)
        else:
            if name is not None and series_name not in _names(name):
                continue
            if method and series_method != method:
                continue
            key = (minute, kind, series_name, series_method, status)
        target = out.get(key)
        if target is None:
            target = out[key] = Series()
        target.merge(value)
    return out


def _names(name) -> set[str]:
    return {name} if isinstance(name, str) else set(name)


def _dt(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)
