"""Generic webhook: JSON signed with HMAC-SHA256, or Alertmanager's webhook format (version 4).

Headers: `X-Timestamp` (Unix seconds, also in the body as `sent_at`),
`Idempotency-Key` (the same on every attempt of one notification) and
`X-Signature: sha256=<hex>`, the HMAC-SHA256 with the channel's secret of the
timestamp, a newline, the key, a newline and the raw body. Signing the time and
the key with the body lets a receiver refuse a replay: a message older than a few
minutes, or whose key it has seen (a new key breaks the signature). Neither
header can hold a newline, so the three parts cannot be shifted into each other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from alerts.transports import http
from alerts.transports.base import Transport

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
KEY_HEADER = "Idempotency-Key"
# Alertmanager's "no end yet".
ZERO_TIME = "0001-01-01T00:00:00Z"


def signature(secret: str, timestamp: str, key: str, body: bytes) -> str:
    signed = f"{timestamp}\n{key}\n".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, key: str, body: bytes, header: str | None) -> bool:
    expected = signature(secret, timestamp, key, body)
    return bool(secret) and hmac.compare_digest(expected, header or "")


def perfmon_payload(context: dict, sent_at: int) -> dict:
    alert_fields = [
        "alert_id",
        "fingerprint",
        "rule",
        "rule_id",
        "severity",
        "labels",
        "value",
        "unit",
        "operator",
        "threshold",
        "resolve_threshold",
        "aggregation",
        "window_minutes",
        "source",
        "started_at",
        "fired_at",
        "resolved_at",
        "description",
        "runbook_url",
    ]
    return {
        "version": "1",
        "kind": context["kind"],
        "status": context["status"],
        "title": context["title"],
        "summary": context["summary"],
        "alert": {name: context[name] for name in alert_fields},
        "links": context["links"],
        "sent_at": sent_at,
    }


def alertmanager_payload(context: dict, receiver: str, sent_at: int) -> dict:
    labels = {"alertname": context["rule"], "severity": context["severity"], **context["labels"]}
    annotations = {
        "summary": context["summary"],
        "description": context["description"],
        "runbook_url": context["runbook_url"],
        "value": context["value_text"],
    }
    annotations = {k: v for k, v in annotations.items() if v}
    status = "resolved" if context["status"] == "resolved" else "firing"
    alert = {
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": _rfc3339(context["fired_at"] or context["started_at"]),
        "endsAt": _rfc3339(context["resolved_at"]) if status == "resolved" else ZERO_TIME,
        "generatorURL": context["links"]["alert"] or context["links"]["dashboard"],
        "fingerprint": context["fingerprint"],
    }
    group = {"alertname": context["rule"]}
    return {
        "version": "4",
        "groupKey": "{}:{alertname=" + json.dumps(context["rule"]) + "}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": group,
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": context["links"]["dashboard"],
        "alerts": [alert],
        "sent_at": sent_at,
    }


def _rfc3339(iso: str | None) -> str:
    if not iso:
        return ZERO_TIME
    return iso.replace("+00:00", "Z")


class WebhookTransport(Transport):
    kind = "webhook"

    @classmethod
    def clean_target(cls, target: str) -> str:
        return http.clean_url(target)

    def body(self, context: dict, sent_at: int) -> bytes:
        if self.channel.payload_format == "alertmanager":
            payload = alertmanager_payload(context, self.channel.name, sent_at)
        else:
            payload = perfmon_payload(context, sent_at)
        return json.dumps(payload, sort_keys=True).encode()

    def send(self, message, idempotency_key: str) -> int | None:
        sent_at = int(time.time())
        body = self.body(message.context, sent_at)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.channel.secret, str(sent_at), idempotency_key, body),
            TIMESTAMP_HEADER: str(sent_at),
            KEY_HEADER: idempotency_key,
        }
        return http.post(self.channel.target, body, headers, self.timeout()).status
