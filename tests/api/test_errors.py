"""Refusals under /api/ are JSON, name the field at fault, and are in the schema."""

from __future__ import annotations

import json

import pytest
import yaml
from django.test import RequestFactory

from config.api import MAX_QUERY_STRING, server_error
from rum.models import Site
from tests.rum.conftest import ORIGIN, beacon, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    return Site.objects.create(name="Shop", public_key="shop-key", allowed_origins=ORIGIN)


@pytest.mark.parametrize(
    "path",
    ["/api/nothing-here/", "/api/dataquality/statements/abc/report/", "/api/rum/summary/x/"],
)
def test_an_unknown_api_path_is_a_json_404(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_elsewhere_a_404_stays_a_page(admin_client):
    response = admin_client.get("/nothing-here/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_server_error_under_api_is_json():
    response = server_error(RequestFactory().get("/api/monitoring/overview/"))
    assert response.status_code == 500
    assert json.loads(response.content) == {"detail": "Server error."}


@pytest.mark.parametrize(
    ("url", "query", "field"),
    [
        ("/api/monitoring/overview/", "hour=2", "hour"),  # misspelt: not silently ignored
        ("/api/monitoring/overview/", "hours=2&hours=3", "hours"),
        ("/api/monitoring/endpoints/", "route=", "route"),
        ("/api/rum/summary/", "site=99999999999999999999", "site"),
        ("/api/rum/pages/", "device=toaster", "device"),
        ("/api/dataquality/reports/", "offset=-99999999999999999999", "offset"),
        ("/api/dataquality/reports/", "type=", "type"),
    ],
)
def test_bad_query_parameters_are_a_400_naming_them(admin_client, url, query, field):
    response = admin_client.get(f"{url}?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_huge_query_string_is_a_414(admin_client):
    response = admin_client.get("/api/monitoring/endpoints/?route=" + "x" * MAX_QUERY_STRING)
    assert response.status_code == 414
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"statement_ids": ["1"]}, "statement_ids"),  # a string is not an integer
        ({"statement_ids": [2**63]}, "statement_ids"),
        ({"scope": 1}, "scope"),
    ],
)
def test_a_body_field_of_the_wrong_json_type_is_a_400(admin_client, body, field):
    response = admin_client.post("/api/dataquality/checks/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_body_over_the_upload_limit_is_a_413(admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"statement_ids": list(range(1, 500))}
    response = admin_client.post("/api/dataquality/checks/", body, content_type="application/json")
    assert response.status_code == 413
    assert "detail" in response.json()


def test_a_form_body_is_a_415(admin_client):
    response = admin_client.post("/api/dataquality/checks/", {"scope": "all"})
    assert response.status_code == 415
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "event",
    [
        {"id": "e1", "type": "pageview", "url": 0},  # a number where the schema says string
        {"id": " e1", "type": "pageview"},  # ids are the pattern, spaces included
        {"id": "e1\n", "type": "pageview"},
        {"id": "e1", "type": "custom", "name": "   "},
    ],
)
def test_a_beacon_the_schema_forbids_is_refused(client, site, event):
    response = post(client, beacon(events=[event]))
    assert response.status_code == 400, response.content
    assert "events" in response.json()


def test_the_schema_documents_each_refusal(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    codes = {
        (path, method): set(operation["responses"])
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    assert codes[("/api/monitoring/overview/", "get")] == {"200", "400", "403", "414"}
    assert codes[("/api/dataquality/scans/{scan_id}/", "get")] == {"200", "403", "404"}
    assert codes[("/api/dataquality/checks/", "post")] == {"202", "400", "403", "404", "413", "415"}
    assert codes[("/api/rum/beacon/", "post")] == {"202", "400", "403", "413", "415", "429", "503"}
    error = schema["paths"]["/api/alerts/status/"]["get"]["responses"]["403"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
