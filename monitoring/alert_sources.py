"""Alert metric sources of monitoring: request latency, errors, throughput, DB time,
Celery failures (from the rollups, per minute), and CPU, memory, disk (system samples).

`load` reads what every query of a tick needs in one or two database queries
(plus the live, unfolded minutes); `compute` is pure. Request figures use whole
minutes: the window ends at the start of `at`'s minute, so a half-filled
minute never lowers a rate.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from alerts.sources import Labels, MetricSource, Query, register
from monitoring import histogram, rollups
from monitoring.models import DAY, Rollup, SystemSample
from monitoring.recorder import REQUEST, TASK, Series


def _minute(at: datetime) -> int:
    return int(at.timestamp()) // 60 * 60


def _label_set(query: Query, labels: dict[str, str]) -> Labels:
    return tuple(sorted((name, labels[name]) for name in query.group_by))


class _RolledUpSource(MetricSource):
    """A source over per-minute rollups of one kind; the labels map to series fields."""

    kind: str = REQUEST
    # label name → position in the series key (kind, name, method, status class)
    label_fields: dict[str, int] = {"route": 1, "method": 2}
    # An ungrouped query with no data in its window answers this (None: leave it out).
    empty_value: float | None = None

    def load(self, queries: Sequence[Query], start: datetime, end: datetime) -> Any:
        return rollups.load_steps({self.kind}, start, end, 60, **self._needs(queries))

    def _needs(self, queries: Sequence[Query]) -> dict:
        """The narrowest read serving every query: totals, some names, or everything."""
        filtered = [q for q in queries if q.filters or q.group_by]
        if self.kind == REQUEST and not filtered:
            return {"totals": True}
        name_label = next(k for k, v in self.label_fields.items() if v == 1)
        names = {q.params.get(name_label) for q in queries}
        if None in names or any(name_label in q.group_by for q in queries):
            return {}
        return {"name": names}

    def compute(self, data: Any, query: Query, at: datetime) -> dict[Labels, float]:
        end = _minute(at)
        start = end - int(query.window.total_seconds())
        wanted = {self.label_fields[k]: v for k, v in query.filters}
        groups: dict[Labels, Series] = {}
        for minute, series in data.items():
            if not start <= minute < end:
                continue
            for key, value in series.items():
                if any(key[position] != v for position, v in wanted.items()):
                    continue
                labels = {label: key[position] for label, position in self.label_fields.items()}
                group = groups.setdefault(_label_set(query, labels), Series())
                group.merge(value)
        answers = {labels: self.value(s, query) for labels, s in groups.items() if s.count}
        if not query.group_by and not answers and self.empty_value is not None:
            answers[()] = self.empty_value
        return {labels: v for labels, v in answers.items() if v is not None}

    @abc.abstractmethod
    def value(self, series: Series, query: Query) -> float | None:
        """The query's figure from the sums of one label set (count > 0)."""

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


QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}


@register
class RequestLatency(_RolledUpSource):
    key = "monitoring.request_latency"
    label = "Request latency"
    unit = "ms"
    aggregations = ("p50", "p90", "p95", "p99", "avg", "max")
    labels = ("route", "method")

    def value(self, series, query):
        if query.aggregation in QUANTILES:
            return histogram.percentile(series.buckets, QUANTILES[query.aggregation])
        if query.aggregation == "avg":
            return series.sum_ms / series.count
        return series.max_ms


@register
class ErrorRate(_RolledUpSource):
    key = "monitoring.error_rate"
    label = "Error rate (5xx)"
    unit = "%"
    aggregations = ("ratio",)
    labels = ("route", "method")

    def value(self, series, query):
        return 100.0 * series.errors / series.count


@register
class Throughput(_RolledUpSource):
    key = "monitoring.throughput"
    label = "Throughput"
    unit = "requests/min"
    aggregations = ("rate",)
    labels = ("route", "method")
    empty_value = 0.0  # no requests at all is a throughput of zero, worth alerting on

    def value(self, series, query):
        return series.count / (query.window.total_seconds() / 60.0)


@register
class DatabaseTime(_RolledUpSource):
    key = "monitoring.db_time"
    label = "Database time per request"
    unit = "ms"
    aggregations = ("p95", "avg", "max")
    labels = ("route", "method")

    def value(self, series, query):
        if query.aggregation == "p95":
            return histogram.percentile(series.db_buckets, 0.95)
        if query.aggregation == "avg":
            return series.db_ms / series.count
        return series.db_max_ms


@register
class CeleryFailureRate(_RolledUpSource):
    key = "monitoring.celery_failure_rate"
    label = "Celery task failure rate"
    unit = "%"
    aggregations = ("ratio",)
    labels = ("task",)
    kind = TASK
    label_fields = {"task": 1}

    def value(self, series, query):
        return 100.0 * series.errors / series.count


# --- system samples ---------------------------------------------------------------------
class _SystemSource(MetricSource):
    aggregations = ("avg", "max", "last")
    labels = ("host",)
    unit = "%"

    def load(self, queries: Sequence[Query], start: datetime, end: datetime) -> Any:
        hosts = {q.params.get("host") for q in queries}
        rows = SystemSample.objects.filter(time__gte=start, time__lt=end).order_by("time")
        if None not in hosts:
            rows = rows.filter(host__in=hosts)
        return [
            (time, host, value)
            for time, host, raw in rows.values_list("time", "host", self.field)
            for value in self.values(raw)
        ]

    def values(self, raw) -> list[tuple[dict, float]]:
        """(extra labels, value) pairs a sample holds: one, or one per mount for disks."""
        return [] if raw is None else [({}, raw)]

    def compute(self, data: Any, query: Query, at: datetime) -> dict[Labels, float]:
        since = at - query.window
        wanted = query.params
        groups: dict[Labels, dict[str, list[float]]] = {}
        for moment, host, (extra, value) in data:
            if not since <= moment < at:
                continue
            labels = {"host": host, **extra}
            if any(labels.get(k) != v for k, v in wanted.items()):
                continue
            per_host = groups.setdefault(_label_set(query, labels), {})
            # Rows come in time order: each list ends with its newest value.
            per_host.setdefault(f"{host}\x1f{extra.get('mount', '')}", []).append(value)
        return {
            labels: self._aggregate(found, query.aggregation) for labels, found in groups.items()
        }

    @staticmethod
    def _aggregate(found: dict[str, list[float]], aggregation: str) -> float:
        values = [v for series in found.values() for v in series]
        if aggregation == "avg":
            return sum(values) / len(values)
        if aggregation == "max":
            return max(values)
        # last: the latest value of each host (or mount); across several, the worst.
        return max(series[-1] for series in found.values())

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

    def label_values(self, name: str) -> list[str]:
        if name != "mount":
            return super().label_values(name)
        since = datetime.now(UTC) - timedelta(days=1)
        mounts = set()
        for disks in SystemSample.objects.filter(time__gte=since).values_list("disks", flat=True):
            mounts.update(disks or {})
        return sorted(mounts)
