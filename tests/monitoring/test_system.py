"""System sampling: per host, rates from the previous sample."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import system
from monitoring.models import SystemSample
from monitoring.tasks import sample_system

pytestmark = pytest.mark.django_db


def test_the_task_samples_this_host():
    sample_system.delay()
    sample = SystemSample.objects.get()
    assert sample.host
    assert 0 <= sample.cpu_percent <= 100
    assert 0 < sample.memory_percent < 100
    assert sample.disks and all(0 <= p <= 100 for p in sample.disks.values())
    assert sample.process_rss > 1_000_000 and sample.process_open_files > 0
    assert sample.load_1 >= 0


def test_rates_come_from_the_previous_sample_of_the_same_host():
    now = timezone.now()
    first = system.take_sample(now=now - timedelta(seconds=15), host="web-1")
    assert first.net_in_bps is None  # nothing to compare with yet
    second = system.take_sample(now=now, host="web-1")
    assert second.net_in_bps >= 0 and second.net_out_bps >= 0
    assert 0 <= second.cpu_percent <= 100
    other = system.take_sample(now=now, host="web-2")
    assert other.net_in_bps is None


def test_a_counter_reset_gives_no_rate():
    now = timezone.now()
    first = system.take_sample(now=now - timedelta(seconds=15), host="web-1")
    SystemSample.objects.filter(pk=first.pk).update(net_bytes_recv=10**15, net_bytes_sent=10**15)
    second = system.take_sample(now=now, host="web-1")
    assert (second.net_in_bps, second.net_out_bps) == (None, None)


@pytest.mark.postgres
def test_the_database_connection_count_is_sampled_on_postgresql():
    assert system.take_sample().db_connections >= 1
