from __future__ import annotations

from django.db import models

from config import display_time


class ReceivedWebhook(models.Model):
    """A message the built-in webhook receiver accepted (a local sink for trying channels)."""

    channel = models.ForeignKey(
        "alerts.Channel", on_delete=models.CASCADE, related_name="received_webhooks"
    )
    received_at = models.DateTimeField()
    headers = models.JSONField(default=dict)
    # Retries of one notification carry the same key: stored once (alerts/sink.py).
    idempotency_key = models.CharField(max_length=200, blank=True, db_index=True)
    body = models.JSONField(default=dict)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "received webhook"
        constraints = [
            # Stored once even when copies arrive at the same moment.
            models.UniqueConstraint(
                fields=["channel", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="alerts_receivedwebhook_once",
            )
        ]

    def __str__(self):
        return f"{self.channel} at {display_time.text(self.received_at, seconds=True)}"
