"""Reading rollups for any window: the fewest rows, plus what is not folded yet.

A window is covered by day rows for its whole days, hour rows for its whole
hours and minute rows for its ragged ends, then the live (unfolded) minutes
are added, so the still-open minute shows within seconds. Sums come back as
`Series` keyed (kind, name, method, status class), histogram keys as strings.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Q

from monitoring import storage
from monitoring.models import ALL, DAY, HOUR, MINUTE, Rollup
from monitoring.recorder import REQUEST, Series

COLUMNS = (
    "time",
    "kind",
    "name",
    "method",
    "status_class",
    "count",
    "errors",
    "sum_ms",
    "max_ms",
    "db_ms",
    "db_max_ms",
    "queries",
    "n_plus_one",
    "buckets",
    "db_buckets",
)


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


def cover(start: int, end: int, oldest_minute: int) -> list[tuple[int, int, int]]:
    """(resolution, from, to) segments tiling [start, end) with the coarsest rows.

    Minute rows older than `oldest_minute` are gone: there the window starts on
    the hour instead.
    """
    start = _floor(start, MINUTE)
    if start < oldest_minute:
        start = _floor(start, HOUR)
    segments: list[tuple[int, int, int]] = []

    def take(resolution: int, a: int, b: int) -> None:
        if a < b:
            segments.append((resolution, a, b))

    first_hour, last_hour = _ceil(start, HOUR), _floor(end, HOUR)
    if first_hour >= last_hour:
        take(MINUTE, start, end)
        return segments
    take(MINUTE, start, first_hour)
    first_day, last_day = _ceil(first_hour, DAY), _floor(last_hour, DAY)
    if first_day >= last_day:
        take(HOUR, first_hour, last_hour)
    else:
        take(HOUR, first_hour, first_day)
        take(DAY, first_day, last_day)
        take(HOUR, last_day, last_hour)
    take(MINUTE, last_hour, end)
    return segments


def _filters(kinds: Iterable[str], name, method: str | None, totals: bool) -> Q:
    """`name`: one name, a collection of names, or None for all (but the totals rows)."""
    query = Q(kind__in=list(kinds))
    if totals:
        return query & Q(name=ALL, method=ALL, status_class=ALL)
    if name is None:
        query &= ~Q(name=ALL)
    elif isinstance(name, str):
        query &= Q(name=name)
    else:
        query &= Q(name__in=list(name))
    if method:
        query &= Q(method=method)
    return query


def load(
    kinds: Iterable[str],
    start: datetime,
    end: datetime,
    *,
    name: str | Iterable[str] | None = None,
    method: str | None = None,
    totals: bool = False,
) -> dict[tuple, Series]:
    """Sums over [start, end) per series; `totals` reads the all-routes request rows."""
    kinds = set(kinds)
    segments = cover(epoch(start), epoch(end), minute_floor())
    if not segments:
        return {}
    where = Q()
    for resolution, a, b in segments:
        where |= Q(resolution=resolution, time__gte=_dt(a), time__lt=_dt(b))
    rows = Rollup.objects.filter(where & _filters(kinds, name, method, totals))
    out: dict[tuple, Series] = {}
    for row in rows.values_list(*COLUMNS).iterator(chunk_size=5000):
        key = (row[1], row[2], row[3], row[4])
        target = out.get(key)
        if target is None:
            target = out[key] = Series()
        _add_row(target, row)
    live_start = segments[0][1]
    for (_, *key), value in _live(kinds, live_start, epoch(end), name, method, totals).items():
        target = out.get(tuple(key))
        if target is None:
            target = out[tuple(key)] = Series()
        _add_series(target, value)
    return out


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
    out: dict[int, dict[tuple, Series]] = {}
    lowest = _floor(epoch(start), step)
    for row in rows.values_list(*COLUMNS).iterator(chunk_size=5000):
        bucket = max(_floor(epoch(row[0]), step), lowest)
        series = out.setdefault(bucket, {})
        key = (row[1], row[2], row[3], row[4])
        target = series.get(key)
        if target is None:
            target = series[key] = Series()
        _add_row(target, row)
    for (minute, *key), value in _live(kinds, first, epoch(end), name, method, totals).items():
        series = out.setdefault(max(_floor(minute, step), lowest), {})
        target = series.get(tuple(key))
        if target is None:
            target = series[tuple(key)] = Series()
        _add_series(target, value)
    return dict(sorted(out.items()))


def _live(kinds, start: int, end: int, name, method, totals) -> dict[tuple, Series]:
    """Live minutes matching the same filters (all-routes totals summed on the fly)."""
    found = storage.live_series(kinds, start, end)
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


def _add_row(target: Series, row: tuple) -> None:
    target.count += row[5]
    target.errors += row[6]
    target.sum_ms += row[7]
    if row[8] > target.max_ms:
        target.max_ms = row[8]
    target.db_ms += row[9]
    if row[10] > target.db_max_ms:
        target.db_max_ms = row[10]
    target.queries += row[11]
    target.n_plus_one += row[12]
    buckets = target.buckets
    for index, count in row[13].items():
        buckets[index] = buckets.get(index, 0) + count
    db_buckets = target.db_buckets
    for index, count in row[14].items():
        db_buckets[index] = db_buckets.get(index, 0) + count


def _add_series(target: Series, value: Series) -> None:
    """Add a live Series (int histogram keys) to a read one (string keys)."""
    as_read = Series()
    as_read.merge(value)
    as_read.buckets = {str(k): v for k, v in value.buckets.items()}
    as_read.db_buckets = {str(k): v for k, v in value.db_buckets.items()}
    target.merge(as_read)


def _dt(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)
