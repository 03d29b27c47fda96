"""Alert metric sources of monitoring: request latency, errors, throughput, DB time,
Celery failures (from the rollups, per minute), and CPU, memory, disk (system samples).

`evaluate` reads what every query of a tick needs in one database query (two
for disks, one more when a host fell silent), plus the live, unfolded minutes:
only the rows that tile each window (monitoring.alert_rollup_windows for rollups,
monitoring.alert_sample_windows for system samples), so a rule with a window of a
week costs a few hundred rows, not ten thousand minutes. `load` reads a whole
span for the backtest; `compute` is pure. Request figures are summed from whole
minutes up to the moment of the tick: the minute it falls in counts as far as
it has gone (its live sums, flushed every few seconds), so a condition is seen
by the first tick after it starts; rates are per minute of what was read, so
that partial minute never lowers them.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import FloatField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from alerts.sources import Labels, MetricSource, Query, register
from monitoring import alert_rollup_windows, alert_sample_windows, rollup_reads
from monitoring.models import DAY, HOUR, MINUTE, Rollup, SystemSample
from monitoring.recorder import REQUEST, TASK


def _minute(at: datetime) -> int:
    return int(at.timestamp()) // 60 * 60


def _window(query: Query, at: datetime) -> tuple[int, int, float]:
    """The minutes [start, end) a window ending at `at` is summed from, and the seconds read.

    From the start of the minute `at - window` falls in (never shorter than
    asked) to the end of `at`'s own, partial minute; at a whole minute that
    is exactly the window, as the backtest steps it.
    """
    moment = at.timestamp()
    start = _minute(at) - _seconds(query)
    end = math.ceil(moment / MINUTE) * MINUTE
    return start, end, moment - start


def _label_set(query: Query, labels: dict[str, str]) -> Labels:
    return tuple(sorted((name, labels[name]) for name in query.group_by))


class _RolledUpSource(MetricSource):
    """A source over the rollups of one kind; the labels map to series fields.

    `evaluate` reads only the rows that tile each window ending at the tick
    (monitoring.alert_rollup_windows); `load`, for a backtest, reads every row of its span.
    Both go through the same `compute`.
    """

    kind: str = REQUEST
    # label name → position in the series key (kind, name, method, status class)
    label_fields: dict[str, int] = {"route": 1, "method": 2}
    # No requests in the window: nothing is slow or failing, a firing alert resolves.
    no_data = "resolve"
    # An ungrouped query with no data in its window answers this (None: leave it out).
    empty_value: float | None = None
    # A status class whose requests `value` needs counted apart (Sums.share).
    share_of: str | None = None

    def evaluate(self, queries: Sequence[Query], now: datetime) -> list[dict[Labels, float]]:
        if not queries:
            return []
        oldest = rollup_reads.minute_floor()
        wanted = set()
        for query in queries:
            start, end, _ = _window(query, now)
            wanted.update(alert_rollup_windows.spans(start, end, oldest))
        data = alert_rollup_windows.read({self.kind}, wanted, oldest, **self._needs(queries))
        return [self.compute(data, query, now) for query in queries]

    def load(self, queries: Sequence[Query], start: datetime, end: datetime) -> Any:
        first = rollup_reads.epoch(start) // MINUTE * MINUTE
        last = math.ceil(rollup_reads.epoch(end) / MINUTE) * MINUTE
        wanted = [(resolution, first // resolution * resolution, last)
                  for resolution in (MINUTE, HOUR, DAY)]  # fmt: skip
        wanted.append((alert_rollup_windows.LIVE, first // HOUR * HOUR, last))
        return alert_rollup_windows.read(
            {self.kind}, wanted, rollup_reads.minute_floor(), **self._needs(queries)
        )

    def _needs(self, queries: Sequence[Query]) -> dict:
        """The narrowest read serving every query: totals, some names, or everything."""
        needs: dict[str, Any] = {
            "histograms": sorted({name for q in queries for name in self.histograms(q)})
        }
        filtered = [q for q in queries if q.filters or q.group_by]
        if self.kind == REQUEST and not filtered and self.share_of is None:
            return {**needs, "totals": True}
        name_label = next(k for k, v in self.label_fields.items() if v == 1)
        names = {q.params.get(name_label) for q in queries}
        if None in names or any(name_label in q.group_by for q in queries):
            return needs
        return {**needs, "name": names}

    def compute(self, data: Any, query: Query, at: datetime) -> dict[Labels, float]:
        start, end, seconds = _window(query, at)
        chosen = data.select({self.label_fields[k]: v for k, v in query.filters})
        label_sets: dict[Labels, int] = {}
        groups = np.zeros(len(data.keys), dtype=np.int64)
        if query.group_by:
            for i, key in enumerate(data.keys):
                labels = {label: key[position] for label, position in self.label_fields.items()}
                groups[i] = label_sets.setdefault(_label_set(query, labels), len(label_sets))
        else:
            label_sets[()] = 0
        sums = data.sums(chosen, groups, len(label_sets), start, end, self.histograms(query))
        if self.share_of is not None:
            part = data.sums(
                chosen & data.select({3: self.share_of}), groups, len(label_sets), start, end
            )
            for whole, some in zip(sums, part, strict=True):
                whole.share = some.count
        answers = {}
        for labels, group in label_sets.items():
            if sums[group].count:
                answers[labels] = self.value(sums[group], query, seconds / 60.0)
        if not query.group_by and not answers and self.empty_value is not None:
            answers[()] = self.empty_value
        return {labels: v for labels, v in answers.items() if v is not None}

    def histograms(self, query: Query) -> tuple[str, ...]:
        """The histograms `value` needs for this query ("buckets", "db_buckets")."""
        return ()

    @abc.abstractmethod
    def value(self, sums: alert_rollup_windows.Sums, query: Query, minutes: float) -> float | None:
        """The query's figure from the sums of one label set (count > 0) over `minutes` read."""

    def label_values(self, name: str) -> list[str]:
        position = self.label_fields.get(name)
        if position is None:
            return []
        field = {1: "name", 2: "method"}[position]
        since = timezone.now() - timedelta(days=30)
        values = (
            Rollup.objects.filter(kind=self.kind, resolution=DAY, time__gte=since)
            .exclude(name="*")
            .values_list(field, flat=True)
            .distinct()
        )
        return sorted(v for v in values if v)


