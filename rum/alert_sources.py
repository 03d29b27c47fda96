"""RUM metrics alert rules can watch, answered from the hourly rollups.

Rollups are hourly, so a window covers every hour that overlaps
[at - window, at): a 1-hour window at 14:30 reads the 13:00 hour and the 14:00
hour so far, at 15:00 the whole 14:00 hour alone. A window never holds less
than asked for, so a rule does not lose its data each time an hour begins.
"""

from __future__ import annotations

import abc
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db.models import Q

from alerts.sources import Labels, MetricSource, Query, SourceError, register
from lib import sketch
from rum import vitals
from rum.models import Rollup, Site
from rum.useragent import DEVICE_CLASSES

HOUR = timedelta(hours=1)
LABELS = ("site", "page", "device")


def _first_hour(start: datetime) -> datetime:
    """The start of the hour holding `start`: the first rollup hour a window overlaps."""
    return datetime.fromtimestamp(start.timestamp() // 3600 * 3600, tz=UTC)


def _read(starts: dict[str, datetime], end: datetime, histograms: bool) -> dict[str, _Rows]:
    """One query: per metric, the rollup rows of the hours overlapping [its start, end)."""
    where = Q()
    for metric, start in sorted(starts.items()):
        where |= Q(metric=metric, hour__gte=_first_hour(start))
    if not where:
        return {}
    fields = ["metric", "hour", "site__name", "page", "device", "count", "good"]
    rows = Rollup.objects.filter(where, hour__lt=end).order_by("hour")
    found: dict[str, list] = defaultdict(list)
    for row in rows.values_list(*fields, *(["histogram"] if histograms else [])):
        found[row[0]].append(row[1:])
    return {metric: _Rows(rows) for metric, rows in found.items()}


class _Rows:
    """One metric's rollup rows in hour order, as arrays: labels as codes, histograms flat."""

    def __init__(self, rows: list[tuple]):
        self.hours = np.array([row[0].timestamp() for row in rows])
        self.known: dict[str, dict[str, int]] = {}
        self.names: dict[str, list[str]] = {}
        self.codes: dict[str, np.ndarray] = {}
        for position, label in enumerate(LABELS, start=1):
            known = self.known[label] = {}
            codes = [known.setdefault(row[position], len(known)) for row in rows]
            self.names[label] = list(known)
            self.codes[label] = np.array(codes, dtype=np.int64)
        self.count = np.array([row[4] for row in rows], dtype=np.float64)
        self.good = np.array([row[5] for row in rows], dtype=np.float64)
        blobs = [row[6] if len(row) > 6 else None for row in rows]
        lengths, self.index, self.bucket_counts = sketch.stored_many(blobs)
        self.offsets = np.concatenate(([0], np.cumsum(lengths)))

    def groups(self, query: Query, at: datetime) -> tuple[np.ndarray, np.ndarray, list[Labels]]:
        """The query's rows in its window (filters applied), each row's group, and the groups."""
        start, end = _first_hour(at - query.window).timestamp(), at.timestamp()
        lo, hi = np.searchsorted(self.hours, [start, end]).tolist()
        rows = np.arange(lo, hi)
        for name, value in query.filters:
            if name in LABELS:
                code = self.known[name].get(value, -1)
                rows = rows[self.codes[name][rows] == code]
        split = sorted(query.group_by)
        if not split:
            return rows, np.zeros(len(rows), dtype=np.int64), [()]
        keys = np.stack([self.codes[name][rows] for name in split], axis=1)
        found, which = np.unique(keys, axis=0, return_inverse=True)
        label_sets = [
            tuple((name, self.names[name][code]) for name, code in zip(split, key, strict=True))
            for key in found.tolist()
        ]
        return rows, which.reshape(-1), label_sets

    def quantiles(self, rows: np.ndarray, which: np.ndarray, n_groups: int, q: float) -> list:
        """Each group's quantile q of its merged histograms, as `sketch.percentile` answers it."""
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        positions, owners = sketch.run_records(starts, ends, which)
        base, dense = sketch.group_sums(
            owners, self.index[positions], self.bucket_counts[positions], n_groups
        )
        return sketch.grouped_percentile(base, dense, q)


class _RumSource(MetricSource):
    labels = LABELS
    # No page views in the window: no slow page either, a firing alert resolves.
    no_data = "resolve"
    # Whether `compute` needs the rows' histograms.
    histograms = False

    @abc.abstractmethod
    def metric(self, query: Query) -> str:
        """The rollup metric a query reads."""

    def evaluate(self, queries: Sequence[Query], now: datetime) -> list[dict[Labels, float]]:
        """One query: each metric's rows over its longest window ending now."""
        if not queries:
            return []
        starts: dict[str, datetime] = {}
        for query in queries:
            metric = self.metric(query)
            starts[metric] = min(starts.get(metric, now), now - query.window)
        data = _read(starts, now, self.histograms)
        return [self.compute(data, query, now) for query in queries]

    def load(self, queries: Sequence[Query], start: datetime, end: datetime):
        return _read({self.metric(q): start for q in queries}, end, self.histograms)

    def label_values(self, name: str) -> list[str]:
        if name == "site":
            return list(Site.objects.order_by("name").values_list("name", flat=True))
        if name == "device":
            return list(DEVICE_CLASSES)
        if name == "page":
            pages = Rollup.objects.order_by("page").values_list("page", flat=True).distinct()
            return list(pages[:500])
        return []


@register
class VitalP75(_RumSource):
    key = "rum.vital_p75"
    label = "Real users: p75 of a Web Vital"
    unit = "ms (CLS: score)"
    aggregations = ("p75",)
    required_params = ("vital",)

    histograms = True

    def validate(self, query: Query) -> None:
        super().validate(query)
        if query.params["vital"] not in vitals.VITALS:
            raise SourceError(f"vital must be one of {', '.join(vitals.NAMES)}")

    def metric(self, query: Query) -> str:
        return query.params["vital"]

    def compute(self, data, query: Query, at: datetime) -> dict[Labels, float]:
        table = data.get(query.params["vital"])
        if table is None:
            return {}
        rows, which, label_sets = table.groups(query, at)
        p75s = table.quantiles(rows, which, len(label_sets), 0.75)
        return {
            labels: p75 for labels, p75 in zip(label_sets, p75s, strict=True) if p75 is not None
        }


@register
class GoodShare(_RumSource):
    key = "rum.good_share"
    label = "Real users: % of page views passing all Core Web Vitals"
    unit = "%"
    aggregations = ("ratio",)

    def metric(self, query: Query) -> str:
        return vitals.CWV

    def compute(self, data, query: Query, at: datetime) -> dict[Labels, float]:
        table = data.get(vitals.CWV)
        if table is None:
            return {}
        rows, which, label_sets = table.groups(query, at)
        assessed = np.bincount(which, weights=table.count[rows], minlength=len(label_sets))
        good = np.bincount(which, weights=table.good[rows], minlength=len(label_sets))
        return {
            labels: 100 * float(g) / float(n)
            for labels, n, g in zip(label_sets, assessed.tolist(), good.tolist(), strict=True)
            if n
        }
