"""Notifications reach only public addresses (unless allowed), with no credentials, no echo."""

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from alerts.models import Channel, DeliveryAttempt, Notification
from alerts.transports import TransportError
from alerts.transports.http import post
from tests.alerts.conftest import make_rule, webhook

pytestmark = pytest.mark.django_db

INTERNAL = [
    "http://127.0.0.1:5432/",
    "http://localhost/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:6379/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://224.0.0.1/",
    "http://0.0.0.0:8000/",
    "http://[::ffff:127.0.0.1]/",
    "http://240.0.0.1/",
]


def channel_form(kind="webhook", target="http://93.184.215.14/hook", **overrides):
    return {
        "name": "Hook",
        "kind": kind,
        "target": target,
        "payload_format": "json",
        "new_secret": "",
        "enabled": "on",
        **overrides,
    }


def form_errors(admin_client, form):
    response = admin_client.post("/admin/alerts/channel/add/", form)
    assert response.status_code == 200, "the form was accepted"
    return " ".join(response.context["adminform"].form.errors.get("target", []))


@pytest.mark.parametrize("url", INTERNAL)
def test_the_channel_form_refuses_internal_addresses(admin_client, settings, url):
    settings.ALERTS_ALLOWED_NETWORKS = []
    assert "not allowed" in form_errors(admin_client, channel_form(target=url))
    assert not Channel.objects.exists()


def test_the_channel_form_refuses_credentials_in_the_url(admin_client):
    errors = form_errors(admin_client, channel_form(target="http://user:pass@93.184.215.14/hook"))
    assert "user name or password" in errors


def test_allowed_networks_let_a_local_receiver_in(admin_client, settings, http_receiver):
    settings.ALERTS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    response = admin_client.post(
        "/admin/alerts/channel/add/", channel_form(target=http_receiver.url)
    )
    assert response.status_code == 302
    assert Channel.objects.get().target == http_receiver.url


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/services/T0/B0/x",
        "http://hooks.slack.com/services/T0/B0/x",
        "https://hooks.slack.com:8443/services/T0/B0/x",
        "https://hooks.slack.com.example.com/services/T0/B0/x",
    ],
)
def test_slack_channels_only_go_to_slack(admin_client, url):
    assert "Slack incoming-webhook URL" in form_errors(admin_client, channel_form("slack", url))


def test_a_send_to_a_refused_address_never_connects(clock, http_receiver, settings):
    channel = webhook(http_receiver)  # saved before the rules, or by hand in the database
    settings.ALERTS_ALLOWED_NETWORKS = []
    make_rule([channel])
    clock.feed([150])
    clock.tick(1)
    assert http_receiver.requests == []
    attempt = DeliveryAttempt.objects.get()
    assert "127.0.0.1 is a loopback address" in attempt.error and attempt.permanent


def test_a_name_is_judged_by_the_address_it_resolves_to(http_receiver, settings):
    settings.ALERTS_ALLOWED_NETWORKS = []
    port = http_receiver.server.server_address[1]
    with pytest.raises(TransportError, match="loopback address") as caught:
        post(f"http://localhost:{port}/hook", b"{}", {}, 5)
    assert caught.value.permanent
    assert http_receiver.requests == []


def test_every_redirect_is_checked_again(http_receiver, settings):
    http_receiver.script = [307]
    http_receiver.headers[307] = {"Location": "/moved"}
    response = post(http_receiver.url, b"{}", {}, 5)
    assert response.status == 200
    # The same receiver refused once it is no longer allowed: the redirect's connection
    # is checked like the first one.
    settings.ALERTS_ALLOWED_NETWORKS = []
    http_receiver.script = [307]
    with pytest.raises(TransportError, match="loopback"):
        post(http_receiver.url, b"{}", {}, 5)


def test_a_url_with_credentials_is_never_sent_to(http_receiver):
    port = http_receiver.server.server_address[1]
    with pytest.raises(TransportError, match="user name or password") as caught:
        post(f"http://user:pass@127.0.0.1:{port}/hook", b"{}", {}, 5)
    assert caught.value.permanent and http_receiver.requests == []


def test_a_slack_channel_saved_with_another_url_is_not_sent_to(clock, http_receiver):
    channel = Channel.objects.create(name="Slack", kind="slack", target=http_receiver.url)
    make_rule([channel])
    clock.feed([150])
    clock.tick(1)
    assert http_receiver.requests == []
    assert "Slack incoming-webhook URL" in Notification.objects.get().last_error


def test_the_reply_body_is_never_echoed(admin_client, clock, http_receiver):
    http_receiver.default = 500
    http_receiver.reply = b"root:x:0:0:internal-service-banner"
    channel = webhook(http_receiver)
    response = admin_client.post(
        "/admin/alerts/channel/",
        {"action": "send_test_notification", "_selected_action": [channel.pk]},
        follow=True,
    )
    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "HTTP 500 Internal Server Error" in shown
    assert "internal-service-banner" not in shown + response.text
    http_receiver.default = 404
    make_rule([channel])
    clock.feed([150])
    clock.tick(1)
    channel.refresh_from_db()
    stored = [a.error for a in DeliveryAttempt.objects.all()]
    stored += [n.last_error for n in Notification.objects.all()] + [channel.disabled_reason]
    assert "HTTP 404 Not Found" in channel.disabled_reason
    assert not any("internal-service-banner" in text for text in stored)


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [
        ("ALERTS_ALLOWED_NETWORKS", ["10.0.0.0/8", "intranet"], "alerts.E001"),
        ("ALERTS_SINK_THROTTLE_RATE", "lots", "alerts.E002"),
    ],
)
def test_a_bad_setting_stops_the_start(settings, setting, value, code):
    setattr(settings, setting, value)
    with pytest.raises(SystemCheckError, match=code):
        call_command("check")
