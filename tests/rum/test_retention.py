"""Raw events' retention per site: whole days dropped, shorter retentions row by row."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rum import fold, partitions, retention
from rum.models import Event, Rollup, Site
from tests.rum.conftest import beacon, post
from tests.rum.test_partitions import copies

pytestmark = pytest.mark.django_db


def test_events_past_the_sites_retention_are_purged(client, site):
    site.retention_days = 7
    site.save()
    post(client, beacon())
    copies(Event.objects.all(), timezone.now() - timedelta(days=8), "old")
    assert Event.objects.count() == 12

    removed = retention.purge()
    assert Event.objects.count() == 6
    assert not Event.objects.filter(received_at__lt=timezone.now() - timedelta(days=7)).exists()
    assert removed["raw events deleted"] == 6


def test_a_day_past_every_sites_retention_goes_whole_and_shorter_ones_go_row_by_row(
    client, site, settings
):
    settings.RETENTION_RUM_EVENTS_DAYS = 30
    brief = Site.objects.create(name="Brief", public_key="brief-key", retention_days=3)
    now = timezone.now()
    post(client, beacon())
    Event.objects.create(
        **{**_fields(Event.objects.first()), "site_id": brief.id, "event_key": "b"}
    )
    fresh = list(Event.objects.all())
    for age in (40, 10):
        copies(fresh, now - timedelta(days=age), f"d{age}")
    partitions.ensure()  # days without a partition get theirs
    assert Event.objects.count() == 7 * 3

    removed = retention.purge(now)

    kept = set(Event.objects.values_list("site__name", "event_key"))
    recent = {(e.site.name, e.event_key) for e in fresh}
    ten_days = {("Shop", f"d10{e.event_key}") for e in fresh if e.site.name == "Shop"}
    assert kept == recent | ten_days
    if partitions.partitioned():  # the 40 days old day whole, Brief's 10 days old event alone
        assert removed["event partitions dropped"] == 1
        assert removed["raw events deleted"] == 1
        assert (now - timedelta(days=40)).date() not in partitions.days()
        assert (now - timedelta(days=10)).date() in partitions.days()
    else:
        assert removed["raw events deleted"] == 8


def test_rollups_past_retention_go_too(client, site, settings):
    settings.RETENTION_HOURLY_ROLLUPS_DAYS = 90
    old = timezone.now() - timedelta(days=100)
    Rollup.objects.create(site=site, hour=old, page="/", metric="PV", device="desktop", count=1)
    post(client, beacon())
    fold.roll_up()

    assert retention.purge()["rollups"] == 1
    assert Rollup.objects.filter(metric="PV").get().count == 1


def _fields(event: Event) -> dict:
    return {
        f.attname: getattr(event, f.attname) for f in Event._meta.concrete_fields if f.name != "id"
    }
