"""Metric sources for alert rules: a registry each app fills from `<app>/alert_sources.py`.

A source answers "the value of this metric over window W ending at time T, for
these labels". Rules that share a source are evaluated together: `evaluate`
gets every query of a tick at once and answers them from one read (a few
database queries over the rollups, never one per rule), then `compute`s each
query in memory. By default that read is `load` over the longest window; a
source may override `evaluate` to read only what its windows ending at T need
(the monitoring and RUM sources do). The backtest in the rule admin's Preview
calls `load` and the very same `compute` through `series`, so it agrees with
live evaluation on the same data.

Source keys are referenced by rules and by the seeded default rules; keep them
stable. Units: milliseconds for durations, percent (0-100) for rates and
shares, plain numbers otherwise (CLS, counts, scores).

    key                            labels              aggregations
    monitoring.request_latency     route, method       p50 p90 p95 p99 avg max
    monitoring.error_rate          route, method       ratio (% of requests answered 5xx)
    monitoring.client_error_rate   route, method       ratio (% of requests answered 4xx)
    monitoring.throughput          route, method       rate (requests per minute)
    monitoring.db_time             route, method       p95 avg max (DB time per request)
    monitoring.celery_failure_rate task                ratio (% of task runs failing)
    monitoring.cpu                 host                avg max last
    monitoring.memory              host                avg max last
    monitoring.disk                host, mount         avg max last
    rum.vital_p75                  site, page, device  p75 (param vital: LCP INP CLS FCP TTFB)
    rum.good_share                 site, page, device  ratio (% of page views passing all CWV)
    dataquality.average_score      entity              avg min (latest score per statement)
    dataquality.critical_issues    entity              count (open critical findings)
    alerts.delivery_failures       channel             count (failed notification deliveries)
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from lib.labels import Labels


@dataclass(frozen=True)
class Query:
    """One rule's question to a source."""

    aggregation: str
    window: timedelta
    # Required parameters and label filters, as sorted (name, value) pairs.
    filters: tuple[tuple[str, str], ...] = ()
    # Labels to split by: one value (and one alert) per label set, e.g. ("route",).
    group_by: tuple[str, ...] = ()

    @property
    def params(self) -> dict[str, str]:
        return dict(self.filters)

    @classmethod
    def build(
        cls,
        aggregation: str,
        window: timedelta,
        filters: dict | None = None,
        group_by: Sequence[str] = (),
    ) -> Query:
        return cls(aggregation, window, tuple(sorted((filters or {}).items())), tuple(group_by))


class SourceError(ValueError):
    """A query the source cannot answer (unknown aggregation, label or parameter)."""


class MetricSource(abc.ABC):
    key: ClassVar[str]
    label: ClassVar[str]
    unit: ClassVar[str]
    aggregations: ClassVar[tuple[str, ...]]
    labels: ClassVar[tuple[str, ...]] = ()
    # Parameters a query must give (e.g. rum.vital_p75 needs vital=LCP).
    required_params: ClassVar[tuple[str, ...]] = ()
    # What no data does to a rule that leaves the choice to its source
    # (alerts.states: "keep", "resolve" or "alert").
    no_data: ClassVar[str] = "keep"

    @abc.abstractmethod
    def load(self, queries: Sequence[Query], start: datetime, end: datetime) -> Any:
        """Read what the queries need over [start, end), in a few database queries."""

    @abc.abstractmethod
    def compute(self, data: Any, query: Query, at: datetime) -> dict[Labels, float]:
        """Pure: the query's value over [at - window, at) from loaded data, per label set.

        Leave out a label set with no data in the window: the rule's no-data
        policy decides what that does (alerts.states).
        """

    def validate(self, query: Query) -> None:
        if query.aggregation not in self.aggregations:
            raise SourceError(
                f"{self.key} has no aggregation {query.aggregation!r}; "
                f"choose one of {', '.join(self.aggregations)}"
            )
        known = set(self.labels) | set(self.required_params)
        unknown = [name for name, _ in query.filters if name not in known]
        if unknown:
            raise SourceError(f"{self.key} has no label or parameter {', '.join(unknown)}")
        missing = [name for name in self.required_params if name not in query.params]
        if missing:
            raise SourceError(f"{self.key} needs {', '.join(missing)}")
        bad_split = [name for name in query.group_by if name not in self.labels]
        if bad_split:
            raise SourceError(f"{self.key} cannot split by {', '.join(bad_split)}")
        if query.window <= timedelta(0):
            raise SourceError("the window must be positive")

    def evaluate(self, queries: Sequence[Query], now: datetime) -> list[dict[Labels, float]]:
        """Every query's value at `now`, from one load."""
        if not queries:
            return []
        longest = max(q.window for q in queries)
        data = self.load(queries, now - longest, now)
        return [self.compute(data, q, now) for q in queries]

    def series(
        self, query: Query, start: datetime, end: datetime, step: timedelta
    ) -> list[tuple[datetime, dict[Labels, float]]]:
        """What `evaluate` would have answered at each step from start to end."""
        data = self.load([query], start - query.window, end)
        points = []
        at = start
        while at <= end:
            points.append((at, self.compute(data, query, at)))
            at += step
        return points

    def label_values(self, name: str) -> list[str]:
        """Known values of a label, for choices in the rule form (optional)."""
        return []


_sources: dict[str, MetricSource] = {}


def register(source_class: type[MetricSource]) -> type[MetricSource]:
    """Class decorator: make a source available to rules under its key."""
    _sources[source_class.key] = source_class()
    return source_class


def get_source(key: str) -> MetricSource:
    try:
        return _sources[key]
    except KeyError:
        raise SourceError(f"no metric source {key!r}") from None


def all_sources() -> list[MetricSource]:
    return sorted(_sources.values(), key=lambda s: s.key)


def unregister(key: str) -> None:
    """Remove a source (tests register throw-away ones)."""
    _sources.pop(key, None)
