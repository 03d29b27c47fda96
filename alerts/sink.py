"""The built-in webhook receiver's rules: signed by the channel, fresh, once, in its rate.

A message counts only when its signature (over the timestamp, the idempotency key
and the body) verifies with the channel's secret, its timestamp is within
WINDOW_SECONDS of now, and its key was not stored before: a replay with the same
key is a duplicate, one with a new key no longer verifies. One key per message
(unique in the database) also covers "the same signature": a signature names
its key. Too deep a body is refused before anything walks it recursively.
"""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from alerts.models import Channel, ChannelKind, ReceivedWebhook
from alerts.transports.webhook import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from config.client_address import client_address

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
WINDOW_SECONDS = 5 * 60
# Alertmanager's and our own payloads are 4 levels deep.
MAX_DEPTH = 32
KEPT_HEADERS = ("Content-Type", "User-Agent", SIGNATURE_HEADER, TIMESTAMP_HEADER, KEY_HEADER)


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class SinkThrottle(SimpleRateThrottle):
    """Per client address, counted in the shared cache (Redis when configured)."""

    scope = "alerts_sink"

    def get_rate(self):
        return settings.ALERTS_SINK_THROTTLE_RATE or None

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache is down: a local receiver need not go down with it
            log.warning("webhook receiver throttle cache unreachable; letting the message in")
            return True


def receive(channel_id: int, body: bytes, headers, now: float | None = None) -> dict:
    """Store one message sent to the channel's receiver; the answer's JSON, or Refused."""
    if len(body) > MAX_BODY:
        raise Refused(413, f"body larger than {MAX_BODY} bytes")
    channel = Channel.objects.filter(pk=channel_id, kind=ChannelKind.WEBHOOK).first()
    if channel is None:
        raise Refused(404, "no such webhook channel")
    timestamp, key = headers.get(TIMESTAMP_HEADER, ""), headers.get(KEY_HEADER, "")
    if not timestamp.isdigit():
        raise Refused(400, f"{TIMESTAMP_HEADER} must be Unix seconds")
    if not key or len(key) > 200:
        raise Refused(400, f"{KEY_HEADER} is required (at most 200 characters)")
    if not verify(channel.secret, timestamp, key, body, headers.get(SIGNATURE_HEADER)):
        raise Refused(403, f"bad or missing {SIGNATURE_HEADER}")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > WINDOW_SECONDS:
        raise Refused(400, f"{TIMESTAMP_HEADER} is more than {WINDOW_SECONDS // 60} minutes off")
    payload = parse(body)
    kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
    try:
        with transaction.atomic():
            ReceivedWebhook.objects.create(
                channel=channel,
                received_at=timezone.now(),
                headers=kept,
                idempotency_key=key,
                body=payload,
            )
    except IntegrityError:
        return {"ok": True, "duplicate": True}
    except DataError:  # e.g. a \u0000 that PostgreSQL's jsonb cannot hold
        raise Refused(400, "the body cannot be stored") from None
    return {"ok": True}


def parse(body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise Refused(400, "the body is not a JSON object")
    if depth(payload) > MAX_DEPTH:
        raise Refused(400, f"the body is nested more than {MAX_DEPTH} levels deep")
    return payload


def depth(value) -> int:
    """How deeply objects and arrays nest (walked without recursion)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                break
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level + 1) for child in children)
    return deepest
