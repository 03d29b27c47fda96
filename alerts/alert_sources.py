"""The alerts app's own metric: notifications that could not be delivered."""

from __future__ import annotations

import bisect
from collections import defaultdict

from alerts.models import Channel, DeliveryAttempt
from alerts.sources import MetricSource, register


@register
class DeliveryFailures(MetricSource):
    """Failed delivery attempts in the window: alert on the alerting itself being broken."""

    key = "alerts.delivery_failures"
    label = "Failed notification deliveries"
    unit = ""
    aggregations = ("count",)
    labels = ("channel",)

    def load(self, queries, start, end):
        # Two queries whatever the number of rules: every channel, and the failures.
        failures = defaultdict(list)
        rows = (
            DeliveryAttempt.objects.filter(ok=False, started_at__gte=start, started_at__lt=end)
            .order_by("started_at")
            .values_list("started_at", "channel__name")
        )
        for started_at, channel in rows:
            failures[channel].append(started_at)
        return {"channels": list(Channel.objects.values_list("name", flat=True)), "at": failures}

    def compute(self, data, query, at):
        start = at - query.window
        wanted = query.params.get("channel")
        counts = {}
        for channel in data["channels"]:
            if wanted is not None and channel != wanted:
                continue
            times = data["at"].get(channel, [])
            counts[channel] = bisect.bisect_left(times, at) - bisect.bisect_left(times, start)
        if "channel" in query.group_by:
            return {(("channel", name),): float(n) for name, n in counts.items()}
        return {(): float(sum(counts.values()))}

    def label_values(self, name):
        return list(Channel.objects.values_list("name", flat=True)) if name == "channel" else []
