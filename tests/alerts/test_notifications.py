"""Notifications end to end: rules evaluated minute by minute, real receivers on 127.0.0.1."""

import hashlib
import hmac
from collections import defaultdict
from datetime import timedelta

import pytest

from alerts.acks import acknowledge
from alerts.models import Alert, Channel, DeliveryAttempt, MaintenanceWindow, Notification, Silence
from alerts.transports import slack
from alerts.transports.webhook import verify
from tests.alerts.conftest import email, make_rule, webhook
from tests.alerts.receivers import parts

pytestmark = pytest.mark.django_db


def kinds(receiver):
    return [r.json()["kind"] for r in receiver.delivered]


def test_for_holds_the_rule_pending_and_fires_after_it(clock, http_receiver):
    make_rule([webhook(http_receiver)], for_minutes=3)
    clock.feed([150] * 10)
    clock.run(1, 3)
    assert Alert.objects.get().state == "pending"
    assert http_receiver.requests == []
    clock.tick(4)
    assert Alert.objects.get().state == "firing"
    assert kinds(http_receiver) == ["firing"]
    assert (
        http_receiver.delivered[0]
        .json()["alert"]["fired_at"]
        .startswith(clock.minute(4).isoformat()[:16])
    )


def test_a_flapping_value_with_a_resolve_threshold_does_not_flap_notifications(
    clock, http_receiver
):
    channel = webhook(http_receiver)
    make_rule([channel], name="With hysteresis", resolve_threshold=80)
    make_rule([channel], name="Without hysteresis")
    flapping = [150, 95, 105, 90, 101, 85, 110, 95, 120, 70]
    clock.feed(flapping)
    clock.run(1, len(flapping))
    sent = defaultdict(list)
    for request in http_receiver.delivered:
        sent[request.json()["alert"]["rule"]].append(request.json()["kind"])
    assert sent["With hysteresis"] == ["firing", "resolved"]
    # The same values against the bare threshold page five times.
    assert sent["Without hysteresis"] == ["firing", "resolved"] * 5


def test_exactly_one_firing_and_one_resolved_message_per_incident(
    clock, http_receiver, smtp_receiver
):
    make_rule([webhook(http_receiver), email()])
    clock.feed([150] * 20 + [50] * 5)
    clock.run(1, 25)
    clock.tick(25)  # the same minute evaluated twice sends nothing more
    assert kinds(http_receiver) == ["firing", "resolved"]
    assert [s.split(":")[0] for s in smtp_receiver.subjects()] == [
        "[HIGH] Firing",
        "[HIGH] Resolved",
    ]
    assert smtp_receiver.recipients == [["ops@example.com"], ["ops@example.com"]]


def test_the_email_has_a_text_and_an_html_part_with_the_alerts_values(clock, smtp_receiver):
    make_rule([email()], runbook_url="https://wiki.example.com/latency", group_by=["host"])
    clock.feed([180])
    clock.tick(1)
    [message] = smtp_receiver.messages
    assert message["Subject"] == "[HIGH] Firing: Latency"
    body = parts(message)
    assert "avg 180 ms > 100 ms (host=web-1)" in body["text/plain"]
    assert "https://wiki.example.com/latency" in body["text/plain"]
    assert "/alerts/ack/" in body["text/plain"]
    assert "<table" in body["text/html"] and "web-1" in body["text/html"]


def test_a_receiver_that_fails_twice_then_recovers_gets_exactly_one_delivery(clock, http_receiver):
    http_receiver.fail(2, status=503)
    make_rule([webhook(http_receiver)])
    clock.feed([150])
    clock.tick(1)
    assert len(http_receiver.requests) == 3
    assert len(http_receiver.delivered) == 1
    assert len({r.headers["Idempotency-Key"] for r in http_receiver.requests}) == 1
    attempts = list(DeliveryAttempt.objects.order_by("started_at", "id"))
    assert [(a.ok, a.status_code) for a in attempts] == [(False, 503), (False, 503), (True, 200)]
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts) == ("sent", 3)
    assert Channel.objects.get().enabled


def test_a_sent_notification_is_never_sent_again(clock, http_receiver):
    from alerts.tasks import deliver

    make_rule([webhook(http_receiver)])
    clock.feed([150])
    clock.tick(1)
    notification = Notification.objects.get()
    deliver.delay(notification.pk)  # a duplicated task message
    assert len(http_receiver.requests) == 1


