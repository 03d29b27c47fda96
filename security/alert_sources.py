"""Alert metric sources: failed logins, lockouts and new superusers, from security events.

    security.failed_logins   username, address   rate (per minute), count
    security.lockouts        –                   count
    security.new_superusers  –                   count (users made superuser)

`load` is one query over the longest window; `compute` counts with bisect.
Counts answer 0 over an empty window (nothing happened is a value here).
"""

from __future__ import annotations

import bisect
from collections import defaultdict

from alerts.sources import MetricSource, register
from security import models
from security.models import SecurityEvent


class _EventCount(MetricSource):
    kind: str
    unit = "events"
    aggregations = ("count",)

    def load(self, queries, start, end):
        rows = (
            SecurityEvent.objects.filter(kind=self.kind, at__gte=start, at__lt=end)
            .order_by("at")
            .values_list("at", *self.labels)
        )
        by_labels = defaultdict(list)
        for at, *labels in rows:
            by_labels[tuple(zip(self.labels, (v or "" for v in labels), strict=True))].append(at)
        return by_labels

    def compute(self, data, query, at):
        start = at - query.window
        wanted = query.params
        totals: dict = defaultdict(int)
        for labels, times in data.items():
            values = dict(labels)
            if any(values.get(name) != value for name, value in wanted.items()):
                continue
            n = bisect.bisect_left(times, at) - bisect.bisect_left(times, start)
            if n:
                key = tuple((name, values[name]) for name in sorted(query.group_by))
                totals[key] += n
        if not query.group_by:
            totals[()] += 0  # an empty window counts zero
        per_minute = query.aggregation == "rate"
        minutes = query.window.total_seconds() / 60
        return {k: (v / minutes if per_minute else float(v)) for k, v in totals.items()}

    def label_values(self, name):
        if name not in self.labels:
            return []
        values = SecurityEvent.objects.filter(kind=self.kind).values_list(name, flat=True)
        return sorted({v for v in values.distinct()[:200] if v})


@register
class FailedLogins(_EventCount):
    key = "security.failed_logins"
    label = "Failed logins"
    unit = "per minute"
    kind = models.LOGIN_FAILED
    aggregations = ("rate", "count")
    labels = ("username", "address")


@register
class Lockouts(_EventCount):
    key = "security.lockouts"
    label = "Login lockouts"
    kind = models.LOCKOUT


@register
class NewSuperusers(_EventCount):
    key = "security.new_superusers"
    label = "Users made superuser"
    unit = "users"
    kind = models.SUPERUSER_GRANTED
