"""Old alert history goes: closed alerts, deliveries and received webhooks past retention."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from alerts.models import Alert, DeliveryAttempt, Notification, ReceivedWebhook
from alerts.models.alerts import OPEN_STATES


def purge(now=None) -> dict[str, int]:
    """Delete what is past retention; returns the rows removed per model (cascades included)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.RETENTION_ALERT_HISTORY_DAYS)
    querysets = [
        DeliveryAttempt.objects.filter(started_at__lt=cutoff),
        Notification.objects.filter(created_at__lt=cutoff).exclude(alert__state__in=OPEN_STATES),
        Alert.objects.exclude(state__in=OPEN_STATES).filter(resolved_at__lt=cutoff),
        ReceivedWebhook.objects.filter(received_at__lt=cutoff),
    ]
    removed: dict[str, int] = {}
    for queryset in querysets:
        for label, count in queryset.delete()[1].items():
            removed[label] = removed.get(label, 0) + count
    return removed