def test_a_404_receiver_disables_the_channel(clock, http_receiver):
    http_receiver.default = 404
    channel = webhook(http_receiver)
    make_rule([channel])
    clock.feed([150, 50, 150])
    clock.run(1, 3)
    channel.refresh_from_db()
    assert not channel.enabled
    assert channel.disabled_reason.startswith("HTTP 404")
    assert len(http_receiver.requests) == 1  # no retry, and nothing sent to it afterwards
    assert DeliveryAttempt.objects.get().permanent


def test_a_smtp_server_refusing_the_address_disables_the_channel(clock, smtp_receiver):
    smtp_receiver.refuse.add("nobody@example.com")
    channel = email(to="nobody@example.com")
    make_rule([channel])
    clock.feed([150])
    clock.tick(1)
    channel.refresh_from_db()
    assert not channel.enabled
    assert "550" in channel.disabled_reason
    assert DeliveryAttempt.objects.get().status_code == 550


def test_a_busy_smtp_server_is_retried_not_disabled(clock, smtp_receiver, settings):
    settings.ALERTS_DELIVERY_MAX_ATTEMPTS = 3
    smtp_receiver.busy.add("ops@example.com")
    channel = email()
    make_rule([channel])
    clock.feed([150])
    clock.tick(1)
    channel.refresh_from_db()
    assert channel.enabled
    assert DeliveryAttempt.objects.filter(ok=False, status_code=451).count() == 3
    assert Notification.objects.get().status == "failed"


def test_a_silence_suppresses_then_notification_resumes_when_it_ends(clock, http_receiver):
    rule = make_rule([webhook(http_receiver)], group_by=["host"])
    Silence.objects.create(
        rule=rule,
        labels={"host": "web-1"},
        starts_at=clock.minute(0),
        ends_at=clock.minute(4),
        comment="deploying",
    )
    clock.feed([150] * 10, host="web-1")
    clock.feed([150] * 10, host="web-2")
    clock.run(1, 3)
    alerts = {a.labels["host"]: a for a in Alert.objects.all()}
    assert alerts["web-1"].state == "firing" and alerts["web-1"].silenced
    assert [r.json()["alert"]["labels"] for r in http_receiver.delivered] == [{"host": "web-2"}]
    clock.tick(4)
    assert [r.json()["alert"]["labels"] for r in http_receiver.delivered] == [
        {"host": "web-2"},
        {"host": "web-1"},
    ]
    assert not Alert.objects.get(labels__host="web-1").silenced


def test_a_silenced_incident_that_resolves_tells_nobody(clock, http_receiver):
    make_rule([webhook(http_receiver)])
    Silence.objects.create(
        severity="high", starts_at=clock.minute(0), ends_at=clock.minute(60), comment="known"
    )
    clock.feed([150, 150, 50])
    clock.run(1, 3)
    assert Alert.objects.get().state == "resolved"
    assert http_receiver.requests == []


def test_a_maintenance_window_suppresses_then_resumes(clock, http_receiver):
    make_rule([webhook(http_receiver)])
    start, end = clock.minute(0), clock.minute(5)
    MaintenanceWindow.objects.create(
        name="Nightly backup",
        weekdays=list(range(7)),
        start_time=start.time(),
        end_time=end.time(),
        time_zone="UTC",
    )
    clock.feed([150] * 10)
    clock.run(1, 4)
    assert Alert.objects.get().state == "firing"
    assert http_receiver.requests == []
    clock.tick(5)
    assert kinds(http_receiver) == ["firing"]


def test_escalation_fires_only_when_unacknowledged(clock, http_receiver):
    team, manager = webhook(http_receiver, name="Team"), webhook(http_receiver, name="Manager")
    make_rule(
        [team],
        group_by=["host"],
        escalate_after_minutes=10,
        escalation_channels=[manager],
    )
    clock.feed([150] * 30, host="acked")
    clock.feed([150] * 30, host="ignored")
    clock.run(1, 5)
    acknowledge(Alert.objects.get(labels__host="acked"), by="alice", at=clock.minute(5))
    clock.run(6, 12)
    escalations = [r.json() for r in http_receiver.delivered if r.json()["kind"] == "escalation"]
    assert [e["alert"]["labels"] for e in escalations] == [{"host": "ignored"}]
    assert Notification.objects.get(kind="escalation").channel == manager
    assert Alert.objects.get(labels__host="ignored").escalated_at == clock.minute(11)


