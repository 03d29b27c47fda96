"""The alerting status at a glance: firing alerts by severity and one overall word."""

from __future__ import annotations

from django.db.models import Count

from alerts.models import Alert, AlertState, Rule, Severity

# Firing at these severities makes the overall status critical; any other firing, warning.
CRITICAL_SEVERITIES = (Severity.CRITICAL, Severity.HIGH)


def firing_by_severity() -> dict[str, int]:
    # Most severe first: the order they are shown in.
    counts = dict.fromkeys(reversed(Severity.values), 0)
    rows = (
        Alert.objects.filter(state=AlertState.FIRING)
        .values("rule__severity")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["rule__severity"]] = row["n"]
    return counts


def overall(counts: dict[str, int]) -> str:
    if any(counts.get(s) for s in CRITICAL_SEVERITIES):
        return "critical"
    if any(counts.values()):
        return "warning"
    return "good"


def anything_to_report() -> bool:
    """False before any rule is enabled or any alert recorded: the overview says "No data"."""
    return Rule.objects.filter(enabled=True).exists() or Alert.objects.exists()
