"""Acknowledging an alert: stops repeats and escalation until it resolves."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, AlertEvent, AlertState

SALT = "alerts.acknowledge"
# Acknowledging changes the alert: who may only look at the dashboard may not.
PERMISSION = "alerts.change_alert"


def ack_token(alert_id: int) -> str:
    return signing.dumps({"alert": alert_id}, salt=SALT, compress=True)


def read_ack_token(token: str) -> int:
    """The alert id in a link's token; raises signing.BadSignature when forged or too old."""
    max_age = timedelta(days=settings.ALERTS_ACK_LINK_MAX_AGE_DAYS)
    return int(signing.loads(token, salt=SALT, max_age=max_age)["alert"])


def ack_url(alert_id: int) -> str:
    path = reverse("alerts:acknowledge", args=[ack_token(alert_id)])
    return f"{settings.SITE_URL}{path}"


def acknowledge(alert: Alert, by: str, at=None) -> bool:
    """Record the acknowledgement; False when the alert is closed or already acknowledged."""
    at = at or timezone.now()
    updated = Alert.objects.filter(
        pk=alert.pk, state__in=[AlertState.PENDING, AlertState.FIRING], acknowledged_at=None
    ).update(acknowledged_at=at, acknowledged_by=by[:150])
    if not updated:
        return False
    alert.refresh_from_db()
    AlertEvent.objects.create(
        alert=alert,
        at=at,
        previous=alert.state,
        state=alert.state,
        value=alert.value,
        note=f"acknowledged by {by}"[:300],
    )
    return True
