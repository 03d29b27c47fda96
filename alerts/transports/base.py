"""What every transport does: validate its target, send one message, classify failures."""

from __future__ import annotations

import abc

from django.conf import settings


class TransportError(Exception):
    """A failed send. Permanent errors (404, unknown address) disable the channel;
    temporary ones (timeout, 5xx, refused connection) are retried with backoff."""

    def __init__(self, message: str, *, permanent: bool = False, status_code: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.status_code = status_code


class Transport(abc.ABC):
    kind = ""

    def __init__(self, channel):
        self.channel = channel

    @classmethod
    def clean_target(cls, target: str) -> str:
        """The target normalised, or django.core.exceptions.ValidationError."""
        return target.strip()

    @abc.abstractmethod
    def send(self, message, idempotency_key: str) -> int | None:
        """Deliver the message; return the HTTP status (None when there is none)."""

    @staticmethod
    def timeout() -> float:
        return settings.ALERTS_HTTP_TIMEOUT_SECONDS
