"""Security events go after RETENTION_SECURITY_EVENTS_DAYS."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from security.models import SecurityEvent


def purge(now=None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.RETENTION_SECURITY_EVENTS_DAYS)
    deleted, _ = SecurityEvent.objects.filter(at__lt=cutoff).delete()
    return deleted
