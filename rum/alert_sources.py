"""RUM metrics alert rules can watch, answered from the hourly rollups.

Rollups are hourly, so a window covers the hours that started within it,
[at - window, at): a 1-hour window at 14:30 is the 14:00 hour so far, at 15:00
it is the whole 14:00 hour. Give windows in whole hours.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from alerts.sources import Labels, MetricSource, Query, SourceError, register
from rum import sketch, vitals
from rum.models import Rollup, Site
from rum.useragent import DEVICE_CLASSES

HOUR = timedelta(hours=1)
LABELS = ("site", "page", "device")


def _load(metrics: set[str], start: datetime, end: datetime) -> list[dict]:
    """One query: the rollup rows of these metrics for hours starting in [start, end)."""
    rows = Rollup.objects.filter(hour__gte=start, hour__lt=end, metric__in=sorted(metrics))
    return [
        {**row, "site": row.pop("site__name")}
        for row in rows.values(
            "hour", "site__name", "page", "device", "metric", "count", "good", "histogram"
        )
    ]


def _groups(data: list[dict], query: Query, metric: str, at: datetime) -> dict[Labels, list]:
    """The query's rows in its window, by label set (filters applied)."""
    filters = {k: v for k, v in query.filters if k in LABELS}
    split = sorted(query.group_by)
    start = at - query.window
    groups: dict[Labels, list] = defaultdict(list)
    for row in data:
        if row["metric"] != metric or not start <= row["hour"] < at:
            continue
        if any(row[name] != value for name, value in filters.items()):
            continue
        groups[tuple((name, row[name]) for name in split)].append(row)
    return groups


class _RumSource(MetricSource):
    labels = LABELS

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

    def validate(self, query: Query) -> None:
        super().validate(query)
        if query.params["vital"] not in vitals.VITALS:
            raise SourceError(f"vital must be one of {', '.join(vitals.NAMES)}")

    def load(self, queries: Sequence[Query], start: datetime, end: datetime):
        return _load({q.params["vital"] for q in queries}, start, end)

    def compute(self, data, query: Query, at: datetime) -> dict[Labels, float]:
        values = {}
        for labels, rows in _groups(data, query, query.params["vital"], at).items():
            p75 = sketch.quantile(sketch.merge(r["histogram"] for r in rows), 0.75)
            if p75 is not None:
                values[labels] = p75
        return values


@register
class GoodShare(_RumSource):
    key = "rum.good_share"
    label = "Real users: % of page views passing all Core Web Vitals"
    unit = "%"
    aggregations = ("ratio",)

    def load(self, queries: Sequence[Query], start: datetime, end: datetime):
        return _load({vitals.CWV}, start, end)

    def compute(self, data, query: Query, at: datetime) -> dict[Labels, float]:
        values = {}
        for labels, rows in _groups(data, query, vitals.CWV, at).items():
            assessed = sum(r["count"] for r in rows)
            if assessed:
                values[labels] = 100 * sum(r["good"] for r in rows) / assessed
        return values
