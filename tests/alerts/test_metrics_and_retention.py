from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, DeliveryAttempt, Notification
from alerts.retention import purge
from tests.alerts.conftest import make_rule, webhook

pytestmark = pytest.mark.django_db


def test_prometheus_sees_firing_alerts_by_severity(client, settings, clock):
    settings.METRICS_TOKEN = "t0ken"
    make_rule(severity="critical")
    clock.feed([150])
    clock.tick(1)
    text = client.get("/metrics", headers={"Authorization": "Bearer t0ken"}).text
    assert 'perfmon_alerts_firing{severity="critical"} 1.0' in text
    assert 'perfmon_alerts_firing{severity="low"} 0.0' in text
    assert "perfmon_alert_rules_enabled 1.0" in text


def test_old_history_is_purged_and_open_alerts_are_kept(clock, http_receiver, settings):
    settings.RETENTION_ALERT_HISTORY_DAYS = 30
    make_rule([webhook(http_receiver)], group_by=["host"])
    clock.feed([150, 50], host="old")
    clock.feed([150, 150], host="open")
    clock.run(1, 2)
    later = timezone.now() + timedelta(days=31)
    DeliveryAttempt.objects.update(started_at=clock.minute(0))
    removed = purge(now=later)
    assert removed["alerts.Alert"] == 1
    assert list(Alert.objects.values_list("labels_key", flat=True)) == ["host=open"]
    # The open alert keeps its notifications; its old attempts are gone.
    assert Notification.objects.filter(alert__labels_key="host=open").exists()
    assert not DeliveryAttempt.objects.exists()
