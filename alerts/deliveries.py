"""Sending one notification: claim it, try once, record the attempt, decide what next.

The Celery task (alerts/tasks.py) wraps `attempt` and retries with exponential
backoff while the failure is temporary. A notification is claimed by an
atomic UPDATE before each try, and a sent one is never claimed again, so a
retried or duplicated task never sends twice.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts.messages import render, test_snapshot
from alerts.models import Channel, DeliveryAttempt, Notification, NotificationKind
from alerts.transports import TransportError, get_transport
from config import audit

log = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died mid-send.
STALE_CLAIM = timedelta(minutes=5)
Status = Notification.Status


@dataclass(frozen=True)
class Outcome:
    status: str
    # Seconds until the next try, when the failure was temporary and tries are left.
    retry_in: float | None = None
    detail: str = ""


def backoff_seconds(attempts: int) -> float:
    """Exponential: base, 2×base, 4×base … capped."""
    base = settings.ALERTS_DELIVERY_BACKOFF_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), settings.ALERTS_DELIVERY_BACKOFF_MAX_SECONDS)


def claim(notification_id: int, now: datetime) -> Notification | None:
    claimable = Q(status__in=[Status.PENDING, Status.RETRYING]) | Q(
        status=Status.SENDING, claimed_at__lt=now - STALE_CLAIM
    )
    claimed = Notification.objects.filter(claimable, pk=notification_id).update(
        status=Status.SENDING, claimed_at=now
    )
    if not claimed:
        return None
    return Notification.objects.select_related("channel").get(pk=notification_id)


def attempt(notification_id: int, *, even_if_disabled: bool = False) -> Outcome:
    """One try at sending; returns what happened and whether to retry."""
    now = timezone.now()
    notification = claim(notification_id, now)
    if notification is None:
        return Outcome("skipped", detail="already sent, given up, or being sent")
    channel = notification.channel
    if not channel.enabled and not even_if_disabled:
        _finish(notification, Status.SKIPPED, f"channel disabled: {channel.disabled_reason}")
        return Outcome(Status.SKIPPED, detail="channel disabled")
    started = time.perf_counter()
    error = None
    try:
        status_code = get_transport(channel).send(
            render(notification.context), notification.idempotency_key
        )
    except TransportError as failure:
        error, status_code = failure, failure.status_code
    duration_ms = (time.perf_counter() - started) * 1000
    notification.attempts += 1
    DeliveryAttempt.objects.create(
        notification=notification,
        channel=channel,
        started_at=now,
        duration_ms=round(duration_ms, 1),
        ok=error is None,
        status_code=status_code,
        error=str(error or "")[:500],
        permanent=bool(error and error.permanent),
    )
    if error is None:
        _finish(notification, Status.SENT, "", sent_at=timezone.now())
        return Outcome(Status.SENT, detail=f"HTTP {status_code}" if status_code else "accepted")
    return _failed(notification, channel, error)


def _failed(notification: Notification, channel: Channel, error: TransportError) -> Outcome:
    detail = str(error)[:500]
    is_test = notification.kind == NotificationKind.TEST
    if error.permanent:
        _finish(notification, Status.FAILED, detail)
        if not is_test:
            disable_channel(channel, detail)
        return Outcome(Status.FAILED, detail=detail)
    if is_test or notification.attempts >= settings.ALERTS_DELIVERY_MAX_ATTEMPTS:
        _finish(notification, Status.FAILED, detail)
        return Outcome(Status.FAILED, detail=detail)
    delay = backoff_seconds(notification.attempts)
    notification.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    _finish(notification, Status.RETRYING, detail)
    return Outcome(Status.RETRYING, retry_in=delay, detail=detail)


def _finish(notification: Notification, status: str, error: str, sent_at=None) -> None:
    notification.status, notification.last_error = status, error[:500]
    notification.sent_at = sent_at or notification.sent_at
    notification.save(
        update_fields=["status", "last_error", "sent_at", "attempts", "next_attempt_at"]
    )


def disable_channel(channel: Channel, reason: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        if Channel.objects.filter(pk=channel.pk, enabled=True).update(
            enabled=False, disabled_reason=reason[:500], disabled_at=now
        ):
            changes = {"enabled": [True, False], "disabled_reason": ["", reason[:500]]}
            audit.record("update", channel, changes=changes)
    log.warning("channel %s disabled after a permanent error: %s", channel, reason)


def send_test(channel: Channel) -> Outcome:
    """Send a test message now, once, and say how it went (the admin's "Send test").

    A disabled channel is tried too: that is how one checks a fixed URL before
    enabling it again. A test never disables a channel.
    """
    now = timezone.now()
    notification = Notification.objects.create(
        channel=channel,
        kind=NotificationKind.TEST,
        idempotency_key=f"test:{channel.pk}:{uuid.uuid4().hex}",
        context=test_snapshot(channel, now),
        created_at=now,
        next_attempt_at=now,
    )
    return attempt(notification.pk, even_if_disabled=True)
