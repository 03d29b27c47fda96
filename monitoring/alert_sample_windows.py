"""System samples over many windows at once: what alert rules ask of CPU, memory and disks.

A sample every 15 seconds is 40,000 per host a week, too many to read every
minute for a rule with a long window. A window is tiled instead, as the
rollups are: hourly sums (count, total, maximum) computed by the database
for its whole hours, and the samples themselves for its ragged ends, the
latest hour always among them. `read` does that for every window of a tick in
two queries; `Samples.summary` is pure and answers any window the data covers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from django.db.models import Count, F, FloatField, Max, Q, Sum, Value
from django.db.models.functions import Trunc

from lib.labels import Labels
from monitoring.models import HOUR, SystemSample
from monitoring.rollup_reads import Epoch

# (start, end) in epoch seconds, end excluded.
Span = tuple[float, float]


def tiling(since: float, at: float) -> tuple[list[Span], list[Span]]:
    """A window's sample spans and hour spans: whole hours from hourly sums, but the latest."""
    first = math.ceil(since / HOUR) * HOUR
    # The hour `at` falls in (or the one just ended) is read sample by sample: it may be
    # incomplete, and it names the mounts and hosts seen lately.
    last = math.floor((at - 1) / HOUR) * HOUR
    if first >= last:
        return [(since, at)], []
    return [(since, first), (last, at)], [(first, last)]


@dataclass
class Series:
    """One label set's samples (times, values) and hourly sums (starts, counts, totals, peaks)."""

    times: list = field(default_factory=list)
    values: list = field(default_factory=list)
    hours: list = field(default_factory=list)
    counts: list = field(default_factory=list)
    totals: list = field(default_factory=list)
    peaks: list = field(default_factory=list)

    def freeze(self) -> Series:
        order = np.argsort(self.times, kind="stable")
        hour_order = np.argsort(self.hours, kind="stable")
        return Series(
            np.asarray(self.times, dtype=np.float64)[order],
            np.asarray(self.values, dtype=np.float64)[order],
            np.asarray(self.hours, dtype=np.float64)[hour_order],
            np.asarray(self.counts, dtype=np.int64)[hour_order],
            np.asarray(self.totals, dtype=np.float64)[hour_order],
            np.asarray(self.peaks, dtype=np.float64)[hour_order],
        )

    def summary(self, since: float, at: float) -> tuple[int, float, float, float | None]:
        """(samples, total, maximum, latest value) over [since, at)."""
        n, total, peak = 0, 0.0, -math.inf
        samples, hours = tiling(since, at)
        for a, b in samples:
            lo, hi = np.searchsorted(self.times, [a, b]).tolist()
            if hi > lo:
                inside = self.values[lo:hi]
                n, total, peak = n + hi - lo, total + float(inside.sum()), max(peak, inside.max())
        for a, b in hours:
            lo, hi = np.searchsorted(self.hours, [a, b]).tolist()
            if hi > lo:
                n += int(self.counts[lo:hi].sum())
                total += float(self.totals[lo:hi].sum())
                peak = max(peak, float(self.peaks[lo:hi].max()))
        # Latest: the newest sample read in the window (the newest of each host always is).
        lo, hi = np.searchsorted(self.times, [since, at]).tolist()
        latest = float(self.values[hi - 1]) if hi > lo else None
        return n, total, float(peak), latest


def read(
    samples: Iterable[Span],
    hours: Iterable[Span],
    hosts: set[str] | None,
    values: Callable[[object], list[tuple[dict, float]]],
    field_name: str,
    hourly: Callable[[set[str]], dict[Labels, object]] | None = None,
) -> dict[Labels, Series]:
    """Samples of these spans, and hourly sums over those hours, per label set.

    `values` turns a sample's field into (extra labels, value) pairs. By
    default the field itself is summed per hour, in the same query as the
    samples; `hourly` instead gives, from the extra label values the samples
    show (mounts), the expression summed per hour for each extra label set,
    in a second query.
    """
    found: dict[Labels, Series] = {}
    scope = Q() if hosts is None else Q(host__in=sorted(hosts))
    sample_spans, hour_spans = merge_spans(samples), merge_spans(hours)
    expressions = {(): F(field_name)} if hourly is None else None
    rows = _sample_rows(sample_spans, scope, field_name)
    if expressions is not None and hour_spans:
        # One query: the samples, then the hourly sums (the rows with a count).
        tiles = _hour_rows(hour_spans, scope, expressions)
        rows = rows.union(tiles, all=True) if rows is not None else tiles
    newest: dict[str, float] = {}
    seen: set[str] = set()
    tile_rows = []
    for row in rows if rows is not None else ():
        if row[2] is not None:
            tile_rows.append(row)
            continue
        host, stamp, _, _, _, raw = row
        newest[host] = max(newest.get(host, stamp), stamp)
        for extra, value in values(raw):
            seen.update(extra.values())
            series = found.setdefault(_labels(host, extra), Series())
            series.times.append(stamp)
            series.values.append(value)
    if expressions is None and hour_spans:
        expressions = hourly(seen)
        tile_rows = list(_hour_rows(hour_spans, scope, expressions))
    if tile_rows:
        _add_hours(found, tile_rows, list(expressions), newest, values, field_name)
    return {labels: series.freeze() for labels, series in found.items()}


