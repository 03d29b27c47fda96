"""The staff JSON API: overview, endpoints, system; bad parameters are a 400."""

import time

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from monitoring.models import SystemSample
from monitoring.recorder import REQUEST
from tests.monitoring.conftest import flush_and_fold

pytestmark = pytest.mark.django_db


@pytest.fixture
def traffic(recorder):
    at = time.time() - 120
    for latency in (10, 20, 30, 40):
        recorder.record(REQUEST, "/api/orders/", "GET", "2xx", latency, False, at=at)
    recorder.record(REQUEST, "/api/orders/", "POST", "5xx", 100, True, at=at)
    recorder.record(REQUEST, "/api/users/", "GET", "2xx", 5, False, at=at - 3 * 3600)
    flush_and_fold()


def test_the_overview_sums_the_window(admin_client, traffic):
    body = admin_client.get("/api/monitoring/overview/", {"hours": 1}).json()
    assert body["hours"] == 1 and body["requests"] == 5
    assert body["error_rate"] == pytest.approx(20.0)
    assert body["p50_ms"] == pytest.approx(30.0, rel=0.01)
    assert sum(point["requests"] for point in body["series"]) == 5
    assert admin_client.get("/api/monitoring/overview/", {"hours": 6}).json()["requests"] == 6


def test_endpoints_are_listed_per_route_and_method(admin_client, traffic):
    rows = admin_client.get("/api/monitoring/endpoints/", {"hours": 1}).json()
    assert [(r["route"], r["method"], r["requests"]) for r in rows] == [
        ("/api/orders/", "GET", 4),
        ("/api/orders/", "POST", 1),
    ]
    only = admin_client.get("/api/monitoring/endpoints/", {"hours": 6, "route": "/api/users/"})
    assert [r["route"] for r in only.json()] == ["/api/users/"]


def test_system_health_per_host(admin_client):
    SystemSample.objects.create(
        host="web-1", time=timezone.now(), cpu_percent=85.0, memory_percent=20.0, disks={"/": 10.0}
    )
    [host] = admin_client.get("/api/monitoring/system/").json()
    assert (host["host"], host["status"], host["cpu_percent"]) == ("web-1", "warning", 85.0)
    assert host["disks"] == {"/": 10.0}


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/monitoring/overview/", {"hours": 0}, "hours"),
        ("/api/monitoring/overview/", {"hours": 169}, "hours"),
        ("/api/monitoring/overview/", {"hours": "a day"}, "hours"),
        ("/api/monitoring/endpoints/", {"limit": 0}, "limit"),
        ("/api/monitoring/endpoints/", {"route": "x" * 300}, "route"),
    ],
)
def test_bad_parameters_are_a_400_with_the_field(admin_client, url, params, field):
    response = admin_client.get(url, params)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    "url", ["/api/monitoring/overview/", "/api/monitoring/endpoints/", "/api/monitoring/system/"]
)
def test_only_staff_with_the_permission_may_read(client, staff_client, staff_user, plain_user, url):
    assert client.get(url).status_code == 403
    assert staff_client.get(url).status_code == 403
    staff_user.user_permissions.add(
        Permission.objects.get(codename="view_dashboard", content_type__app_label="monitoring")
    )
    assert staff_client.get(url).status_code == 200
    client.force_login(plain_user)
    assert client.get(url).status_code == 403


def test_the_endpoints_are_in_the_openapi_schema(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert {
        "/api/monitoring/overview/",
        "/api/monitoring/endpoints/",
        "/api/monitoring/system/",
    } <= set(paths)
    names = [p["name"] for p in paths["/api/monitoring/overview/"]["get"]["parameters"]]
    assert "hours" in names
