"""The staff JSON API: reports, one statement's report, triggering checks."""

import pytest

from dataquality.models import Run, Scan, Statement
from tests.dataquality.conftest import scan_all
from tests.dataquality.helpers import balance_sheet, join, load_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def statements():
    load_csv(
        join(
            balance_sheet("Acme", assets=(60_000, 40_000), liabilities=(50_000,), equity=(50_000,)),
            balance_sheet(
                "Globex", assets=(120_000, -20_000), liabilities=(60_000,), equity=(10_000,)
            ),
        )
    )
    scan_all()
    return {s.entity.name: s for s in Statement.objects.select_related("entity")}


def test_the_api_is_for_staff_only(client, plain_user):
    assert client.get("/api/dataquality/reports/").status_code == 403
    client.force_login(plain_user)
    assert client.get("/api/dataquality/reports/").status_code == 403


def test_staff_need_the_dashboard_permission_to_read_and_scan_to_start(
    client, staff_user, statements
):
    """The API refuses whom the dashboard refuses; reading does not let one start a scan."""
    from django.contrib.auth.models import Permission

    statement = statements["Acme"]
    scans = Scan.objects.count()
    client.force_login(staff_user)
    assert client.get("/api/dataquality/reports/").status_code == 403
    assert client.get(f"/api/dataquality/statements/{statement.pk}/report/").status_code == 403
    body = {"scope": "all"}
    assert client.post("/api/dataquality/checks/", body, "application/json").status_code == 403

    view = Permission.objects.get(codename="view_dashboard", content_type__app_label="dataquality")
    staff_user.user_permissions.add(view)
    assert client.get("/api/dataquality/reports/").json()["count"] == 2
    assert client.post("/api/dataquality/checks/", body, "application/json").status_code == 403
    assert Scan.objects.count() == scans

    staff_user.user_permissions.add(Permission.objects.get(codename="add_scan"))
    assert client.post("/api/dataquality/checks/", body, "application/json").status_code == 202
    assert Scan.objects.count() == scans + 1


def test_reports_list_the_latest_score_of_each_statement_worst_first(admin_client, statements):
    body = admin_client.get("/api/dataquality/reports/").json()
    assert body["count"] == 2
    assert [(r["entity"], r["score"], r["critical"]) for r in body["results"]] == [
        ("Globex", 20, 1),
        ("Acme", 100, 0),
    ]


def test_reports_filter_by_score_and_entity(admin_client, statements):
    body = admin_client.get("/api/dataquality/reports/?min_score=90").json()
    assert [r["entity"] for r in body["results"]] == ["Acme"]
    entity = statements["Globex"].entity_id
    body = admin_client.get(f"/api/dataquality/reports/?entity={entity}").json()
    assert [r["entity"] for r in body["results"]] == ["Globex"]
    # The schema allows any two scores: a range the wrong way round is empty, not an error.
    body = admin_client.get("/api/dataquality/reports/?min_score=80&max_score=20").json()
    assert body == {"count": 0, "results": []}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("min_score=abc", "min_score"),
        ("max_score=101", "max_score"),
        ("type=ledger", "type"),
        ("limit=0", "limit"),
        ("type=", "type"),
        ("entity=99999999999999999999", "entity"),
        ("offset=99999999999999999999", "offset"),
        ("limit=5&limit=6", "limit"),
    ],
)
def test_bad_parameters_are_400_with_field_errors(admin_client, query, field):
    response = admin_client.get(f"/api/dataquality/reports/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_a_statement_report_has_findings_and_history(admin_client, statements):
    statement = statements["Globex"]
    body = admin_client.get(f"/api/dataquality/statements/{statement.pk}/report/").json()
    assert body["statement"]["score"] == 20
    assert {f["check"] for f in body["findings"]} == {"balance_equation", "negative_balances"}
    negative = next(f for f in body["findings"] if f["check"] == "negative_balances")
    assert negative["severity"] == "high" and len(negative["sample_ids"]) == 1
    assert negative["recommendation"]
    assert [run["score"] for run in body["history"]] == [20]


def test_an_unknown_statement_is_404(admin_client):
    assert admin_client.get("/api/dataquality/statements/999/report/").status_code == 404


def test_triggering_a_check_answers_202_and_runs_it(
    admin_client, statements, django_capture_on_commit_callbacks
):
    statement = statements["Acme"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/api/dataquality/checks/",
            {"statement_ids": [statement.pk]},
            content_type="application/json",
        )
    assert response.status_code == 202
    scan_id = response.json()["id"]
    assert Run.objects.filter(statement=statement).count() == 2
    progress = admin_client.get(f"/api/dataquality/scans/{scan_id}/").json()
    assert (progress["status"], progress["done"], progress["total"]) == ("done", 1, 1)


def test_triggering_a_full_scan(admin_client, statements, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/api/dataquality/checks/", {"scope": "all"}, content_type="application/json"
        )
    assert response.status_code == 202
    assert Scan.objects.get(pk=response.json()["id"]).done == 2


def test_triggering_unknown_statements_is_404_and_starts_nothing(admin_client, statements):
    response = admin_client.post(
        "/api/dataquality/checks/",
        {"statement_ids": [statements["Acme"].pk, 98765]},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert "98765" in response.json()["detail"]
    assert Scan.objects.count() == 1  # the fixture's


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"statement_ids": []},
        {"statement_ids": ["x"]},
        {"scope": "everything"},
        {"scope": "all", "statement_ids": [1]},
    ],
)
def test_a_bad_trigger_is_400(admin_client, body):
    response = admin_client.post("/api/dataquality/checks/", body, content_type="application/json")
    assert response.status_code == 400


def test_an_unknown_scan_is_404(admin_client):
    assert admin_client.get("/api/dataquality/scans/424242/").status_code == 404


def test_the_endpoints_are_in_the_openapi_schema(admin_client):
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in [
        "/api/dataquality/reports/",
        "/api/dataquality/statements/{statement_id}/report/",
        "/api/dataquality/checks/",
        "/api/dataquality/scans/{scan_id}/",
    ]:
        assert path in schema