def _sample_rows(spans: list[Span], scope: Q, field_name: str):
    """(host, epoch, None, None, None, field) per sample (the Nones line up with hour rows)."""
    if not spans:
        return None
    where = Q()
    for a, b in spans:
        where |= Q(time__gte=_dt(a), time__lt=_dt(b))
    nothing = Value(None, output_field=FloatField())
    return (
        SystemSample.objects.filter(where & scope)
        .annotate(epoch=Epoch("time"), n=nothing, total=nothing, peak=nothing)
        .values_list("host", "epoch", "n", "total", "peak", field_name)
    )


def _hour_rows(spans: list[Span], scope: Q, expressions: dict):
    """(host, hour epoch, counts, totals, peaks, newest sample epoch) per host and hour.

    Counts, totals and peaks are one per expression: a value, or a list for several.
    """
    where = Q()
    for a, b in spans:
        where |= Q(time__gte=_dt(a), time__lt=_dt(b))
    aggregates = {"latest": Epoch(Max("time")), "start": Epoch(Trunc("time", "hour", tzinfo=UTC))}
    for i, expression in enumerate(expressions.values()):
        aggregates |= {f"n{i}": Count(expression), f"s{i}": Sum(expression)}
        aggregates |= {f"m{i}": Max(expression)}
    figures = [f"{kind}{i}" for kind in "nsm" for i in range(len(expressions))]
    rows = (
        SystemSample.objects.filter(where & scope)
        .annotate(hour=Trunc("time", "hour", tzinfo=UTC))
        .values("host", "hour")
        .annotate(**aggregates)
        .order_by()
    )
    listed = rows.values_list("host", "start", *figures, "latest")
    if len(expressions) == 1:
        return listed
    n = len(expressions)
    return [
        (
            row[0],
            row[1],
            row[2 : 2 + n],
            row[2 + n : 2 + 2 * n],
            row[2 + 2 * n : 2 + 3 * n],
            row[-1],
        )
        for row in listed
    ]


def _add_hours(found, rows, extras, newest, values, field_name) -> None:
    silent: dict[str, float] = {}
    for host, start, counts, totals, peaks, latest in rows:
        if len(extras) == 1:
            counts, totals, peaks = [counts], [totals], [peaks]
        for extra, n, total, peak in zip(extras, counts, totals, peaks, strict=True):
            if n:
                series = found.setdefault(_labels(host, dict(extra)), Series())
                series.hours.append(start)
                series.counts.append(n)
                series.totals.append(total)
                series.peaks.append(peak)
        if latest > newest.get(host, -math.inf):
            silent[host] = max(silent.get(host, latest), latest)
    # A host silent since before the samples read: its newest sample, for "last".
    if silent:
        latest_rows = Q()
        for host, moment in silent.items():
            latest_rows |= Q(host=host, time=_dt(moment))
        rows = SystemSample.objects.filter(latest_rows).annotate(epoch=Epoch("time"))
        for host, moment, raw in rows.values_list("host", "epoch", field_name):
            for extra, value in values(raw):
                series = found.setdefault(_labels(host, extra), Series())
                series.times.append(moment)
                series.values.append(value)


def _labels(host: str, extra: dict) -> Labels:
    return tuple(sorted({"host": host, **extra}.items()))


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans as one, in order; empty ones dropped."""
    merged: list[list[float]] = []
    for a, b in sorted(set(spans)):
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)
