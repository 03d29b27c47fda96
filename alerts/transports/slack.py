"""Slack incoming webhook: Block Kit message with title, severity, value vs threshold, link."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from alerts.transports import http
from alerts.transports.base import Transport, TransportError

# Slack's incoming webhooks live under these; a Slack channel sends nowhere else.
SLACK_URLS = ("https://hooks.slack.com/", "https://hooks.slack-gov.com/")
NOT_SLACK = "Enter a Slack incoming-webhook URL (https://hooks.slack.com/services/...)."
_url_validator = URLValidator(schemes=["https"])

EMOJI = {"resolved": ":large_green_circle:", "test": ":wave:"}
SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "high": ":red_circle:",
    "medium": ":large_orange_circle:",
    "low": ":large_yellow_circle:",
}


def blocks(context: dict) -> list[dict]:
    emoji = EMOJI.get(context["status"]) or SEVERITY_EMOJI.get(context["severity"], "")
    fields = [
        {"type": "mrkdwn", "text": f"*Severity*\n{context['severity']}"},
        # Value and threshold apart: "11 (> 30)" on a resolution reads as a contradiction.
        {"type": "mrkdwn", "text": f"*Value*\n{context['value_text']}"},
        {
            "type": "mrkdwn",
            "text": f"*Threshold*\n{context['operator']} {context['threshold_text']}",
        },
    ]
    fields += [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in context["labels"].items()]
    result = [
        {"type": "header", "text": {"type": "plain_text", "text": context["title"][:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} {context['summary']}"}},
        {"type": "section", "fields": fields[:10]},
    ]
    buttons = [
        ("View alert", context["links"]["alert"]),
        ("Acknowledge", context["links"]["acknowledge"]),
        ("Runbook", context["runbook_url"]),
    ]
    elements = [
        {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}
        for label, url in buttons
        if url
    ]
    if elements:
        result.append({"type": "actions", "elements": elements})
    return result


def is_slack_url(url: str) -> bool:
    return url.startswith(SLACK_URLS)


class SlackTransport(Transport):
    kind = "slack"

    @classmethod
    def clean_target(cls, target: str) -> str:
        # Slack's own host: nothing to resolve, and no credentials can hide in the prefix.
        target = target.strip()
        try:
            _url_validator(target)
        except ValidationError:
            raise ValidationError(NOT_SLACK) from None
        if not is_slack_url(target):
            raise ValidationError(NOT_SLACK)
        return target

    def send(self, message, idempotency_key: str) -> int | None:
        if not is_slack_url(self.channel.target):
            raise TransportError(NOT_SLACK, permanent=True)
        payload = {"text": message.subject, "blocks": blocks(message.context)}
        response = http.post(
            self.channel.target,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json"},
            self.timeout(),
        )
        return response.status
