"""The Performance, route, statement and System pages, the overview card and the API."""

import csv
import io
import time
from html import unescape
from urllib.parse import quote

import numpy as np
import pytest
from django.contrib.auth.models import Permission

from monitoring.models import QueryFingerprint, SystemSample
from monitoring.recorder import REQUEST, TASK, TIMER, Work
from tests.monitoring.conftest import flush_and_fold

pytestmark = [pytest.mark.django_db]
PERFORMANCE = "/admin/dashboards/performance/"
ROUTE = "/admin/dashboards/performance-route/"
SYSTEM = "/admin/dashboards/system/"


@pytest.fixture
def traffic(recorder):
    """Three routes with known latencies, a task, a timer and a slow sample, two minutes ago."""
    at = time.time() - 120
    for latency in (10, 20, 30, 40, 50, 60, 70, 80, 90, 3000):
        work = Work()
        work.db, work.count = latency / 4000, 2
        recorder.record(REQUEST, "/api/orders/<int:pk>/", "GET", "2xx", latency, False, work, at=at)
    recorder.record(REQUEST, "/api/orders/<int:pk>/", "GET", "5xx", 15, True, at=at)
    recorder.record(REQUEST, "/api/users/", "POST", "2xx", 5, False, at=at, n_plus_one=True)
    recorder.record(TASK, "reports.send", "", "", 900, True, at=at)
    recorder.record(TIMER, "score.job_security", "", "", 12, False, at=at)
    recorder.sample(
        {
            "time": at,
            "route": "/api/users/",
            "method": "POST",
            "status": 201,
            "duration_ms": 5.0,
            "db_ms": 3.0,
            "query_count": 6,
            "slow": False,
            "queries": [
                ('SELECT "auth_user"."id" FROM "auth_user" WHERE "auth_user"."id" = %s', 0.5)
            ]
            * 6,
            "repeated": {'SELECT "auth_user"."id" FROM "auth_user" WHERE "auth_user"."id" = %s': 6},
        }
    )
    flush_and_fold()


@pytest.fixture
def host_samples():
    from django.utils import timezone

    SystemSample.objects.create(
        host="web-1",
        time=timezone.now(),
        cpu_percent=97.0,
        memory_percent=40.0,
        disks={"/": 55.0},
        disk_percent=55.0,
        load_1=3.2,
    )


def grant(user):
    user.user_permissions.add(
        Permission.objects.get(codename="view_dashboard", content_type__app_label="monitoring")
    )


@pytest.mark.parametrize("url", [PERFORMANCE, f"{ROUTE}?route=/x/", SYSTEM])
def test_staff_without_the_permission_are_refused(staff_client, url):
    assert staff_client.get(url).status_code == 403


@pytest.mark.parametrize("url", [PERFORMANCE, SYSTEM])
def test_visitors_who_are_not_staff_go_to_the_login(client, plain_user, url):
    client.force_login(plain_user)
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_staff_with_the_permission_see_the_pages(staff_client, staff_user, traffic, host_samples):
    grant(staff_user)
    for url in (PERFORMANCE, f"{ROUTE}?route=/api/users/", SYSTEM):
        assert staff_client.get(url).status_code == 200


def test_the_performance_page_shows_endpoints_with_their_figures(admin_client, traffic):
    response = admin_client.get(PERFORMANCE)
    assert response.status_code == 200
    html = response.text
    assert html.count("plotly-graph-div") == 4
    assert "p95 target 2,000 ms" in html and "DB p95 target 500 ms" in html
    assert "target 1 %" in html
    endpoints = next(t for t in response.context["tables"] if t.name == "endpoints")
    orders = next(r for r in endpoints.rows if r["route"] == "/api/orders/<int:pk>/")
    assert orders["requests"] == 11 and orders["errors"] == 1
    assert orders["max_ms"] == 3000
    assert orders["p99_ms"] == pytest.approx(2726.9, rel=0.01)  # numpy over the 11 latencies
    route = quote("/api/orders/<int:pk>/", safe="")
    link = f'href="{ROUTE}?range=24h&amp;route={route}&amp;method=GET"'
    assert link in html
    users = next(r for r in endpoints.rows if r["route"] == "/api/users/")
    assert users["n_plus_one_flag"] == "N+1"
    assert "reports.send" in html and "score.job_security" in html


def test_the_endpoints_table_exports_as_csv(admin_client, traffic):
    response = admin_client.get(PERFORMANCE + "?export=endpoints")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["Route", "Method", "Requests", "Avg"]
    assert rows[1][:3] == ["/api/orders/<int:pk>/", "GET", "11"]


def test_the_route_page_shows_the_route_with_samples_and_n_plus_one(admin_client, traffic):
    response = admin_client.get(ROUTE, {"route": "/api/users/", "method": "POST"})
    assert response.status_code == 200
    html = unescape(response.text)
    assert "POST /api/users/" in html
    assert 'WHERE "auth_user"."id" = ?' in html and "<strong>6×</strong>" in html
    findings = next(t for t in response.context["tables"] if t.name == "n_plus_one")
    assert findings.rows[0]["max_repeats"] == 6