def test_repeats_go_out_until_acknowledged(clock, http_receiver):
    make_rule([webhook(http_receiver)], repeat_minutes=5)
    clock.feed([150] * 30)
    clock.run(1, 12)
    assert kinds(http_receiver) == ["firing", "repeat", "repeat"]
    acknowledge(Alert.objects.get(), by="alice", at=clock.minute(12))
    clock.run(13, 25)
    assert kinds(http_receiver) == ["firing", "repeat", "repeat"]


def test_the_webhook_signature_verifies_with_the_channel_secret(clock, http_receiver):
    channel = webhook(http_receiver, secret="s3cret")
    make_rule([channel])
    clock.feed([150])
    clock.tick(1)
    [request] = http_receiver.requests
    timestamp, key = request.headers["X-Timestamp"], request.headers["Idempotency-Key"]
    signed = f"{timestamp}\n{key}\n".encode() + request.body
    expected = hmac.new(b"s3cret", signed, hashlib.sha256).hexdigest()
    assert request.headers["X-Signature"] == f"sha256={expected}"
    header = request.headers["X-Signature"]
    assert verify("s3cret", timestamp, key, request.body, header)
    assert not verify("s3cret", timestamp, key, request.body + b" ", header)
    assert not verify("s3cret", timestamp, key + "x", request.body, header)
    assert not verify("s3cret", str(int(timestamp) + 1), key, request.body, header)
    assert not verify("other", timestamp, key, request.body, header)
    assert int(request.headers["X-Timestamp"]) == request.json()["sent_at"]


def test_the_webhook_can_speak_alertmanager(clock, http_receiver):
    make_rule(
        [webhook(http_receiver, payload_format="alertmanager")],
        group_by=["host"],
        description="Slow responses",
    )
    clock.feed([150, 50])
    clock.run(1, 2)
    firing, resolved = (r.json() for r in http_receiver.delivered)
    assert firing["version"] == "4"
    assert firing["status"] == "firing" and resolved["status"] == "resolved"
    [alert] = firing["alerts"]
    assert alert["labels"] == {"alertname": "Latency", "severity": "high", "host": "web-1"}
    assert alert["annotations"]["description"] == "Slow responses"
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert alert["startsAt"].endswith("Z")
    assert resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
    assert firing["alerts"][0]["fingerprint"] == resolved["alerts"][0]["fingerprint"]
    assert firing["groupLabels"] == {"alertname": "Latency"}


def test_the_slack_message_has_title_severity_value_and_link(clock, http_receiver, monkeypatch):
    # Slack cannot answer here: its URL is pointed at the local receiver.
    monkeypatch.setattr(slack, "SLACK_URLS", (http_receiver.url,))
    channel = Channel.objects.create(name="Slack", kind="slack", target=http_receiver.url)
    make_rule([channel])
    clock.feed([150])
    clock.tick(1)
    payload = http_receiver.delivered[0].json()
    header, summary, fields, actions = payload["blocks"]
    assert header["text"]["text"] == "[HIGH] Firing: Latency"
    assert "*Severity*\nhigh" in [f["text"] for f in fields["fields"]]
    texts = [f["text"] for f in fields["fields"]]
    assert "*Value*\n150 ms" in texts and "*Threshold*\n> 100 ms" in texts
    urls = [e["url"] for e in actions["elements"]]
    assert any("/admin/alerts/alert/" in u for u in urls)
    assert payload["text"] == "[HIGH] Firing: Latency"


def test_a_rule_message_template_can_use_the_alerts_values(clock, http_receiver):
    make_rule(
        [webhook(http_receiver)],
        group_by=["host"],
        message="{{ rule }}: {{ value_text }} on {{ labels.host }}",
    )
    clock.feed([150])
    clock.tick(1)
    assert http_receiver.delivered[0].json()["summary"] == "Latency: 150 ms on web-1"


def test_a_disabled_channel_gets_nothing_and_others_still_do(clock, http_receiver):
    off = webhook(http_receiver, name="Off", enabled=False)
    on = webhook(http_receiver, name="On")
    make_rule([off, on])
    clock.feed([150])
    clock.tick(1)
    assert [n.channel for n in Notification.objects.all()] == [on]
    assert len(http_receiver.delivered) == 1


def test_acknowledged_alerts_still_send_their_resolution(clock, http_receiver):
    make_rule([webhook(http_receiver)], repeat_minutes=1)
    clock.feed([150, 150, 50])
    clock.tick(1)
    acknowledge(Alert.objects.get(), by="bob", at=clock.minute(1) + timedelta(seconds=5))
    clock.run(2, 3)
    assert kinds(http_receiver) == ["firing", "resolved"]
