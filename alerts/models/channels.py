from __future__ import annotations

import secrets

from django.db import models


def masked(value: str) -> str:
    """A secret as the admin shows it: its last 4 characters at most, never the rest."""
    if not value:
        return "not set"
    return "••••" + (value[-4:] if len(value) >= 12 else "")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack incoming webhook"
    WEBHOOK = "webhook", "Webhook"


class PayloadFormat(models.TextChoices):
    JSON = "json", "perfmon JSON"
    ALERTMANAGER = "alertmanager", "Alertmanager webhook (version 4)"


class Channel(models.Model):
    """Where notifications go. A permanent error (404, bad address) disables it."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    target = models.CharField(
        max_length=2000,
        help_text="Email: addresses separated by commas. Slack and webhook: an http(s) URL.",
    )
    secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Webhook: the key of the X-Signature HMAC-SHA256 (generated when empty).",
    )
    payload_format = models.CharField(
        max_length=20, choices=PayloadFormat.choices, default=PayloadFormat.JSON
    )
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if self.kind == ChannelKind.WEBHOOK and not self.secret:
            self.secret = new_secret()
        if self.enabled:
            self.disabled_reason, self.disabled_at = "", None
        super().save(*args, **kwargs)

    @property
    def target_is_secret(self) -> bool:
        """A Slack incoming-webhook URL is its own credential: whoever has it can post."""
        return self.kind == ChannelKind.SLACK

    @property
    def target_shown(self) -> str:
        return masked(self.target) if self.target_is_secret else self.target

    @property
    def recipients(self) -> list[str]:
        return [part.strip() for part in self.target.split(",") if part.strip()]
