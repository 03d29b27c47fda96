"""RUM figures for /metrics, read from shared state at scrape time."""

from __future__ import annotations

import redis


class QueueCollector:
    """Beacons accepted but not yet in the database: a growing number means the worker lags."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from config.redis_client import redis_configured
        from rum.ingest import backlog

        if not redis_configured():
            return  # without Redis, beacons are written by the request itself
        try:
            waiting = backlog()
        except redis.RedisError:
            return
        gauge = GaugeMetricFamily(
            "perfmon_rum_queued_beacons",
            "RUM beacons accepted and waiting in Redis for the worker to insert them.",
        )
        gauge.add_metric([], waiting)
        yield gauge
