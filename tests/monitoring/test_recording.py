"""Requests are counted under their route template, method and status class."""

from datetime import UTC, datetime, timedelta

import pytest

from monitoring import rollup_reads, stats
from monitoring.models import ALL, MINUTE, Rollup
from tests.monitoring.conftest import flush_and_fold

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.monitoring.urls")]


def load_requests(**filters):
    now = datetime.now(UTC)
    return rollup_reads.load(
        {"request"}, now - timedelta(hours=1), now + timedelta(minutes=5), **filters
    )


def test_requests_are_counted_by_route_template_not_path(client, backend):
    for pk in (1, 2, 3):
        assert client.get(f"/api/orders/{pk}/").status_code == 200
    client.post("/api/orders/4/")
    flush_and_fold()
    series = load_requests()
    assert series[("request", "/api/orders/<int:pk>/", "GET", "2xx")].count == 3
    assert series[("request", "/api/orders/<int:pk>/", "POST", "2xx")].count == 1
    assert not any("/api/orders/1/" in key[1] for key in series)


def test_unmatched_paths_share_one_label(client, backend):
    for path in ("/nope/1", "/nope/2", "/wp-login.php"):
        assert client.get(path).status_code == 404
    flush_and_fold()
    series = load_requests()
    assert series[("request", "<unmatched>", "GET", "4xx")].count == 3
    assert [key for key in series if key[1].startswith("/nope")] == []


def test_an_exception_counts_as_a_server_error(client, backend):
    client.raise_request_exception = False
    assert client.get("/api/boom/").status_code == 500
    client.get("/api/missing/")
    flush_and_fold()
    series = load_requests()
    boom = series[("request", "/api/boom/", "GET", "5xx")]
    assert (boom.count, boom.errors) == (1, 1)
    assert series[("request", "/api/missing/", "GET", "4xx")].errors == 0


def test_an_exception_escaping_the_stack_is_counted_and_re_raised(rf, backend):
    from monitoring.middleware import RequestMetricsMiddleware

    def view(request):
        raise ValueError("escaped")

    request = rf.get("/api/boom/")
    with pytest.raises(ValueError, match="escaped"):
        RequestMetricsMiddleware(view)(request)
    flush_and_fold()
    assert load_requests()[("request", "<unmatched>", "GET", "5xx")].errors == 1


def test_database_time_and_queries_are_attributed_to_the_request(client, backend):
    response = client.get("/api/users/")
    flush_and_fold()
    value = load_requests()[("request", "/api/users/", "GET", "2xx")]
    assert value.queries == 1
    assert 0 < value.db_ms <= value.sum_ms
    assert response["Server-Timing"].startswith("app;dur=")


def test_the_server_timing_header_has_app_and_db_time(client):
    header = client.get("/api/users/")["Server-Timing"]
    app_part, db_part = header.split(", ")
    assert app_part.startswith("app;dur=") and db_part.startswith("db;dur=")
    app_ms, db_ms = float(app_part[8:]), float(db_part[7:])
    assert 0 <= db_ms <= app_ms


def test_the_server_timing_header_can_be_turned_off(client, settings):
    settings.MONITORING_SERVER_TIMING = False
    assert "Server-Timing" not in client.get("/api/users/")


def test_nothing_is_recorded_when_monitoring_is_off(client, settings, recorder):
    settings.MONITORING_ENABLED = False
    settings.MIDDLEWARE = list(settings.MIDDLEWARE)  # rebuilt: the middleware steps aside
    response = client.get("/api/orders/1/")
    assert "Server-Timing" not in response
    assert recorder.take() == ({}, [])


def test_all_routes_totals_are_kept_per_minute(client, backend):
    for pk in range(5):
        client.get(f"/api/orders/{pk}/")
    client.get("/api/missing/")
    flush_and_fold()
    totals = Rollup.objects.get(resolution=MINUTE, kind="request", name=ALL)
    assert (totals.count, totals.errors) == (6, 0)
    hour = Rollup.objects.get(resolution=3600, kind="request", name=ALL)
    day = Rollup.objects.get(resolution=86400, kind="request", name=ALL)
    assert hour.count == day.count == 6


def test_the_open_minute_is_visible_before_any_fold(client, backend, recorder):
    client.get("/api/orders/1/")
    client.get("/api/orders/2/")
    recorder.flush()
    value = load_requests()[("request", "/api/orders/<int:pk>/", "GET", "2xx")]
    assert value.count == 2
    summary = stats.summarize(value)
    assert summary["requests"] == 2 and summary["p95_ms"] > 0


def test_static_files_share_one_label(client, backend):
    assert client.get("/static/dashboards/dashboard.css").status_code == 200
    flush_and_fold()
    assert load_requests()[("request", "<static>", "GET", "2xx")].count == 1


def test_a_server_timing_set_by_the_view_is_kept(rf):
    from django.http import HttpResponse

    from monitoring.middleware import RequestMetricsMiddleware

    def view(request):
        response = HttpResponse("ok")
        response["Server-Timing"] = "cache;desc=hit"
        return response

    header = RequestMetricsMiddleware(view)(rf.get("/"))["Server-Timing"]
    assert header.startswith("cache;desc=hit, app;dur=") and ", db;dur=" in header


@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("MONITORING_FLUSH_SECONDS", 0, "monitoring.E001"),
        ("MONITORING_N_PLUS_ONE_THRESHOLD", 1, "monitoring.E002"),
        ("MONITORING_SLOW_REQUEST_MS", -1, "monitoring.E003"),
    ],
)
def test_settings_that_cannot_work_fail_the_system_checks(settings, setting, value, check_id):
    from monitoring.checks import check_monitoring_settings

    assert check_monitoring_settings(None) == []
    setattr(settings, setting, value)
    assert [e.id for e in check_monitoring_settings(None)] == [check_id]


def test_a_response_timed_twice_carries_one_timing(rf):
    from django.http import HttpResponse

    from monitoring.middleware import RequestMetricsMiddleware

    response = HttpResponse("ok")
    middleware = RequestMetricsMiddleware(lambda request: response)
    middleware(rf.get("/"))
    header = middleware(rf.get("/"))["Server-Timing"]
    assert header.count("app;dur=") == 1


@pytest.mark.urls("config.urls")
def test_made_up_methods_share_one_other_label_in_rollups_and_metrics(client, backend, settings):
    """Anyone can send any method: only the standard ones get a series of their own."""
    for n in range(30):
        client.generic(f"FOO{n}", "/api/rum/beacon/")
    client.generic("PATCH", "/api/rum/beacon/")
    flush_and_fold()
    methods = {key[2] for key in load_requests(name="/api/rum/beacon/")}
    assert methods == {"OTHER", "PATCH"}
    assert load_requests()[("request", "/api/rum/beacon/", "OTHER", "4xx")].count == 30
    assert not Rollup.objects.filter(method__startswith="FOO").exists()

    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    body = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    beacon = [
        line
        for line in body.splitlines()
        if line.startswith("perfmon_http_requests_total{") and "/api/rum/beacon/" in line
    ]
    assert sorted(beacon) == [
        'perfmon_http_requests_total{method="OTHER",route="/api/rum/beacon/",'
        'status_class="4xx"} 30.0',
        'perfmon_http_requests_total{method="PATCH",route="/api/rum/beacon/",'
        'status_class="4xx"} 1.0',
    ]
    assert "FOO" not in body