def _seconds(query: Query) -> int:
    return int(query.window.total_seconds())


QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}


@register
class RequestLatency(_RolledUpSource):
    key = "monitoring.request_latency"
    label = "Request latency"
    unit = "ms"
    aggregations = ("p50", "p90", "p95", "p99", "avg", "max")
    labels = ("route", "method")

    def histograms(self, query):
        return ("buckets",) if query.aggregation in QUANTILES else ()

    def value(self, sums, query, minutes):
        if query.aggregation in QUANTILES:
            return sums.percentile("buckets", QUANTILES[query.aggregation])
        if query.aggregation == "avg":
            return sums.sum_ms / sums.count
        return sums.max_ms


@register
class ErrorRate(_RolledUpSource):
    key = "monitoring.error_rate"
    label = "Error rate (5xx)"
    unit = "%"
    aggregations = ("ratio",)
    labels = ("route", "method")

    def value(self, sums, query, minutes):
        return 100.0 * sums.errors / sums.count


@register
class ClientErrorRate(_RolledUpSource):
    key = "monitoring.client_error_rate"
    label = "Client error rate (4xx)"
    unit = "%"
    aggregations = ("ratio",)
    labels = ("route", "method")
    # The totals rows have no status class: read the series per status.
    share_of = "4xx"

    def value(self, sums, query, minutes):
        return 100.0 * sums.share / sums.count


@register
class Throughput(_RolledUpSource):
    key = "monitoring.throughput"
    label = "Throughput"
    unit = "requests/min"
    aggregations = ("rate",)
    labels = ("route", "method")
    empty_value = 0.0  # no requests at all is a throughput of zero, worth alerting on
    no_data = "keep"  # a route gone quiet: whether that is good depends on the rule

    def value(self, sums, query, minutes):
        return sums.count / minutes


@register
class DatabaseTime(_RolledUpSource):
    key = "monitoring.db_time"
    label = "Database time per request"
    unit = "ms"
    aggregations = ("p95", "avg", "max")
    labels = ("route", "method")

    def histograms(self, query):
        return ("db_buckets",) if query.aggregation == "p95" else ()

    def value(self, sums, query, minutes):
        if query.aggregation == "p95":
            return sums.percentile("db_buckets", 0.95)
        if query.aggregation == "avg":
            return sums.db_ms / sums.count
        return sums.db_max_ms


