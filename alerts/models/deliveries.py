from __future__ import annotations

from django.db import models

from config import display_time


class NotificationKind(models.TextChoices):
    FIRING = "firing", "Firing"
    REPEAT = "repeat", "Repeat"
    ESCALATION = "escalation", "Escalation"
    RESOLVED = "resolved", "Resolved"
    TEST = "test", "Test"


class Notification(models.Model):
    """One message to one channel. Its idempotency key makes it happen at most once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Retrying"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    alert = models.ForeignKey(
        "alerts.Alert",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    channel = models.ForeignKey(
        "alerts.Channel", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # What the message says, fixed when it is planned so every attempt sends the same.
    context = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="alerts_notification_status")]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.channel}"


class DeliveryAttempt(models.Model):
    """One try at sending a notification, with its outcome."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempts_made"
    )
    channel = models.ForeignKey("alerts.Channel", on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()
    ok = models.BooleanField()
    # HTTP status, or the SMTP reply code of an error.
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    permanent = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["started_at"], name="alerts_attempt_started_at")]

    def __str__(self):
        outcome = "ok" if self.ok else (self.error or "failed")
        return f"{self.channel} at {display_time.text(self.started_at, seconds=True)}: {outcome}"
