"""Sums of rollup series over many windows at once: what alert rules ask of the rollups.

An evaluation tick asks dozens of questions whose windows all end at the same
minute (p95 over 5 minutes on one route, throughput over a day on all...).
`read` fetches, in one query, only the rows those windows are tiled with
(`rollup_reads.cover`: day rows for whole days, hour rows for whole hours, minute
rows for the ragged ends) plus the live, unfolded minutes, into arrays per
resolution. `Rows.sums` then answers a window ending at any minute the rows
cover, per group of series: counters from prefix sums over time, peaks from a
slice maximum, and the histograms a percentile needs from one bincount.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import numpy as np
from django.db.models import Q

from lib import sketch
from monitoring import rollup_reads
from monitoring.alert_sample_windows import merge_spans
from monitoring.models import Rollup
from monitoring.series import COUNTERS, HISTOGRAMS, PEAKS, SCALARS

# The live minutes, summed over the whole window like a resolution of their own.
LIVE = 0
# (resolution, start, end): rows of that resolution starting in [start, end), epoch seconds.
Span = tuple[int, int, int]


def spans(start: int, end: int, oldest_minute: int) -> list[Span]:
    """What a window is summed from: the coarsest rows tiling it, and the live minutes."""
    segments = rollup_reads.cover(start, end, oldest_minute)
    if not segments:
        return []
    return [*segments, (LIVE, segments[0][1], end)]


def read(
    kinds: set[str],
    wanted: Iterable[Span],
    oldest_minute: int,
    *,
    name=None,
    totals: bool = False,
    histograms: Sequence[str] = (),
) -> Rows:
    """The rows of these spans in one query (overlapping spans read once), and the live minutes.

    `name` and `totals` narrow the series as in `rollup_reads.load`; `histograms`
    names the histogram columns to read ("buckets", "db_buckets"): none for
    counts and averages.
    """
    merged = _merge(wanted)
    where = Q()
    for kind in sorted(kinds):
        for resolution, a, b in merged:
            if resolution != LIVE:
                where |= Q(kind=kind, resolution=resolution, time__gte=_dt(a), time__lt=_dt(b))
    # Columns: resolution, time, the series key (4), counters and peaks, then histograms.
    first_histogram = 6 + len(SCALARS)
    rows: list[tuple] = []
    if where:
        stored_columns = [column for column in HISTOGRAMS if column in histograms]
        found = Rollup.objects.filter(where & rollup_reads.series_filters(name, None, totals))
        fields = ["resolution", "epoch", "kind", "name", "method", "status_class"]
        fields += [*SCALARS, *stored_columns]
        for row in found.annotate(epoch=rollup_reads.Epoch("time")).values_list(*fields):
            stored = dict(zip(stored_columns, row[first_histogram:], strict=True))
            rows.append(row[:first_histogram] + tuple(stored.get(h) for h in HISTOGRAMS))
    live = [(a, b) for resolution, a, b in merged if resolution == LIVE]
    if live:
        start, end = min(a for a, _ in live), max(b for _, b in live)
        for (minute, *key), value in rollup_reads.live(
            kinds, start, end, name, None, totals
        ).items():
            hists = tuple(
                sketch.encode(getattr(value, h)) if h in histograms else None for h in HISTOGRAMS
            )
            rows.append((LIVE, minute, *key, *value.scalars(), *hists))
    if not rows:
        return Rows([], {}, oldest_minute)
    columns = list(zip(*rows, strict=True))
    keys: dict[tuple, int] = {}
    series = np.array(
        [keys.setdefault(key, len(keys)) for key in zip(*columns[2:6], strict=True)], dtype=np.int64
    )
    resolutions = np.array(columns[0], dtype=np.int64)
    moments = np.rint(np.array(columns[1], dtype=np.float64)).astype(np.int64)
    figures = {c: np.array(columns[6 + i], dtype=np.float64) for i, c in enumerate(SCALARS)}
    records = {c: columns[first_histogram + i] for i, c in enumerate(HISTOGRAMS)}
    tables = {}
    for resolution in np.unique(resolutions).tolist():
        chosen = np.flatnonzero(resolutions == resolution)
        tables[resolution] = _Table(
            len(keys),
            moments[chosen],
            series[chosen],
            {c: values[chosen] for c, values in figures.items()},
            {c: [values[i] for i in chosen.tolist()] for c, values in records.items()},
        )
    return Rows(list(keys), tables, oldest_minute)


def _merge(wanted: Iterable[Span]) -> list[Span]:
    """Per resolution, overlapping or touching spans as one."""
    by_resolution: dict[int, list[tuple[int, int]]] = {}
    for resolution, a, b in wanted:
        by_resolution.setdefault(resolution, []).append((a, b))
    return [
        (resolution, a, b)
        for resolution in sorted(by_resolution)
        for a, b in merge_spans(by_resolution[resolution])
    ]


def _dt(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class _Histograms:
    """The histogram records of every (series, period) cell, cell after cell.

    A series' cells are consecutive, so a series over a range of periods is
    one run of records, from offsets[first cell] to offsets[last cell + 1].
    """

    def __init__(self, cells: np.ndarray, blobs: list, size: int):
        order = np.argsort(cells, kind="stable")
        lengths, self.index, self.count = sketch.stored_many([blobs[i] for i in order])
        per_cell = np.bincount(cells[order], weights=lengths, minlength=size).astype(np.int64)
        self.offsets = np.concatenate(([0], np.cumsum(per_cell)))


class _Table:
    """One resolution's rows as [series, period] arrays."""

    def __init__(self, n_series: int, moments, series, figures: dict, records: dict):
        self.times, period = np.unique(moments, return_inverse=True)
        period = period.reshape(-1)
        shape = (n_series, len(self.times))
        at = (series, period)
        self.counters = {}
        for name in COUNTERS:
            dense = np.zeros(shape)
            np.add.at(dense, at, figures[name])
            self.counters[name] = dense
        self.peaks = {}
        for name in PEAKS:
            dense = np.zeros(shape)
            np.maximum.at(dense, at, figures[name])
            self.peaks[name] = dense
        cells = series * shape[1] + period
        size = shape[0] * shape[1]
        self.histograms = {name: _Histograms(cells, records[name], size) for name in HISTOGRAMS}

    def periods(self, start: int, end: int) -> tuple[int, int]:
        lo, hi = np.searchsorted(self.times, [start, end])
        return int(lo), int(hi)


