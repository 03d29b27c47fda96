"""Queue time: where a proxy sends X-Request-Start, the wait before a worker is recorded on its
own and added to the latency; hostile values never produce a figure (nor an error)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from monitoring import rollup_reads
from monitoring.middleware import queue_seconds
from tests.monitoring.conftest import flush_and_fold

NOW = 1_765_000_000.25  # an epoch in seconds, with a fraction


@pytest.mark.parametrize(
    "header, waited",
    [
        (f"t={int((NOW - 0.5) * 1_000_000)}", 0.5),  # microseconds (nginx: t=${msec} x 1000)
        (f"t={int((NOW - 0.5) * 1000)}", 0.5),  # milliseconds
        (f"t={NOW - 0.5:.3f}", 0.5),  # seconds with a fraction (nginx's ${msec})
        (f"{int((NOW - 2) * 1000)}", 2.0),  # no "t=" (Heroku's router sends milliseconds)
        (f"  t={int((NOW - 2) * 1000)}  ", 2.0),
        (f"t={int((NOW + 0.3) * 1000)}", 0.0),  # the proxy's clock a little ahead: no wait
    ],
)
def test_the_formats_proxies_send_are_read(header, waited):
    assert queue_seconds(header, NOW) == pytest.approx(waited, abs=0.002)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "t=",
        "t=abc",
        "t=-1765000000",
        "t=0",
        "t=nan",
        "t=inf",
        "t=1e309",
        "t=0x10",
        "t=" + "9" * 5000,
        "t=12345",  # not an epoch in any unit
        f"t={int((NOW - 3600) * 1000)}",  # an hour in the queue: a broken clock, not a wait
        f"t={int((NOW + 3600) * 1000)}",  # an hour in the future
        f"t={int(NOW * 1e9)}",  # nanoseconds: not a format we can tell apart
        "t=1765000000\x00",
        "t=１７６５０００００００",  # full-width digits
        "t=1765000000; drop table",
    ],
)
def test_hostile_or_implausible_values_give_no_queue_time(header):
    assert queue_seconds(header, NOW) is None


def _load(kind):
    now = datetime.now(UTC)
    return rollup_reads.load({kind}, now - timedelta(hours=1), now + timedelta(minutes=5))


@pytest.mark.django_db
@pytest.mark.urls("tests.monitoring.urls")
def test_the_queue_time_is_recorded_and_added_to_the_latency(client, backend, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's address: our proxy
    waits = [0.25, 0.4]
    for wait in waits:
        started = int((time.time() - wait) * 1_000_000)
        response = client.get("/api/orders/1/", HTTP_X_REQUEST_START=f"t={started}")
        assert response.status_code == 200
        timing = dict(
            part.strip().split(";dur=") for part in response.headers["Server-Timing"].split(",")
        )
        assert float(timing["queue"]) >= wait * 1000
        assert float(timing["app"]) < wait * 1000  # the worker's own time stays apart
    client.get("/api/orders/2/", HTTP_X_REQUEST_START="t=not-a-time")  # no queue figure
    flush_and_fold()
    queue = _load("queue")[("queue", "/api/orders/<int:pk>/", "GET", "")]
    assert queue.count == 2
    # At least the waits we made (the test's own time comes on top), to the histogram's 1 %.
    assert queue.sum_ms >= sum(waits) * 1000
    assert queue.max_ms >= max(waits) * 1000
    request = _load("request")[("request", "/api/orders/<int:pk>/", "GET", "2xx")]
    assert request.count == 3
    assert request.sum_ms >= queue.sum_ms  # the latency includes the wait
    assert request.max_ms >= max(waits) * 1000


@pytest.mark.django_db
def test_the_performance_page_says_whether_queue_time_is_included(admin_client, backend, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]
    page = admin_client.get("/admin/dashboards/performance/").content.decode()
    assert "timed from when a worker takes a request" in page
    assert "None received in this range: not included." in page
    started = int((time.time() - 0.3) * 1000)
    admin_client.get("/admin/dashboards/performance/", HTTP_X_REQUEST_START=f"t={started}")
    flush_and_fold()
    page = admin_client.get("/admin/dashboards/performance/").content.decode()
    assert "Included in the latency above." in page


@pytest.mark.django_db
@pytest.mark.urls("tests.monitoring.urls")
def test_the_header_is_believed_only_from_a_trusted_proxy(client, backend, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    started = int((time.time() - 30) * 1000)  # a client claiming 30 s in the queue
    response = client.get("/api/orders/1/", HTTP_X_REQUEST_START=f"t={started}")
    assert "queue;dur=" not in response.headers["Server-Timing"]
    flush_and_fold()
    assert _load("queue") == {}
    request = _load("request")[("request", "/api/orders/<int:pk>/", "GET", "2xx")]
    assert request.max_ms < 30_000
