"""Outbound HTTP rules and failure classification, against real sockets on 127.0.0.1."""

import socket

import pytest

from alerts.deliveries import attempt, backoff_seconds
from alerts.models import Channel, DeliveryAttempt, Notification
from alerts.transports import TransportError
from alerts.transports.http import post
from tests.alerts.conftest import make_rule, webhook
from tests.alerts.receivers import HttpReceiver
from tests.support import closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings):
    settings.ALERTS_ALLOWED_NETWORKS = ["127.0.0.1/32"]


def test_a_redirect_to_another_host_is_refused_and_disables_the_channel(clock, http_receiver):
    http_receiver.default = 302
    http_receiver.headers[302] = {"Location": "http://elsewhere.example/hook"}
    channel = webhook(http_receiver)
    make_rule([channel])
    clock.feed([150])
    clock.tick(1)
    channel.refresh_from_db()
    assert not channel.enabled
    assert "redirect to http://elsewhere.example/hook refused" in channel.disabled_reason
    assert len(http_receiver.requests) == 1


def test_a_same_host_307_is_followed_with_the_body():
    receiver = HttpReceiver().start()
    try:
        receiver.script = [307]
        receiver.headers[307] = {"Location": "/moved"}
        response = post(receiver.url, b'{"a": 1}', {"Content-Type": "application/json"}, 5)
        assert response.status == 200
        assert [r.path for r in receiver.requests] == ["/hook", "/moved"]
        assert receiver.requests[1].body == b'{"a": 1}'
    finally:
        receiver.stop()


def test_only_http_urls_are_sent_to():
    with pytest.raises(TransportError, match="refusing to send to a file URL") as caught:
        post("file:///etc/passwd", b"{}", {}, 5)
    assert caught.value.permanent


def test_a_refused_connection_is_temporary():
    with pytest.raises(TransportError, match="could not connect") as caught:
        post(f"http://127.0.0.1:{closed_port()}/hook", b"{}", {}, 5)
    assert not caught.value.permanent


def test_a_receiver_that_never_answers_times_out_and_is_retried():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections, never answers
    try:
        with pytest.raises(TransportError) as caught:
            post(f"http://127.0.0.1:{listener.getsockname()[1]}/", b"{}", {}, 0.5)
        assert not caught.value.permanent
        assert "timed out" in str(caught.value)
    finally:
        listener.close()


@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (401, True), (410, True), (429, False), (502, False)]
)
def test_statuses_are_classified(status, permanent):
    receiver = HttpReceiver(default=status).start()
    try:
        with pytest.raises(TransportError) as caught:
            post(receiver.url, b"{}", {}, 5)
        assert (caught.value.permanent, caught.value.status_code) == (permanent, status)
    finally:
        receiver.stop()


def test_retries_stop_after_the_configured_attempts(clock, http_receiver, settings):
    settings.ALERTS_DELIVERY_MAX_ATTEMPTS = 4
    http_receiver.default = 500
    channel = webhook(http_receiver)
    make_rule([channel])
    clock.feed([150])
    clock.tick(1)
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts) == ("failed", 4)
    assert len(http_receiver.requests) == 4
    assert Channel.objects.get().enabled  # temporary failures never disable a channel
    assert "HTTP 500" in notification.last_error


def test_the_backoff_doubles_up_to_its_cap(settings):
    settings.ALERTS_DELIVERY_BACKOFF_SECONDS = 30
    settings.ALERTS_DELIVERY_BACKOFF_MAX_SECONDS = 200
    assert [backoff_seconds(n) for n in range(1, 6)] == [30, 60, 120, 200, 200]


def test_a_notification_for_a_disabled_channel_is_skipped(clock, http_receiver):
    channel = webhook(http_receiver)
    make_rule([channel])
    clock.feed([150])
    clock.tick(1)
    notification = Notification.objects.get()
    Notification.objects.filter(pk=notification.pk).update(status="retrying")
    Channel.objects.filter(pk=channel.pk).update(enabled=False, disabled_reason="HTTP 404")
    assert attempt(notification.pk).status == "skipped"
    assert Notification.objects.get().last_error == "channel disabled: HTTP 404"
    assert DeliveryAttempt.objects.count() == 1  # the first, successful one
