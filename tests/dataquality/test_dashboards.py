"""The data-quality pages, the overview card and the admin screens around them."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from dataquality.models import CheckConfig, Finding, Run, Scan, Statement
from tests.dataquality.conftest import scan_all
from tests.dataquality.helpers import balance_sheet, join, load_csv

pytestmark = pytest.mark.django_db

PAGE = "/admin/dashboards/data-quality/"
DETAIL = "/admin/dashboards/data-quality-statement/"


def exported_rows(response) -> list[list[str]]:
    """The rows of a CSV export (streamed: read as a browser would, chunk by chunk)."""
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def checked():
    """Three statements scoring 100, 50 (unbalanced) and 20 (unbalanced, negative)."""
    load_csv(
        join(
            balance_sheet("Acme", assets=(60_000, 40_000), liabilities=(50_000,), equity=(50_000,)),
            balance_sheet(
                "Globex", assets=(60_000, 40_000), liabilities=(50_000,), equity=(20_000,)
            ),
            balance_sheet(
                "Initech", assets=(120_000, -20_000), liabilities=(60_000,), equity=(10_000,)
            ),
        )
    )
    scan_all(now=timezone.now() - timedelta(days=3))
    return {s.entity.name: s for s in Statement.objects.select_related("entity", "latest_run")}


def test_the_page_needs_its_permission(staff_client, staff_user):
    assert staff_client.get(PAGE + "?range=30d").status_code == 403
    staff_user.user_permissions.add(
        Permission.objects.get(codename="view_dashboard", content_type__app_label="dataquality")
    )
    assert staff_client.get(PAGE + "?range=30d").status_code == 200


def test_the_page_opens_on_the_last_30_days(admin_client):
    response = admin_client.get(PAGE + "?entity=")
    assert response.status_code == 302
    assert "range=30d" in response["Location"]


def test_the_cards_show_average_critical_total_and_good_statements(admin_client, checked):
    response = admin_client.get(PAGE + "?range=30d")
    assert response.status_code == 200
    cards = {c.title: dict(c.metrics) for c in response.context["cards"]}
    assert cards["Average score"] == {"latest runs": "56.7"}
    assert cards["Critical issues"] == {"open": "2"}
    assert cards["Total issues"] == {"open": "3"}
    assert cards["Statements scoring ≥ 90"]["statements"] == "1 of 3"
    assert response.text.count("plotly-graph-div") == 2  # the trend and issues by check


def test_the_statements_table_lists_the_worst_first_with_coloured_scores(admin_client, checked):
    response = admin_client.get(PAGE + "?range=30d")
    [table] = response.context["tables"]
    assert [row["entity"] for row in table.rows] == ["Initech", "Globex", "Acme"]
    assert [row["score_css"] for row in table.rows] == ["critical", "critical", "good"]
    html = response.text
    assert f'href="{DETAIL}?statement={checked["Initech"].pk}"' in html
    assert f"/admin/dataquality/statement/{checked['Initech'].pk}/recheck/" in html


def test_the_statements_table_exports_as_csv(admin_client, checked):
    response = admin_client.get(PAGE + "?range=30d&export=statements")
    assert response["Content-Type"].startswith("text/csv")
    rows = exported_rows(response)
    assert rows[0][:5] == ["Statement", "Entity", "Type", "Period end", "Score"]
    assert [(r[1], r[4]) for r in rows[1:]] == [
        ("Initech", "20"),
        ("Globex", "50"),
        ("Acme", "100"),
    ]


def test_a_long_table_shows_the_worst_statements_and_the_csv_has_them_all(
    admin_client, checked, monkeypatch
):
    from dataquality import dashboards

    monkeypatch.setattr(dashboards, "TABLE_ROWS", 2)
    response = admin_client.get(PAGE + "?range=30d")
    [table] = response.context["tables"]
    assert [row["entity"] for row in table.rows] == ["Initech", "Globex"]
    assert "Showing the 2 lowest-scoring of 3 statements" in response.text
    exported = admin_client.get(PAGE + "?range=30d&export=statements")
    assert len(exported_rows(exported)) == 1 + 3


def test_the_filters_narrow_the_page_and_bad_ones_are_refused(admin_client, checked):
    entity = checked["Acme"].entity_id
    response = admin_client.get(PAGE + f"?range=30d&entity={entity}")
    assert [row["entity"] for row in response.context["tables"][0].rows] == ["Acme"]
    assert admin_client.get(PAGE + "?range=30d&entity=abc").status_code == 400
    assert admin_client.get(PAGE + "?range=30d&type=ledger").status_code == 400


def test_the_trend_follows_the_scores_over_time(admin_client, checked):
    from dataquality.history import load_runs, trend

    load_csv(
        balance_sheet("Globex", assets=(60_000, 40_000), liabilities=(50_000,), equity=(50_000,)),
        "fixed.csv",
    )
    scan_all()
    now = timezone.now()
    runs = load_runs(now - timedelta(days=30), now + timedelta(seconds=1))
    points = trend(
        runs, [now - timedelta(days=4), now - timedelta(days=1), now + timedelta(seconds=1)]
    )
    assert points["score"].round(1).tolist()[1:] == [56.7, 73.3]
    assert points["score"].isna().tolist()[0]


def test_the_statement_page_shows_findings_samples_and_history(admin_client, checked):
    statement = checked["Initech"]
    response = admin_client.get(DETAIL + f"?statement={statement.pk}&range=30d")
    assert response.status_code == 200
    findings, samples, runs = response.context["tables"]
    assert {r["check"] for r in findings.rows} == {"Balance-sheet equation", "Negative balances"}
    negative = Finding.objects.get(statement=statement, check_key="negative_balances")
    assert [r["id"] for r in samples.rows if r["checks"] == "Negative balances"] == (
        negative.sample_ids
    )
    assert f"/admin/dataquality/lineitem/{negative.sample_ids[0]}/change/" in response.text
    assert [r["score"] for r in runs.rows] == [20]
    assert "Re-check now" in response.text


def test_the_statement_page_answers_404_and_400(admin_client):
    assert admin_client.get(DETAIL + "?statement=999999&range=30d").status_code == 404
    assert admin_client.get(DETAIL + "?statement=x&range=30d").status_code == 400


def test_re_check_asks_first_then_runs_a_scan(
    admin_client, checked, django_capture_on_commit_callbacks
):
    statement = checked["Globex"]
    url = f"/admin/dataquality/statement/{statement.pk}/recheck/"
    assert "Re-check" in admin_client.get(url).text
    assert Run.objects.filter(statement=statement).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == f"{DETAIL}?statement={statement.pk}"
    assert Run.objects.filter(statement=statement).count() == 2


def test_the_recheck_action_on_the_statement_list(
    admin_client, checked, django_capture_on_commit_callbacks
):
    ids = [checked["Acme"].pk, checked["Globex"].pk]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/dataquality/statement/", {"action": "recheck", "_selected_action": ids}
        )
    scan = Scan.objects.order_by("-id").first()
    assert (scan.scope, scan.status, scan.total) == ("selected", "done", 2)


def test_the_scan_list_shows_progress(admin_client, checked):
    Scan.objects.create(scope="all", status="running", total=20000, done=4000)
    html = admin_client.get("/admin/dataquality/scan/").text
    assert '<progress max="20000" value="4000"></progress> 4000 of 20000' in html


def test_scans_can_be_started_from_the_admin(admin_client, django_capture_on_commit_callbacks):
    load_csv(balance_sheet())
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/dataquality/scan/start/", {"scope": "all"})
    scan = Scan.objects.get()
    assert response["Location"] == f"/admin/dataquality/scan/{scan.pk}/change/"
    assert (scan.status, scan.done) == ("done", 1)


def test_check_thresholds_are_edited_as_form_fields(admin_client):
    admin_client.get("/admin/dataquality/checkconfig/")  # creates a row per check
    config = CheckConfig.objects.get(check_key="balance_equation")
    url = f"/admin/dataquality/checkconfig/{config.pk}/change/"
    assert 'name="tolerance_percent"' in admin_client.get(url).text
    response = admin_client.post(
        url,
        {
            "enabled": "on",
            "severity": "high",
            "tolerance_percent": "2.5",
            "tolerance_absolute": "-1",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Ensure this value is greater than or equal to 0" in response.text
    admin_client.post(
        url,
        {
            "enabled": "on",
            "severity": "high",
            "tolerance_percent": "2.5",
            "tolerance_absolute": "500",
        },
    )
    config.refresh_from_db()
    assert (config.severity, config.params) == (
        "high",
        {"tolerance_percent": 2.5, "tolerance_absolute": 500.0},
    )


def test_who_may_only_view_the_checks_reads_their_thresholds_and_changes_nothing(
    client, staff_user
):
    staff_user.user_permissions.add(Permission.objects.get(codename="view_checkconfig"))
    client.force_login(staff_user)
    assert client.get("/admin/dataquality/checkconfig/").status_code == 200
    config = CheckConfig.objects.get(check_key="balance_equation")
    url = f"/admin/dataquality/checkconfig/{config.pk}/change/"
    response = client.get(url)
    assert response.status_code == 200
    assert "Tolerance" in response.text and 'name="tolerance_percent"' not in response.text
    body = {"enabled": "", "severity": "low", "tolerance_percent": "90"}
    assert client.post(url, body).status_code == 403
    assert CheckConfig.objects.get(pk=config.pk).enabled


def test_a_scan_is_started_by_a_post_only(admin_client):
    assert admin_client.get("/admin/dataquality/scan/start/").status_code == 405
    assert not Scan.objects.exists()


def test_the_overview_card_shows_the_average_and_open_critical_issues(admin_client, checked):
    response = admin_client.get("/admin/")
    card = next(c for c in response.context["cards"] if c.title == "Data quality")
    assert card.status == "critical"
    assert dict(card.metrics) == {"average score": "56.7", "critical issues open": "2"}
    assert card.link == PAGE


def test_the_overview_card_says_no_data_before_any_scan(admin_client):
    response = admin_client.get("/admin/")
    card = next(c for c in response.context["cards"] if c.title == "Data quality")
    assert card.status == "nodata"


def test_re_check_needs_the_change_permission(staff_client, staff_user, checked):
    staff_user.user_permissions.add(Permission.objects.get(codename="view_statement"))
    url = f"/admin/dataquality/statement/{checked['Acme'].pk}/recheck/"
    assert staff_client.get(url).status_code == 200
    assert staff_client.post(url).status_code == 403
    assert Run.objects.filter(statement=checked["Acme"]).count() == 1
