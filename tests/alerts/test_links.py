"""The acknowledge link of notifications."""

import time
from datetime import timedelta

import pytest
from django.core import signing

from alerts.acks import ack_token
from alerts.models import Alert
from tests.alerts.conftest import make_rule, webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def firing(clock):
    make_rule()
    clock.feed([150])
    clock.tick(1)
    return Alert.objects.get()


def test_the_link_in_a_notification_acknowledges_after_a_click(client, clock, http_receiver):
    make_rule([webhook(http_receiver)])
    clock.feed([150])
    clock.tick(1)
    link = http_receiver.delivered[0].json()["links"]["acknowledge"]
    path = link.removeprefix("http://testserver")
    page = client.get(path)
    assert page.status_code == 200 and "<button" in page.text
    assert Alert.objects.get().acknowledged_at is None  # a GET (mail scanner) changes nothing
    done = client.post(path)
    assert "Acknowledged." in done.text
    assert Alert.objects.get().acknowledged_by == "notification link"


def test_a_tampered_link_is_refused(client, firing):
    token = ack_token(firing.pk)
    response = client.post(f"/alerts/ack/{token[:-2]}xx/")
    assert response.status_code == 400
    assert "This link is not valid" in response.text
    firing.refresh_from_db()
    assert firing.acknowledged_at is None


def test_an_expired_link_is_refused(client, firing, monkeypatch, settings):
    settings.ALERTS_ACK_LINK_MAX_AGE_DAYS = 7
    eight_days_ago = time.time() - timedelta(days=8).total_seconds()
    monkeypatch.setattr(signing.time, "time", lambda: eight_days_ago)
    stale = ack_token(firing.pk)
    monkeypatch.undo()
    assert client.post(f"/alerts/ack/{stale}/").status_code == 400
    assert client.post(f"/alerts/ack/{ack_token(firing.pk)}/").status_code == 200


def test_a_resolved_alert_has_nothing_to_acknowledge(client, firing):
    Alert.objects.filter(pk=firing.pk).update(state="resolved")
    response = client.post(f"/alerts/ack/{ack_token(firing.pk)}/")
    assert "nothing to acknowledge" in response.text
