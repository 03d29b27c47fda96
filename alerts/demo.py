"""Demo data: channels pointing at local sinks, rules by source key, and recorded incidents.

Rules on the monitoring, RUM and data-quality sources fire on those apps' demo
traffic. Independently of them, the demo shows one firing alert from data of
this app (a recent notification failure, watched by the delivery-failures
rule) and a history of resolved incidents with their timelines.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from alerts.models import (
    Alert,
    AlertEvent,
    Channel,
    DeliveryAttempt,
    MaintenanceWindow,
    Notification,
    Rule,
    Silence,
)
from alerts.notify import idempotency_key

WEBHOOK, ALERTMANAGER = "Ops webhook (built-in receiver)", "Alertmanager format (built-in receiver)"
EMAIL, PAGER = "Ops email (console)", "Legacy pager (misconfigured)"
DEMO_USER = "demo"

RULES = [
    {
        "name": "API p95 latency above 1 s",
        "source": "monitoring.request_latency",
        "aggregation": "p95",
        "group_by": ["route"],
        "threshold": 1000,
        "resolve_threshold": 800,
        "window_minutes": 5,
        "for_minutes": 2,
        "severity": "high",
        "repeat_minutes": 60,
        "runbook_url": "https://wiki.example.com/runbooks/latency",
        "channels": [WEBHOOK, EMAIL, PAGER],
    },
    {
        "name": "Error rate above 2 %",
        "source": "monitoring.error_rate",
        "aggregation": "ratio",
        "group_by": ["route"],
        "threshold": 2,
        "resolve_threshold": 1,
        "window_minutes": 5,
        "severity": "critical",
        "channels": [WEBHOOK, EMAIL],
        "escalate_after_minutes": 15,
        "escalation": [ALERTMANAGER],
    },
    {
        "name": "4xx rate above 20 %",
        "source": "monitoring.client_error_rate",
        "aggregation": "ratio",
        "group_by": ["route"],
        "threshold": 20,
        "resolve_threshold": 15,
        "window_minutes": 10,
        "for_minutes": 5,
        "severity": "low",
        "description": "Clients are refused or call URLs that do not exist: a broken "
        "release of a client, or someone probing.",
        "channels": [WEBHOOK],
    },
    {
        "name": "No system samples",
        "source": "monitoring.cpu",
        "aggregation": "last",
        # Never past by a value: this rule is about the samples stopping.
        "threshold": 100,
        "window_minutes": 5,
        "for_minutes": 2,
        "no_data": "alert",
        "severity": "high",
        "description": "No host sent a system sample for 5 minutes: the worker or beat "
        "is down, and with them the evaluation of other rules.",
        "channels": [WEBHOOK, EMAIL],
    },
    {
        "name": "LCP p75 above 2.5 s",
        "source": "rum.vital_p75",
        "aggregation": "p75",
        "filters": {"vital": "LCP"},
        "group_by": ["page"],
        "threshold": 2500,
        "resolve_threshold": 2200,
        "window_minutes": 60,
        "severity": "medium",
        "channels": [WEBHOOK],
    },
    {
        "name": "Host CPU above 70 %",
        "source": "monitoring.cpu",
        "aggregation": "avg",
        "group_by": ["host"],
        "threshold": 70,
        "resolve_threshold": 60,
        "window_minutes": 5,
        "for_minutes": 3,
        "severity": "medium",
        "channels": [WEBHOOK],
    },
    {
        "name": "Data quality score below 90",
        "source": "dataquality.average_score",
        "aggregation": "avg",
        "operator": "lt",
        "threshold": 90,
        "resolve_threshold": 92,
        "window_minutes": 1440,
        "severity": "low",
        "channels": [EMAIL],
    },
    {
        "name": "Notification deliveries failing",
        "source": "alerts.delivery_failures",
        "aggregation": "count",
        "group_by": ["channel"],
        "threshold": 0,
        "window_minutes": 60,
        "severity": "high",
        "description": "A channel could not be reached: notifications may be getting lost.",
        "message": "{{ value_text }} failed deliveries to “{{ labels.channel }}” in the last hour",
        "channels": [WEBHOOK, EMAIL],
        "escalate_after_minutes": 30,
        "escalation": [ALERTMANAGER],
    },
]


def load(stdout) -> None:
    with transaction.atomic():
        channels = _channels()
        rules = {spec["name"]: _rule(spec, channels) for spec in RULES}
        _silences(rules)
        made = _history(rules, channels)
    stdout.write(
        f"  alerts: {len(channels)} channels, {len(rules)} demo rules"
        + (f", {made} recorded incidents" if made else "")
    )


def _sink_url(channel: Channel) -> str:
    return settings.SITE_URL + reverse("alerts:sink", args=[channel.pk])


def _channels() -> dict[str, Channel]:
    made = {}
    for name, fmt in ((WEBHOOK, "json"), (ALERTMANAGER, "alertmanager")):
        channel, _ = Channel.objects.get_or_create(
            name=name,
            defaults={"kind": "webhook", "target": "http://127.0.0.1/", "payload_format": fmt},
        )
        # The port may differ from the last run: point at this run's receiver.
        if channel.target != _sink_url(channel):
            channel.target = _sink_url(channel)
            channel.save(update_fields=["target"])
        made[name] = channel
    made[EMAIL], _ = Channel.objects.get_or_create(
        name=EMAIL, defaults={"kind": "email", "target": "ops@example.com, oncall@example.com"}
    )
    made[PAGER], _ = Channel.objects.get_or_create(
        name=PAGER,
        defaults={
            "kind": "webhook",
            "target": settings.SITE_URL + "/alerts/sink/0/",
            "enabled": False,
        },
    )
    return made


def _rule(spec: dict, channels: dict[str, Channel]) -> Rule:
    spec = dict(spec)
    targets = [channels[name] for name in spec.pop("channels")]
    escalation = [channels[name] for name in spec.pop("escalation", [])]
    rule, created = Rule.objects.get_or_create(
        name=spec.pop("name"), defaults={**spec, "enabled": True}
    )
    if created:
        rule.channels.set(targets)
        rule.escalation_channels.set(escalation)
    return rule


def _silences(rules: dict[str, Rule]) -> None:
    if not MaintenanceWindow.objects.filter(name="Nightly backups").exists():
        MaintenanceWindow.objects.create(
            name="Nightly backups",
            rule=rules["Host CPU above 70 %"],
            weekdays=[0, 1, 2, 3, 4, 5, 6],
            start_time="02:00",
            end_time="02:30",
            time_zone="Europe/Berlin",
            comment="The backup job saturates the CPU for half an hour.",
        )
    if not Silence.objects.exists():
        now = timezone.now()
        Silence.objects.create(
            rule=rules["LCP p75 above 2.5 s"],
            labels={"page": "/reports/"},
            starts_at=now - timedelta(days=2),
            ends_at=now - timedelta(days=1, hours=20),
            comment="Reports page redesign rolling out: known slow.",
        )


def _history(rules: dict[str, Rule], channels: dict[str, Channel]) -> int:
    """Recorded incidents relative to now; added again only once the last ones have aged."""
    now = timezone.now().replace(second=0, microsecond=0)
    recent = DeliveryAttempt.objects.filter(
        channel=channels[PAGER], ok=False, started_at__gte=now - timedelta(minutes=40)
    )
    made = 0
    if not recent.exists():
        _incident(
            rules["API p95 latency above 1 s"],
            {"route": "/api/reports/export/"},
            now - timedelta(minutes=25),
            lasted=timedelta(minutes=13),
            values=(1480, 1720, 760),
            channels=channels,
            pager_404=True,
        )
        made += 1
    latency = rules["API p95 latency above 1 s"]
    if (
        not Alert.objects.filter(rule=latency, fired_at__gte=now - timedelta(days=3))
        .exclude(labels_key="route=/api/reports/export/")
        .exists()
    ):
        _incident(
            latency,
            {"route": "/api/checkout/"},
            now - timedelta(hours=19),
            timedelta(minutes=26),
            (1210, 1630, 640),
            channels,
            acked_after=timedelta(minutes=4),
        )
        _incident(
            rules["Error rate above 2 %"],
            {"route": "/api/orders/<int:pk>/"},
            now - timedelta(days=2, hours=3),
            timedelta(minutes=41),
            (3.4, 7.9, 0.6),
            channels,
            acked_after=timedelta(minutes=9),
        )
        _incident(
            rules["Host CPU above 70 %"],
            {"host": "web-2"},
            now - timedelta(days=4, hours=6),
            timedelta(hours=1, minutes=5),
            (74, 88, 52),
            channels,
            acked_after=timedelta(minutes=12),
        )
        _incident(
            rules["LCP p75 above 2.5 s"],
            {"page": "/products/<slug>/"},
            now - timedelta(hours=6),
            timedelta(minutes=55),
            (2710, 3180, 2050),
            channels,
        )
        # The route was retired: its traffic stopped, and the latency rule
        # resolves on no data (the default of request latency).
        _incident(
            latency,
            {"route": "/api/v1/search/"},
            now - timedelta(days=3, hours=2),
            timedelta(minutes=9),
            (1340, 1560, None),
            channels,
            no_data="resolved",
        )
        # The worker was stopped for an upgrade: no samples, an alert "no data".
        _incident(
            rules["No system samples"],
            {},
            now - timedelta(days=1, hours=7),
            timedelta(minutes=14),
            (None, None, 31),
            channels,
            no_data="fired",
            acked_after=timedelta(minutes=3),
        )
        made += 6
    return made


NO_DATA_NOTES = {
    "resolved": "no data: the rule resolves when there is no data",
    "fired": "no data: the rule alerts when there is no data",
}


def _incident(
    rule,
    labels,
    pending_at,
    lasted,
    values,
    channels,
    acked_after=None,
    pager_404=False,
    no_data="",
):
    """One recorded incident: its timeline, and its notifications with their attempts.

    `no_data`: "resolved" when it ended because the data stopped, "fired" when
    the data stopping was the incident (a value of None in `values`).
    """
    first, peak, last = values
    note = NO_DATA_NOTES.get(no_data, "")
    fired_at = pending_at + timedelta(minutes=rule.for_minutes)
    resolved_at = fired_at + lasted
    key = ",".join(f"{k}={v}" for k, v in labels.items())
    alert = Alert.objects.create(
        rule=rule,
        labels=labels,
        labels_key=key,
        state="resolved",
        value=peak if last is None else last,
        no_data_since=resolved_at if no_data == "resolved" else None,
        started_at=pending_at,
        fired_at=fired_at,
        resolved_at=resolved_at,
        evaluated_at=resolved_at,
        acknowledged_at=fired_at + acked_after if acked_after else None,
        acknowledged_by=DEMO_USER if acked_after else "",
        notified_at=fired_at,
        last_notified_at=fired_at,
    )
    events = []
    if rule.for_minutes:
        events.append(
            AlertEvent(
                alert=alert,
                at=pending_at,
                previous="inactive",
                state="pending",
                value=first,
                note=note if first is None else "",
            )
        )
    events.append(
        AlertEvent(
            alert=alert,
            at=fired_at,
            previous="pending" if rule.for_minutes else "inactive",
            state="firing",
            value=peak,
            note=note if peak is None else "",
        )
    )
    if acked_after:
        events.append(
            AlertEvent(
                alert=alert,
                at=fired_at + acked_after,
                previous="firing",
                state="firing",
                value=peak,
                note=f"acknowledged by {DEMO_USER}",
            )
        )
    events.append(
        AlertEvent(
            alert=alert,
            at=resolved_at,
            previous="firing",
            state="resolved",
            value=last,
            note=note if last is None else "",
        )
    )
    AlertEvent.objects.bulk_create(events)
    for kind, at in (("firing", fired_at), ("resolved", resolved_at)):
        _delivered(alert, channels[WEBHOOK], kind, at)
    if pager_404:
        _pager_failure(alert, channels[PAGER], fired_at)


def _delivered(alert, channel, kind, at):
    notification = Notification.objects.create(
        alert=alert,
        channel=channel,
        kind=kind,
        idempotency_key=idempotency_key(alert.pk, kind, 0, channel.pk),
        status="sent",
        context={"kind": kind, "rule": alert.rule.name, "labels": alert.labels},
        created_at=at,
        sent_at=at + timedelta(seconds=2),
        attempts=1,
    )
    DeliveryAttempt.objects.create(
        notification=notification,
        channel=channel,
        started_at=at + timedelta(seconds=1),
        duration_ms=38.0,
        ok=True,
        status_code=200,
    )


def _pager_failure(alert, channel, at):
    reason = "HTTP 404 Not Found"
    notification = Notification.objects.create(
        alert=alert,
        channel=channel,
        kind="firing",
        idempotency_key=idempotency_key(alert.pk, "firing", 0, channel.pk),
        status="failed",
        context={"kind": "firing", "rule": alert.rule.name, "labels": alert.labels},
        created_at=at,
        attempts=1,
        last_error=reason,
    )
    DeliveryAttempt.objects.create(
        notification=notification,
        channel=channel,
        started_at=at + timedelta(seconds=1),
        duration_ms=12.0,
        ok=False,
        status_code=404,
        error=reason,
        permanent=True,
    )
    Channel.objects.filter(pk=channel.pk).update(
        enabled=False, disabled_reason=reason, disabled_at=at
    )
