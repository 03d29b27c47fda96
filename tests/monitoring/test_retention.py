"""Retention: old samples go, old minute rollups are downsampled to hours."""

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from lib import sketch
from monitoring import retention, rollup_reads
from monitoring.models import HOUR, MINUTE, RequestSample, Rollup, SystemSample
from monitoring.recorder import REQUEST
from tests.monitoring.conftest import flush_and_fold

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def test_slow_samples_and_system_samples_are_purged_after_their_days(settings):
    settings.RETENTION_SLOW_SAMPLES_DAYS = 14
    settings.RETENTION_SYSTEM_SAMPLES_DAYS = 30
    now = timezone.now()
    for age, sample_id in ((13, "kept"), (15, "gone")):
        RequestSample.objects.create(
            sample_id=sample_id,
            time=now - age * DAY,
            route="/",
            method="GET",
            status=200,
            duration_ms=1500,
            db_ms=0,
            query_count=0,
        )
    for age in (29, 31):
        SystemSample.objects.create(host="h", time=now - age * DAY)
    removed = retention.purge(now)
    assert removed["slow samples"] == 1 and removed["system samples"] == 1
    assert list(RequestSample.objects.values_list("sample_id", flat=True)) == ["kept"]
    assert SystemSample.objects.get().time == now - 29 * DAY


def test_minute_rollups_are_downsampled_to_hours_after_a_week(recorder, settings, backend):
    settings.RETENTION_MINUTE_ROLLUPS_DAYS = 7
    eight_days_ago = time.time() - 8 * 86400
    latencies = [3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 89.0, 144.0, 233.0]
    for minute in range(3):
        for latency in latencies:
            recorder.record(
                REQUEST, "/old/", "GET", "2xx", latency, False, at=eight_days_ago + minute * 60
            )
    recorder.record(REQUEST, "/new/", "GET", "2xx", 7.0, False, at=time.time() - 120)
    flush_and_fold()
    start = datetime.fromtimestamp(eight_days_ago, UTC) - timedelta(hours=2)
    end = datetime.now(UTC)
    before = rollup_reads.load({REQUEST}, start, end)[(REQUEST, "/old/", "GET", "2xx")]

    assert retention.purge()["minute rollups"] >= 3
    assert not Rollup.objects.filter(resolution=MINUTE, name="/old/").exists()
    assert Rollup.objects.filter(resolution=MINUTE, name="/new/").exists()
    assert Rollup.objects.filter(resolution=HOUR, name="/old/").exists()
    after = rollup_reads.load({REQUEST}, start, end)[(REQUEST, "/old/", "GET", "2xx")]
    assert after.count == before.count == 30
    assert after.buckets == before.buckets
    for q in (0.5, 0.95):
        exact = float(np.percentile(latencies * 3, q * 100))
        assert sketch.percentile(after.buckets, q) == pytest.approx(exact, rel=0.01)


def test_hour_rollups_are_purged_after_their_days(settings):
    settings.RETENTION_HOURLY_ROLLUPS_DAYS = 400
    now = timezone.now()
    for age in (399, 401):
        Rollup.objects.create(
            resolution=HOUR, time=now - age * DAY, kind=REQUEST, name="/", count=1
        )
    assert retention.purge(now)["hour and day rollups"] == 1
    assert Rollup.objects.count() == 1
