"""Reads for the alerts dashboard: open alerts, incidents in a range, MTTA/MTTR, failures."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from statistics import mean

from django.db.models import Q

from alerts.models import Alert, AlertState, DeliveryAttempt
from alerts.models.alerts import OPEN_STATES
from alerts.models.rules import SEVERITY_RANK


def duration_text(seconds: float | None) -> str:
    """3 d 4 h, 2 h 5 min, 12 min, 40 s."""
    if seconds is None or seconds != seconds:  # None or NaN
        return "–"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def open_alerts() -> list[Alert]:
    alerts = list(Alert.objects.filter(state__in=OPEN_STATES).select_related("rule"))
    # Firing before pending, the most severe first, the oldest first.
    return sorted(
        alerts,
        key=lambda a: (
            a.state != AlertState.FIRING,
            -SEVERITY_RANK.get(a.rule.severity, 0),
            a.fired_at or a.started_at,
        ),
    )


def incidents(start: datetime, end: datetime) -> list[Alert]:
    """Alerts that were firing at some moment of [start, end)."""
    overlapping = Q(fired_at__lt=end) & (Q(resolved_at__isnull=True) | Q(resolved_at__gte=start))
    return list(
        Alert.objects.filter(overlapping, fired_at__isnull=False)
        .select_related("rule")
        .order_by("fired_at")
    )


def incidents_frame(alerts: list[Alert]):
    import pandas as pd  # loaded on first use, keeping start-up quick

    rows = [
        {
            "rule": a.rule.name,
            "labels": a.labels_key,
            "severity": a.rule.severity,
            "fired_at": a.fired_at,
            "resolved_at": a.resolved_at,
        }
        for a in alerts
    ]
    frame = pd.DataFrame(rows, columns=["rule", "labels", "severity", "fired_at", "resolved_at"])
    for column in ("fired_at", "resolved_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def rule_stats(alerts: list[Alert], start: datetime, end: datetime) -> list[dict]:
    """Per rule, over incidents that fired in the range: count, MTTA and MTTR in seconds."""
    by_rule: dict[int, list[Alert]] = defaultdict(list)
    for alert in alerts:
        if start <= alert.fired_at < end:
            by_rule[alert.rule_id].append(alert)
    rows = []
    for fired in by_rule.values():
        acked = [
            (a.acknowledged_at - a.fired_at).total_seconds() for a in fired if a.acknowledged_at
        ]
        resolved = [(a.resolved_at - a.fired_at).total_seconds() for a in fired if a.resolved_at]
        rule = fired[0].rule
        rows.append(
            {
                "rule": rule.name,
                "severity": rule.get_severity_display(),
                "fired": len(fired),
                "acknowledged": len(acked),
                "mtta_s": round(mean(acked)) if acked else None,
                "mttr_s": round(mean(resolved)) if resolved else None,
                "firing_now": sum(1 for a in fired if a.state == AlertState.FIRING),
            }
        )
    return sorted(rows, key=lambda r: (-r["fired"], r["rule"]))


def delivery_failures(start: datetime, end: datetime, limit: int = 500) -> list[dict]:
    attempts = (
        DeliveryAttempt.objects.filter(ok=False, started_at__gte=start, started_at__lt=end)
        .select_related("channel", "notification__alert__rule")
        .order_by("-started_at")[:limit]
    )
    rows = []
    for attempt in attempts:
        alert = attempt.notification.alert
        rows.append(
            {
                "at": attempt.started_at,
                "channel": attempt.channel.name,
                "kind": attempt.notification.kind,
                "alert": str(alert) if alert else "test",
                "code": attempt.status_code,
                "error": attempt.error,
                "outcome": "gave up, channel disabled" if attempt.permanent else "retried",
            }
        )
    return rows
