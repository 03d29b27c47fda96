"""Alert metric sources: the quality score and the critical issues, from the kept runs.

Both are states, not rates: the value at time T comes from each statement's
latest run before T, however old that run is (the window only bounds what
`load` reads beyond that). `load` takes one database query whatever the number
of queries (see dataquality.history.load_runs); `compute` is pandas in memory.
"""

from __future__ import annotations

from alerts.sources import MetricSource, Query, register
from dataquality.history import as_of, load_runs
from dataquality.models import Entity


class _RunsSource(MetricSource):
    labels = ("entity",)

    def load(self, queries, start, end):
        return load_runs(start, end)

    def _latest(self, data, query: Query, at):
        latest = as_of(data, at)
        entity = query.params.get("entity")
        if entity is not None:
            latest = latest[latest["entity"] == entity]
        return latest

    def _grouped(self, latest, query: Query):
        if "entity" in query.group_by:
            return [((("entity", str(name)),), rows) for name, rows in latest.groupby("entity")]
        return [((), latest)] if not latest.empty else []

    def label_values(self, name):
        return list(Entity.objects.order_by("name").values_list("name", flat=True))


@register
class AverageScore(_RunsSource):
    key = "dataquality.average_score"
    label = "Data quality score"
    unit = "score"
    aggregations = ("avg", "min")

    def compute(self, data, query, at):
        latest = self._latest(data, query, at)
        pick = {"avg": "mean", "min": "min"}[query.aggregation]
        return {
            labels: float(getattr(rows["score"], pick)())
            for labels, rows in self._grouped(latest, query)
        }


@register
class CriticalIssues(_RunsSource):
    key = "dataquality.critical_issues"
    label = "Open critical data-quality issues"
    unit = "issues"
    aggregations = ("count",)

    def compute(self, data, query, at):
        latest = self._latest(data, query, at)
        return {
            labels: float(rows["critical"].sum()) for labels, rows in self._grouped(latest, query)
        }
