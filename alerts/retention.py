"""Old alert history goes: closed alerts, deliveries and received webhooks past retention."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from alerts.models import Alert, DeliveryAttempt, Notification, ReceivedWebhook
from alerts.models.alerts import OPEN_STATES


def purge(now=None) -> dict[str, int]:
    cutoff = (now or timezone.now()) - timedelta(days=settings.RETENTION_ALERT_HISTORY_DAYS)
    removed = {
        "attempts": DeliveryAttempt.objects.filter(started_at__lt=cutoff).delete()[0],
        "notifications": Notification.objects.filter(created_at__lt=cutoff)
        .exclude(alert__state__in=OPEN_STATES)
        .delete()[0],
        "alerts": Alert.objects.exclude(state__in=OPEN_STATES)
        .filter(resolved_at__lt=cutoff)
        .delete()[0],
        "webhooks": ReceivedWebhook.objects.filter(received_at__lt=cutoff).delete()[0],
    }
    return removed
