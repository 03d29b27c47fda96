"""Notification channels: a kind code → its transport class, imported when first used."""

from __future__ import annotations

from django.utils.module_loading import import_string

from alerts.transports.base import Transport, TransportError

TRANSPORTS = {
    "email": "alerts.transports.email.EmailTransport",
    "slack": "alerts.transports.slack.SlackTransport",
    "webhook": "alerts.transports.webhook.WebhookTransport",
}


def transport_class(kind: str) -> type[Transport]:
    try:
        return import_string(TRANSPORTS[kind])
    except KeyError:
        raise TransportError(f"no transport for channel kind {kind!r}", permanent=True) from None


def get_transport(channel) -> Transport:
    return transport_class(channel.kind)(channel)


__all__ = ["Transport", "TransportError", "get_transport", "transport_class"]