class Sums:
    """One group's sums over a window: an attribute per counter and peak of
    monitoring.series, and the histograms asked for (dense, from `base`)."""

    def __init__(self):
        for name in SCALARS:
            setattr(self, name, 0.0)
        self.histograms: dict = {}
        # Requests of one status class, for sources that need a share of them (4xx).
        self.share = 0.0

    def percentile(self, name: str, q: float) -> float | None:
        """As `sketch.percentile` answers for the summed histogram `name`."""
        base, counts = self.histograms.get(name, (0, np.zeros(0)))
        return sketch.grouped_percentile(base, counts[None, :], q)[0]


class Rows:
    """Rollup rows (and live minutes) of some series, read once, summed over any window."""

    def __init__(self, keys: list[tuple], tables: dict, oldest_minute: int):
        # Series keys: (kind, name, method, status class).
        self.keys = keys
        self.tables = tables
        self.oldest_minute = oldest_minute
        self._fields = [np.array([k[i] for k in keys], dtype=object) for i in range(4)]

    def select(self, filters: dict[int, str]) -> np.ndarray:
        """Which series have these values (position in the key → value)."""
        chosen = np.ones(len(self.keys), dtype=bool)
        for position, value in filters.items():
            chosen &= self._fields[position] == value
        return chosen

    def sums(
        self,
        chosen: np.ndarray,
        groups: np.ndarray,
        n_groups: int,
        start: int,
        end: int,
        histograms: Sequence[str] = (),
    ) -> list[Sums]:
        """Per group, the chosen series' sums over [start, end).

        `groups` gives each series its group (0 .. n_groups - 1); `histograms`
        names the histograms to add up as well ("buckets", "db_buckets").
        """
        picked = np.flatnonzero(chosen)
        per_series = {name: np.zeros(len(picked)) for name in SCALARS}
        runs: dict[str, list] = {name: [] for name in histograms}
        for resolution, a, b in spans(start, end, self.oldest_minute):
            table = self.tables.get(resolution)
            if table is None:
                continue
            lo, hi = table.periods(a, b)
            if lo == hi:
                continue
            for name, dense in table.counters.items():
                per_series[name] += dense[picked, lo:hi].sum(axis=1)
            for name, peaks in table.peaks.items():
                np.maximum(per_series[name], peaks[picked, lo:hi].max(axis=1), out=per_series[name])
            first_cell = picked * len(table.times)
            for name in histograms:
                offsets = table.histograms[name].offsets
                runs[name].append((table.histograms[name], offsets[first_cell + lo],
                                   offsets[first_cell + hi]))  # fmt: skip
        group_of = groups[picked]
        out = [Sums() for _ in range(n_groups)]
        for name in COUNTERS:
            totals = np.bincount(group_of, weights=per_series[name], minlength=n_groups)
            for group, total in enumerate(totals.tolist()):
                setattr(out[group], name, total)
        for name in PEAKS:
            peaks = np.zeros(n_groups)
            np.maximum.at(peaks, group_of, per_series[name])
            for group, peak in enumerate(peaks.tolist()):
                setattr(out[group], name, peak)
        for name in histograms:
            for group, found in enumerate(_add_runs(runs[name], group_of, n_groups)):
                out[group].histograms[name] = found
        return out


def _add_runs(runs, group_of: np.ndarray, n_groups: int) -> list[tuple[int, np.ndarray]]:
    """Each group's histogram (first bucket index, dense counts): one bincount of the records."""
    indexes, counts, owners = [], [], []
    for store, starts, ends in runs:
        positions, owned = sketch.run_records(starts, ends, group_of)
        indexes.append(store.index[positions])
        counts.append(store.count[positions])
        owners.append(owned)
    if not indexes:
        return [(0, np.zeros(0)) for _ in range(n_groups)]
    base, dense = sketch.group_sums(
        np.concatenate(owners), np.concatenate(indexes), np.concatenate(counts), n_groups
    )
    return [(base, row) for row in dense]