def test_the_route_page_without_data_says_so(admin_client):
    response = admin_client.get(ROUTE, {"route": "/api/nothing/"})
    assert response.status_code == 200
    assert "No requests to this route in this range." in response.text


@pytest.mark.parametrize(
    ("params", "message"),
    [({}, "Which route?"), ({"route": "/x/", "method": "BREW"}, "Unknown method")],
)
def test_the_route_page_refuses_bad_parameters(admin_client, params, message):
    response = admin_client.get(ROUTE, params)
    assert response.status_code == 400
    assert message in response.text


def test_the_system_page_shows_each_host_with_a_status(admin_client, host_samples):
    response = admin_client.get(SYSTEM)
    assert response.status_code == 200
    [card] = response.context["cards"]
    assert (card.title, card.status) == ("web-1", "critical")  # CPU 97 %
    assert "97.0 %" in response.text and "/ 55 %" in response.text
    assert response.text.count("plotly-graph-div") == 4


def test_the_overview_card_has_p95_errors_throughput_cpu_and_memory(
    admin_client, traffic, host_samples
):
    response = admin_client.get("/admin/")
    card = next(c for c in response.context["cards"] if c.title == "Performance")
    figures = dict(card.metrics)
    latencies = [10, 20, 30, 40, 50, 60, 70, 80, 90, 3000, 15, 5]
    p95 = float(figures["p95"].removesuffix(" ms").replace(",", ""))
    assert p95 == pytest.approx(np.percentile(latencies, 95), rel=0.011)
    assert figures["5xx rate"] == "8.33 %"  # 1 of 12 requests answered 5xx
    assert figures["CPU"] == "97.0 % (critical)"
    assert card.status == "critical" and card.link.startswith(PERFORMANCE)


def test_the_overview_card_has_no_data_without_traffic(admin_client):
    response = admin_client.get("/admin/")
    card = next(c for c in response.context["cards"] if c.title == "Performance")
    assert card.status == "nodata"


def test_the_statement_page_explains_a_select(admin_client):
    statement = QueryFingerprint.objects.create(
        fingerprint="a" * 16,
        statement=(
            'SELECT "auth_user"."id" FROM "auth_user" WHERE "auth_user"."username" = ? LIMIT ?'
        ),
        first_seen="2026-01-01T00:00Z",
        last_seen="2026-01-01T00:00Z",
    )
    url = f"/admin/dashboards/performance-query/?fingerprint={statement.fingerprint}"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url)
    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan and any("auth_user" in line for line in plan)


def test_only_a_select_is_explained(admin_client):
    statement = QueryFingerprint.objects.create(
        fingerprint="b" * 16,
        statement='DELETE FROM "auth_user" WHERE "auth_user"."id" = ?',
        first_seen="2026-01-01T00:00Z",
        last_seen="2026-01-01T00:00Z",
    )
    response = admin_client.post(
        f"/admin/dashboards/performance-query/?fingerprint={statement.fingerprint}"
    )
    assert response.context["plan"] is None
    assert "Only a single SELECT statement can be explained." in response.text
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.exists()


def test_an_unknown_statement_is_a_bad_request(admin_client):
    response = admin_client.get("/admin/dashboards/performance-query/?fingerprint=nope")
    assert response.status_code == 400


def test_the_page_of_a_statement_past_sqlparse_token_limit_opens(admin_client):
    """A bulk UPDATE ... FROM (VALUES ...) of thousands of rows: 52 KB, far past 10,000 tokens."""
    row = "(CAST(? AS integer), CAST(? AS text))"
    text = (
        'UPDATE "alerts_alert" SET "state" = v.column2 FROM (VALUES '  # noqa: S608
        + ", ".join([row] * 1400)
        + ') AS v WHERE "alerts_alert"."id" = v.column1'
    )
    assert len(text) > 52_000
    statement = QueryFingerprint.objects.create(
        fingerprint="d" * 16,
        statement=text,
        first_seen="2026-01-01T00:00Z",
        last_seen="2026-01-01T00:00Z",
    )
    url = f"/admin/dashboards/performance-query/?fingerprint={statement.fingerprint}"
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "Only SELECT statements can be explained." in response.text
    response = admin_client.post(url)
    assert response.status_code == 200
    assert "Only a single SELECT statement can be explained." in response.text


def test_a_select_past_sqlparse_token_limit_can_still_be_explained(admin_client):
    values = ", ".join(["CAST(? AS integer)"] * 3000)
    statement = QueryFingerprint.objects.create(
        fingerprint="e" * 16,
        statement='SELECT "auth_user"."id" FROM "auth_user" WHERE "auth_user"."id" IN '  # noqa: S608
        + f"({values})",
        first_seen="2026-01-01T00:00Z",
        last_seen="2026-01-01T00:00Z",
    )
    response = admin_client.post(
        f"/admin/dashboards/performance-query/?fingerprint={statement.fingerprint}"
    )
    assert response.status_code == 200
    assert any("auth_user" in line for line in response.context["plan"])
