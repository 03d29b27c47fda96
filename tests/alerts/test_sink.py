"""The built-in webhook receiver: signed, fresh, once, within its rate."""

import json
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from alerts.deliveries import send_test
from alerts.models import Channel, ReceivedWebhook
from alerts.transports.webhook import signature
from tests.alerts.conftest import webhook
from tests.support import ROOT

pytestmark = pytest.mark.django_db


def sink(client, channel, payload, secret=None, key="k-1", at=None, body=None):
    body = json.dumps(payload).encode() if body is None else body
    timestamp = str(int(time.time() if at is None else at))
    return client.post(
        f"/alerts/sink/{channel.pk}/",
        body,
        content_type="application/json",
        headers={
            "X-Signature": signature(secret or channel.secret, timestamp, key, body),
            "X-Timestamp": timestamp,
            "Idempotency-Key": key,
        },
    )


def replay(client, channel, request, **header_overrides):
    """Post what a receiver got, as it got it (an eavesdropper replaying it)."""
    kept = ("X-Signature", "X-Timestamp", "Idempotency-Key")
    headers = {name: request.headers[name] for name in kept} | header_overrides
    return client.post(
        f"/alerts/sink/{channel.pk}/",
        request.body,
        content_type="application/json",
        headers=headers,
    )


@pytest.fixture
def sink_channel():
    return Channel.objects.create(name="Sink", kind="webhook", target="http://127.0.0.1/")


def test_the_sink_stores_a_signed_message_once(client, sink_channel):
    assert sink(client, sink_channel, {"title": "hello"}).status_code == 200
    assert sink(client, sink_channel, {"title": "hello"}).json() == {"ok": True, "duplicate": True}
    stored = ReceivedWebhook.objects.get()
    assert stored.body == {"title": "hello"} and stored.headers["Idempotency-Key"] == "k-1"


def test_the_sink_refuses_a_bad_signature(client, sink_channel):
    assert sink(client, sink_channel, {"x": 1}, secret="wrong").status_code == 403
    assert not ReceivedWebhook.objects.exists()


def test_the_sink_refuses_oversized_and_non_json_bodies(client, sink_channel):
    big = {"x": "a" * 300_000}
    assert sink(client, sink_channel, big).status_code == 413
    assert sink(client, sink_channel, None, body=b"not json").status_code == 400


def test_the_sink_answers_404_for_other_channels(client):
    email = Channel.objects.create(name="Mail", kind="email", target="a@example.com")
    assert sink(client, email, {}, secret="x").status_code == 404


@pytest.mark.parametrize("fmt", ["json", "alertmanager"])
def test_a_real_notification_replayed_with_new_keys_is_stored_once(client, http_receiver, fmt):
    channel = webhook(http_receiver, payload_format=fmt)
    assert send_test(channel).status == "sent"
    [sent] = http_receiver.requests
    assert replay(client, channel, sent).status_code == 200
    answers = [
        replay(client, channel, sent, **{"Idempotency-Key": f"replay-{n}"}).status_code
        for n in range(50)
    ]
    assert set(answers) == {403}
    assert replay(client, channel, sent).json() == {"ok": True, "duplicate": True}
    assert ReceivedWebhook.objects.count() == 1


def test_a_message_outside_five_minutes_is_refused(client, sink_channel):
    response = sink(client, sink_channel, {"x": 1}, at=time.time() - 301)
    assert response.status_code == 400 and "X-Timestamp" in response.json()["error"]
    assert sink(client, sink_channel, {"x": 1}, at=time.time() + 301).status_code == 400
    assert sink(client, sink_channel, {"x": 1}, at=time.time() - 200).status_code == 200


def test_a_message_without_timestamp_or_key_is_refused(client, sink_channel):
    assert sink(client, sink_channel, {"x": 1}, key="").status_code == 400
    response = client.post(
        f"/alerts/sink/{sink_channel.pk}/",
        b"{}",
        content_type="application/json",
        headers={"X-Signature": "sha256=00", "X-Timestamp": "soon", "Idempotency-Key": "k"},
    )
    assert response.status_code == 400
    assert not ReceivedWebhook.objects.exists()


def test_the_sink_is_rate_limited(client, sink_channel, settings):
    settings.ALERTS_SINK_THROTTLE_RATE = "5/min"
    answers = [sink(client, sink_channel, {"n": n}, key=f"k-{n}").status_code for n in range(7)]
    assert answers == [200] * 5 + [429] * 2
    assert ReceivedWebhook.objects.count() == 5


def test_a_deeply_nested_signed_body_is_a_400(client, sink_channel):
    for depth in (40_000, 500):  # past the recursion limit, and past ours
        body = b'{"a":' * depth + b"1" + b"}" * depth
        response = sink(client, sink_channel, None, body=body, key=f"deep-{depth}")
        assert response.status_code == 400
    assert not ReceivedWebhook.objects.exists()


def test_a_bad_content_length_is_a_400(client, sink_channel):
    response = client.post(
        f"/alerts/sink/{sink_channel.pk}/",
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH="many",
    )
    assert response.status_code == 400


def readme_verify():
    """The "verify in Python" recipe of README.md, as printed there."""
    text = (ROOT / "README.md").read_text()
    code = text.split("To verify in Python:")[1].split("```python")[1].split("```")[0]
    namespace = {}
    exec(textwrap.dedent(code), namespace)  # noqa: S102 (our own README)
    return namespace["verify"]


def test_the_readme_recipe_verifies_a_real_notification_and_refuses_a_replay(http_receiver):
    channel = webhook(http_receiver)
    assert send_test(channel).status == "sent"
    [sent] = http_receiver.requests
    verify = readme_verify()
    assert verify(channel.secret, sent.headers, sent.body)
    assert not verify("another secret", sent.headers, sent.body)
    assert not verify(channel.secret, {**sent.headers, "Idempotency-Key": "new"}, sent.body)
    stale = str(int(sent.headers["X-Timestamp"]) - 301)
    assert not verify(channel.secret, {**sent.headers, "X-Timestamp": stale}, sent.body)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_copies_arriving_at_the_same_moment_are_stored_once():
    channel = Channel.objects.create(name="Sink", kind="webhook", target="http://127.0.0.1/")
    start = threading.Barrier(10)

    def post(_):
        from django.db import connection
        from django.test import Client

        start.wait()
        try:
            return sink(Client(), channel, {"title": "once"}, key="same").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(post, range(10)))
    assert answers == [200] * 10
    assert ReceivedWebhook.objects.count() == 1
