"""What a notification says: a snapshot of the alert, rendered through templates."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.template import Context, Engine, TemplateSyntaxError
from django.template.loader import render_to_string
from django.urls import reverse

from alerts import sources
from alerts.acks import ack_url
from alerts.states import OPERATORS, SYMBOLS
from config import display_time

log = logging.getLogger(__name__)

# Rule message templates see only the snapshot (plain values), never models.
_engine = Engine(autoescape=False)


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    context: dict


def fingerprint(rule_id: int, labels_key: str) -> str:
    return hashlib.sha256(f"{rule_id}|{labels_key}".encode()).hexdigest()[:16]


def format_value(value: float | None, unit: str = "") -> str:
    if value is None:
        return "no data"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    return f"{text} {unit}".strip() if unit and unit != "%" else f"{text}{unit}"


def _unit(source_key: str) -> str:
    try:
        return sources.get_source(source_key).unit
    except sources.SourceError:
        return ""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def snapshot(alert, rule, kind: str, at: datetime) -> dict:
    """Everything a message about `alert` needs, as plain JSON-able values."""
    unit = _unit(rule.source)
    status = "resolved" if kind == "resolved" else "firing"
    context = {
        "kind": kind,
        "status": status,
        "alert_id": alert.pk,
        "fingerprint": fingerprint(rule.pk, alert.labels_key),
        "rule": rule.name,
        "rule_id": rule.pk,
        "severity": rule.severity,
        "description": rule.description,
        "runbook_url": rule.runbook_url,
        "source": rule.source,
        "aggregation": rule.aggregation,
        "window_minutes": rule.window_minutes,
        "operator": SYMBOLS[rule.operator],
        "threshold": rule.threshold,
        "resolve_threshold": rule.resolve_threshold,
        "unit": unit,
        "value": alert.value,
        "value_text": format_value(alert.value, unit),
        "threshold_text": format_value(rule.threshold, unit),
        "labels": dict(alert.labels or {}),
        "started_at": _iso(alert.started_at),
        "fired_at": _iso(alert.fired_at),
        "resolved_at": _iso(alert.resolved_at),
        "no_data_since": (
            display_time.text(alert.no_data_since, zone=True) if alert.no_data_since else None
        ),
        "at": _iso(at),
        "links": {
            "alert": settings.SITE_URL + reverse("admin:alerts_alert_change", args=[alert.pk]),
            "dashboard": settings.SITE_URL + reverse("admin:dashboard", args=["alerts"]),
            "acknowledge": ack_url(alert.pk) if status == "firing" else None,
        },
    }
    context["condition_text"] = condition_text(context)
    context["summary"] = summary(rule.message, context)
    return context


# Which way "back" and "still" point for each operator: the side the alert fires on.
_SIDES = {"gt": ("above", "under"), "ge": ("above", "under"), "lt": ("below", "over"),
          "le": ("below", "over")}  # fmt: skip


def condition_text(context: dict) -> str:
    """What is true now: the value against the limit that matters for this message.

    Firing: the threshold it crossed. Resolved: the limit it came back past (the
    resolve threshold when there is one). A repeat or escalation while the value
    sits between the two thresholds says it is still past the resolve threshold,
    never that it is past a threshold it is not.
    """
    value, unit = context["value"], context["unit"]
    head = f"{context['aggregation']} {context['value_text']}".strip()
    if context.get("no_data_since") or value is None:
        since = context.get("no_data_since")
        text = f"no data since {since}" if since else "no data"
        if value is not None:
            text += f" (last {head})"
        if context["kind"] == "resolved":
            text += "; the rule resolves when there is no data"
        return text
    operator = _operator_key(context["operator"])
    fired_side, back = _SIDES[operator]
    threshold, resolve = context["threshold"], context["resolve_threshold"]
    limit = threshold if resolve is None else resolve
    if context["kind"] == "resolved":
        return f"{head}, back {back} {format_value(limit, unit)}"
    if OPERATORS[operator](value, threshold) or resolve is None:
        return f"{head} {context['operator']} {context['threshold_text']}"
    return (
        f"{head}, still {fired_side} {format_value(resolve, unit)} "
        f"(fired {fired_side} {context['threshold_text']})"
    )


def _operator_key(symbol: str) -> str:
    return next(key for key, shown in SYMBOLS.items() if shown == symbol)


def summary(template: str, context: dict) -> str:
    """The rule's own summary template, or the standard one."""
    if template.strip():
        try:
            return _engine.from_string(template).render(Context(context)).strip()[:500]
        except (TemplateSyntaxError, ValueError, TypeError):
            log.warning(
                "rule %r: its message template failed; using the standard one", context["rule"]
            )
    where = ", ".join(f"{k}={v}" for k, v in context["labels"].items())
    text = context.get("condition_text") or condition_text(context)
    return f"{text} ({where})" if where else text


def validate_template(template: str) -> None:
    """Raise TemplateSyntaxError when a rule's message template does not parse."""
    _engine.from_string(template)


def test_snapshot(channel, at: datetime) -> dict:
    return {
        "kind": "test",
        "status": "test",
        "alert_id": None,
        "fingerprint": "test",
        "rule": "Test notification",
        "rule_id": None,
        "severity": "low",
        "description": f"A test of the channel “{channel.name}”. Nothing is wrong.",
        "runbook_url": "",
        "source": "",
        "aggregation": "",
        "window_minutes": 0,
        "operator": ">",
        "threshold": 0,
        "resolve_threshold": None,
        "unit": "",
        "value": None,
        "value_text": "no data",
        "threshold_text": "0",
        "labels": {},
        "started_at": _iso(at),
        "fired_at": _iso(at),
        "resolved_at": None,
        "at": _iso(at),
        "summary": f"Test notification from perfmon to “{channel.name}”.",
        "links": {
            "alert": None,
            "dashboard": settings.SITE_URL + reverse("admin:dashboard", args=["alerts"]),
            "acknowledge": None,
        },
    }


TITLES = {
    "firing": "[{severity}] Firing: {rule}",
    "repeat": "[{severity}] Still firing: {rule}",
    "escalation": "[{severity}] Escalated, unacknowledged: {rule}",
    "resolved": "[{severity}] Resolved: {rule}",
    "test": "Test notification from perfmon",
}


def title(context: dict) -> str:
    return TITLES[context["kind"]].format(
        severity=context["severity"].upper(), rule=context["rule"]
    )


def render(context: dict) -> Message:
    data = {**context, "title": title(context)}
    return Message(
        subject=data["title"],
        text=render_to_string("alerts/messages/notification.txt", data),
        html=render_to_string("alerts/messages/notification.html", data),
        context=data,
    )
