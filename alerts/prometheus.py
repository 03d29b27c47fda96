"""Alerting state for Prometheus, read from the database at scrape time."""

from __future__ import annotations

import logging

from django.db import DatabaseError

log = logging.getLogger(__name__)


class AlertsCollector:
    def collect(self):
        # A database problem must not take the rest of /metrics down with it.
        try:
            yield from self._families()
        except DatabaseError:
            log.exception("alert metrics could not be read")

    def _families(self):
        from prometheus_client.core import GaugeMetricFamily

        from alerts.models import Channel, Rule
        from alerts.status import firing_by_severity

        firing = GaugeMetricFamily(
            "perfmon_alerts_firing", "Alerts firing now, by severity.", labels=["severity"]
        )
        for severity, count in firing_by_severity().items():
            firing.add_metric([severity], count)
        rules = Rule.objects.filter(enabled=True).count()
        disabled = Channel.objects.filter(enabled=False).count()
        # Read everything first: a failure yields nothing rather than half the families.
        yield firing
        yield GaugeMetricFamily(
            "perfmon_alert_rules_enabled", "Alert rules being evaluated.", value=rules
        )
        yield GaugeMetricFamily(
            "perfmon_alert_channels_disabled",
            "Notification channels disabled after a permanent error or by hand.",
            value=disabled,
        )
