"""The alerts dashboard page, the overview card and the firing-alerts banner."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from alerts import queries, status
from alerts.acks import PERMISSION as ACKNOWLEDGE_PERMISSION
from alerts.evaluate import HEARTBEAT
from alerts.models import Channel
from alerts.queries import duration_text
from config import dashboards
from config.models import Heartbeat
from config.tables import Column, Table

PERMISSION = "alerts.view_dashboard"


def _duration(value) -> str:
    return duration_text(value)


@dashboards.page("alerts", "Alerts", permission=PERMISSION, order=50)
def alerts_page(request, ctx):
    from alerts import charts  # pandas and Plotly load on first use, not at start-up

    time_range = ctx.time_range
    now = timezone.now()
    open_alerts = queries.open_alerts()
    for alert in open_alerts:
        alert.age_text = duration_text((now - (alert.fired_at or alert.started_at)).total_seconds())
    incidents = queries.incidents(time_range.start, time_range.end)
    figure = charts.timeline_figure(
        queries.incidents_frame(incidents), time_range.start, time_range.end
    )
    tables = [
        _active_table(open_alerts),
        _rules_table(queries.rule_stats(incidents, time_range.start, time_range.end)),
        _failures_table(queries.delivery_failures(time_range.start, time_range.end)),
    ]
    counts = status.firing_by_severity()
    beat = Heartbeat.objects.filter(name=HEARTBEAT).first()
    context = {
        "open_alerts": open_alerts,
        "counts": counts,
        "overall": status.overall(counts),
        "pending": sum(1 for a in open_alerts if a.state == "pending"),
        "figure": figure if incidents else None,
        "disabled_channels": Channel.objects.filter(enabled=False),
        "last_evaluation": beat.last_seen if beat else None,
        "next_url": request.get_full_path(),
        "can_acknowledge": request.user.has_perm(ACKNOWLEDGE_PERMISSION),
        "can_silence": request.user.has_perm("alerts.add_silence"),
    }
    return ctx.render("alerts/dashboard.html", context, tables=tables)


def _active_table(open_alerts) -> Table:
    rows = [
        {
            "rule": a.rule.name,
            "labels": a.labels_key,
            "state": a.state,
            "severity": a.rule.severity,
            "value": a.value,
            "since": a.fired_at or a.started_at,
            "acknowledged_by": a.acknowledged_by or None,
            "silenced": "yes" if a.silenced else "no",
        }
        for a in open_alerts
    ]
    columns = [
        Column("rule", "Rule"),
        Column("labels", "Labels"),
        Column("state", "State"),
        Column("severity", "Severity"),
        Column("value", "Value", numeric=True),
        Column("since", "Since"),
        Column("acknowledged_by", "Acknowledged by"),
        Column("silenced", "Silenced"),
    ]
    return Table("active", "Firing and pending", columns, rows, empty="Nothing is firing.")


def _rules_table(stats) -> Table:
    for row in stats:
        row["url"] = reverse("admin:alerts_rule_changelist") + f"?q={row['rule']}"
    columns = [
        Column("rule", "Rule", link="url"),
        Column("severity", "Severity"),
        Column("fired", "Times fired", numeric=True),
        Column("acknowledged", "Acknowledged", numeric=True),
        Column("mtta_s", "MTTA", format=_duration, numeric=True),
        Column("mttr_s", "MTTR", format=_duration, numeric=True),
        Column("firing_now", "Firing now", numeric=True),
    ]
    return Table("rules", "Per rule", columns, stats, empty="No rule fired in this range.")


def _failures_table(failures) -> Table:
    columns = [
        Column("at", "Time"),
        Column("channel", "Channel"),
        Column("kind", "Notification"),
        Column("alert", "Alert"),
        Column("code", "Code", numeric=True),
        Column("error", "Error"),
        Column("outcome", "Then"),
    ]
    return Table(
        "failures",
        "Notification failures",
        columns,
        failures,
        empty="Every notification in this range was delivered.",
    )


@dashboards.card("alerts", "Alerts", permission=PERMISSION, order=5)
def overview_card(request, time_range):
    if not status.anything_to_report():
        return None
    counts = status.firing_by_severity()
    firing = sum(counts.values())
    note = "Nothing is firing." if not firing else f"{firing} alert{'s' * (firing != 1)} firing."
    return dashboards.Card(
        "Alerts",
        status.overall(counts),
        metrics=[(label, str(counts[key])) for key, label in SEVERITY_LABELS],
        link=reverse("admin:dashboard", args=["alerts"]),
        note=note,
    )


SEVERITY_LABELS = [("critical", "Critical"), ("high", "High"), ("medium", "Medium"), ("low", "Low")]


@dashboards.banner
def firing_banner(request):
    if not request.user.has_perm(PERMISSION):
        return []
    counts = status.firing_by_severity()
    firing = sum(counts.values())
    if not firing:
        return []
    detail = ", ".join(
        f"{counts[key]} {label.lower()}" for key, label in SEVERITY_LABELS if counts[key]
    )
    level = "critical" if status.overall(counts) == "critical" else "warning"
    text = f"{firing} alert{'s' * (firing != 1)} firing: {detail}"
    return [dashboards.Banner(level, text, reverse("admin:dashboard", args=["alerts"]))]