@register
class CeleryFailureRate(_RolledUpSource):
    key = "monitoring.celery_failure_rate"
    label = "Celery task failure rate"
    unit = "%"
    aggregations = ("ratio",)
    labels = ("task",)
    kind = TASK
    label_fields = {"task": 1}

    def value(self, sums, query, minutes):
        return 100.0 * sums.errors / sums.count


# --- system samples ---------------------------------------------------------------------
class _SystemSource(MetricSource):
    aggregations = ("avg", "max", "last")
    labels = ("host",)
    unit = "%"
    # A host that stopped sending samples is down, or its sampler is: worth an alert.
    no_data = "alert"

    def evaluate(self, queries: Sequence[Query], now: datetime) -> list[dict[Labels, float]]:
        """Reads, for every query at once, the samples and hourly sums tiling its window."""
        if not queries:
            return []
        samples, hours = [], []
        for query in queries:
            spans = alert_sample_windows.tiling((now - query.window).timestamp(), now.timestamp())
            samples += spans[0]
            hours += spans[1]
        data = self._read(queries, samples, hours)
        return [self.compute(data, query, now) for query in queries]

    def load(self, queries: Sequence[Query], start: datetime, end: datetime) -> Any:
        """Every sample of the span (a backtest), and its hourly sums."""
        a, b = start.timestamp(), end.timestamp()
        return self._read(queries, [(a, b)], [(math.ceil(a / HOUR) * HOUR, b // HOUR * HOUR)])

    def _read(self, queries, samples, hours):
        wanted = {q.params.get("host") for q in queries}
        hosts = None if None in wanted else wanted
        return alert_sample_windows.read(
            samples, hours, hosts, self.values, self.field, self.hourly
        )

    def values(self, raw) -> list[tuple[dict, float]]:
        """(extra labels, value) pairs a sample holds: one, or one per mount for disks."""
        return [] if raw is None else [({}, raw)]

    # Per extra label set, the expression summed per hour, from the extra label
    # values the samples show (None: the field itself).
    hourly = None

    def compute(self, data: Any, query: Query, at: datetime) -> dict[Labels, float]:
        since, until = (at - query.window).timestamp(), at.timestamp()
        wanted = query.params
        # Per label set: samples, total, maximum, and the worst of each series' latest value.
        groups: dict[Labels, list] = {}
        for labels, series in data.items():
            named = dict(labels)
            if any(named.get(k) != v for k, v in wanted.items()):
                continue
            n, total, peak, latest = series.summary(since, until)
            if not n and latest is None:
                continue
            group = groups.setdefault(_label_set(query, named), [0, 0.0, -math.inf, None])
            group[0] += n
            group[1] += total
            group[2] = max(group[2], peak)
            if latest is not None:
                group[3] = latest if group[3] is None else max(group[3], latest)
        answers = {}
        for labels, (n, total, peak, latest) in groups.items():
            value = {"avg": total / n if n else None, "max": peak if n else None, "last": latest}
            if value[query.aggregation] is not None:
                answers[labels] = value[query.aggregation]
        return answers

    def label_values(self, name: str) -> list[str]:
        if name != "host":
            return []
        since = timezone.now() - timedelta(days=1)
        hosts = SystemSample.objects.filter(time__gte=since).values_list("host", flat=True)
        return sorted(set(hosts))


@register
class Cpu(_SystemSource):
    key = "monitoring.cpu"
    label = "CPU usage"
    field = "cpu_percent"


@register
class Memory(_SystemSource):
    key = "monitoring.memory"
    label = "Memory usage"
    field = "memory_percent"


@register
class Disk(_SystemSource):
    key = "monitoring.disk"
    label = "Disk usage"
    labels = ("host", "mount")
    field = "disks"

    def values(self, raw):
        return [({"mount": mount}, percent) for mount, percent in (raw or {}).items()]

    @staticmethod
    def hourly(seen):
        return {
            (("mount", mount),): Cast(KeyTextTransform(mount, "disks"), FloatField())
            for mount in sorted(seen)
        }

    def label_values(self, name: str) -> list[str]:
        if name != "mount":
            return super().label_values(name)
        since = datetime.now(UTC) - timedelta(days=1)
        mounts = set()
        for disks in SystemSample.objects.filter(time__gte=since).values_list("disks", flat=True):
            mounts.update(disks or {})
        return sorted(mounts)
