"""RUM figures for /metrics, read from shared state at scrape time."""

from __future__ import annotations


class QueueCollector:
    """Beacons accepted but not yet in the database: a growing number means the worker lags."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from rum.queue import queue

        waiting = queue().backlog()
        if waiting is None:
            return  # nothing waits (beacons written by the request), or Redis is unreachable
        gauge = GaugeMetricFamily(
            "perfmon_rum_queued_beacons",
            "RUM beacons accepted and waiting in Redis for the worker to insert them.",
        )
        gauge.add_metric([], waiting)
        yield gauge
