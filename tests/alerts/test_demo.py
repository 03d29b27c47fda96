import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts import demo
from alerts.evaluate import evaluate_rules
from alerts.models import Alert, Channel, Notification, Rule
from alerts.sources import all_sources

pytestmark = pytest.mark.django_db


def test_the_demo_fires_an_alert_from_its_own_data_and_shows_resolved_ones(settings):
    settings.SITE_URL = "http://127.0.0.1:8104"
    demo.load(io.StringIO())
    assert Alert.objects.filter(state="resolved").count() == 7
    # No data shown both ways: a latency alert resolved by it, and an alert "no data".
    retired = Alert.objects.get(labels_key="route=/api/v1/search/")
    assert retired.events.last().value is None and "resolves" in retired.events.last().note
    silent = Alert.objects.get(rule__name="No system samples")
    assert silent.rule.no_data == "alert" and silent.rule.get_no_data_display() == (
        "Alert as “no data”"
    )
    assert [e.value for e in silent.events.all()][:2] == [None, None]
    assert Rule.objects.get(source="monitoring.client_error_rate", name__startswith="4xx")
    pager = Channel.objects.get(name=demo.PAGER)
    assert not pager.enabled and "404" in pager.disabled_reason
    sink = Channel.objects.get(name=demo.WEBHOOK)
    assert sink.target == f"http://127.0.0.1:8104/alerts/sink/{sink.pk}/"

    # Stop at the queue: delivering would need the web server.
    queued = evaluate_rules().notifications
    firing = Alert.objects.get(state="firing")
    assert firing.rule.name == "Notification deliveries failing"
    assert firing.labels == {"channel": demo.PAGER}
    assert {n.channel.name for n in Notification.objects.filter(pk__in=queued)} == {
        demo.WEBHOOK,
        demo.EMAIL,
    }
    registered = {source.key for source in all_sources()}
    enabled = Rule.objects.filter(enabled=True)
    unavailable = {r.name for r in enabled if r.eval_status == "source unavailable"}
    assert unavailable == {r.name for r in enabled if r.source not in registered}


def test_the_demo_loads_again_quickly_without_duplicates(settings):
    demo.load(io.StringIO())
    counts = (Alert.objects.count(), Channel.objects.count(), Rule.objects.count())
    with CaptureQueriesContext(connection) as queries:
        demo.load(io.StringIO())
    assert (Alert.objects.count(), Channel.objects.count(), Rule.objects.count()) == counts
    assert len(queries) < 40
