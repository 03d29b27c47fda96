"""monitoring.* alert sources answer from the rollups, and `series` agrees with `evaluate`."""

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from alerts.sources import Query, get_source
from monitoring.models import SystemSample
from monitoring.recorder import REQUEST, TASK, Work
from tests.monitoring.conftest import flush_and_fold

pytestmark = pytest.mark.django_db
NOW = datetime.fromtimestamp(time.time() // 60 * 60, UTC)  # a minute boundary
FIVE = timedelta(minutes=5)


def at(minutes_ago: float) -> float:
    return (NOW - timedelta(minutes=minutes_ago)).timestamp() + 1


def record(recorder, route, latencies, minutes_ago, status="2xx", method="GET", db_ms=0.0):
    for latency in latencies:
        work = Work()
        work.db, work.count = db_ms / 1000.0, 1 if db_ms else 0
        recorder.record(
            REQUEST, route, method, status, latency, status == "5xx", work, at=at(minutes_ago)
        )


@pytest.fixture
def traffic(recorder, backend):
    """Two routes over the last ten minutes; the newest minute stays unfolded."""
    for minute in range(1, 11):
        record(recorder, "/api/orders/", [10, 20, 30, 40, 1000], minute, db_ms=4.0)
        record(recorder, "/api/users/", [5, 5, 5], minute, db_ms=1.0)
        if minute <= 3:
            record(recorder, "/api/orders/", [50], minute, status="5xx")
    flush_and_fold(now=NOW.timestamp())  # folds all but the last minute
    return recorder


def evaluate(key, aggregation, window=FIVE, filters=None, group_by=(), at=None):
    source = get_source(key)
    query = Query.build(aggregation, window, filters or {}, group_by)
    source.validate(query)
    return source.evaluate([query], at or NOW + timedelta(seconds=30))[0]


def test_latency_percentiles_per_route(traffic):
    value = evaluate("monitoring.request_latency", "p95", filters={"route": "/api/orders/"})
    window = [10, 20, 30, 40, 1000] * 5 + [50] * 3
    assert value[()] == pytest.approx(np.percentile(window, 95), rel=0.01)
    split = evaluate("monitoring.request_latency", "max", group_by=["route"])
    assert split == {(("route", "/api/orders/"),): 1000.0, (("route", "/api/users/"),): 5.0}


def test_latency_over_all_routes_reads_the_totals(traffic, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        value = evaluate("monitoring.request_latency", "avg")
    window = [10, 20, 30, 40, 1000] * 5 + [5, 5, 5] * 5 + [50] * 3
    assert value[()] == pytest.approx(np.mean(window), rel=1e-6)


def test_error_rate_and_throughput(traffic):
    errors = evaluate("monitoring.error_rate", "ratio", filters={"route": "/api/orders/"})
    assert errors[()] == pytest.approx(100 * 3 / 28)
    rate = evaluate("monitoring.throughput", "rate", group_by=["route"], at=NOW)
    assert rate == {(("route", "/api/orders/"),): 28 / 5, (("route", "/api/users/"),): 3.0}
    # 30 s into a minute with no request yet: 5.5 minutes read, the rate per minute of them.
    later = evaluate("monitoring.throughput", "rate", group_by=["route"])
    assert later == {(("route", "/api/orders/"),): 28 / 5.5, (("route", "/api/users/"),): 15 / 5.5}


def test_no_traffic_is_a_throughput_of_zero_but_no_latency(traffic):
    quiet = {"route": "/api/never/"}
    assert evaluate("monitoring.throughput", "rate", filters=quiet) == {(): 0.0}
    assert evaluate("monitoring.request_latency", "p95", filters=quiet) == {}


def test_database_time_per_request(traffic):
    value = evaluate("monitoring.db_time", "avg", filters={"route": "/api/users/"})
    assert value[()] == pytest.approx(1.0)
    p95 = evaluate("monitoring.db_time", "p95", filters={"route": "/api/orders/"})
    assert p95[()] == pytest.approx(4.0, rel=0.01)


def test_celery_failure_rate(recorder, backend):
    for failed in (False, False, False, True):
        recorder.record(TASK, "reports.send", "", "", 12.0, failed, at=at(2))
    flush_and_fold()
    value = evaluate("monitoring.celery_failure_rate", "ratio", group_by=["task"])
    assert value == {(("task", "reports.send"),): 25.0}


def test_many_queries_share_a_few_database_queries(traffic, django_assert_max_num_queries):
    source = get_source("monitoring.request_latency")
    queries = [
        Query.build(agg, timedelta(minutes=w), {"route": route})
        for agg in ("p50", "p95", "p99", "max")
        for w in (5, 10)
        for route in ("/api/orders/", "/api/users/")
    ]
    with django_assert_max_num_queries(2):
        answers = source.evaluate(queries, NOW + timedelta(seconds=30))
    assert len(answers) == len(queries) and all(answers)


@pytest.mark.parametrize(
    ("key", "aggregation", "filters", "group_by"),
    [
        ("monitoring.request_latency", "p95", {}, ["route"]),
        ("monitoring.request_latency", "p99", {"route": "/api/orders/"}, []),
        ("monitoring.error_rate", "ratio", {}, []),
        ("monitoring.throughput", "rate", {"method": "GET"}, ["route"]),
        ("monitoring.db_time", "max", {}, ["method"]),
    ],
)
def test_series_agrees_with_evaluate(traffic, key, aggregation, filters, group_by):
    source = get_source(key)
    query = Query.build(aggregation, timedelta(minutes=3), filters, group_by)
    start, end = NOW - timedelta(minutes=8), NOW + timedelta(seconds=30)
    points = source.series(query, start, end, timedelta(minutes=1))
    assert len(points) == 9 and any(value for _, value in points)
    for moment, value in points:
        assert value == source.evaluate([query], moment)[0], moment


@pytest.fixture
def samples():
    for minutes_ago, host, cpu, disks in [
        (4, "web-1", 20.0, {"/": 50.0, "/var": 70.0}),
        (2, "web-1", 60.0, {"/": 51.0, "/var": 90.0}),
        (3, "web-2", 10.0, {"/": 30.0}),
        (12, "web-2", 99.0, {"/": 99.0}),  # outside a five-minute window
    ]:
        SystemSample.objects.create(
            host=host,
            time=NOW - timedelta(minutes=minutes_ago),
            cpu_percent=cpu,
            memory_percent=cpu / 2,
            disks=disks,
        )


def test_cpu_memory_and_disk_per_host(samples):
    assert evaluate("monitoring.cpu", "avg") == {(): 30.0}
    assert evaluate("monitoring.cpu", "max", group_by=["host"]) == {
        (("host", "web-1"),): 60.0,
        (("host", "web-2"),): 10.0,
    }
    assert evaluate("monitoring.memory", "last", filters={"host": "web-1"}) == {(): 30.0}
    assert evaluate("monitoring.disk", "last", group_by=["host", "mount"]) == {
        (("host", "web-1"), ("mount", "/")): 51.0,
        (("host", "web-1"), ("mount", "/var")): 90.0,
        (("host", "web-2"), ("mount", "/")): 30.0,
    }
    assert evaluate("monitoring.disk", "max", filters={"mount": "/"}) == {(): 51.0}


def test_system_series_agrees_with_evaluate(samples):
    source = get_source("monitoring.disk")
    query = Query.build("avg", timedelta(minutes=2), {}, ["mount"])
    points = source.series(query, NOW - timedelta(minutes=6), NOW, timedelta(seconds=30))
    assert any(value for _, value in points)
    for moment, value in points:
        assert value == source.evaluate([query], moment)[0]


def test_label_values_offer_the_known_routes_and_hosts(traffic, samples):
    assert get_source("monitoring.request_latency").label_values("route") == [
        "/api/orders/",
        "/api/users/",
    ]
    assert get_source("monitoring.cpu").label_values("host") == ["web-1", "web-2"]
    assert get_source("monitoring.disk").label_values("mount") == ["/", "/var"]
