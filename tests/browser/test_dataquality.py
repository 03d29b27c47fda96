"""The data-quality pages in a real Chromium: figures drawn, drill-down, re-check."""

import pytest

from dataquality.models import Run
from tests.dataquality.conftest import scan_all
from tests.dataquality.helpers import balance_sheet, join, load_csv

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def checked():
    load_csv(
        join(
            balance_sheet("Acme", assets=(60_000, 40_000), liabilities=(50_000,), equity=(50_000,)),
            balance_sheet(
                "Globex", assets=(120_000, -20_000), liabilities=(60_000,), equity=(10_000,)
            ),
        )
    )
    scan_all()


def test_a_user_drills_down_from_the_dashboard_and_rechecks(logged_in_page, live_server, checked):
    page = logged_in_page
    page.goto(f"{live_server.url}/admin/dashboards/data-quality/")
    assert "range=30d" in page.url
    page.wait_for_selector(".dashboard-figure .main-svg")
    assert page.locator(".dashboard-figure .js-plotly-plot").count() == 2
    scores = page.locator("#table-statements tbody tr td:nth-child(5)").all_inner_texts()
    assert scores == ["20", "100"]

    page.click("#table-statements tbody tr:first-child td:first-child a")
    page.wait_for_selector(".dq-statement")
    assert "Globex balance sheet" in page.locator(".dq-statement h2").inner_text()
    assert page.locator("#table-findings tbody tr").count() == 2
    page.wait_for_selector(".dashboard-figure .main-svg")  # the score history

    page.click("text=Re-check now")
    page.wait_for_selector(".messagelist")
    assert "Re-check of Globex balance sheet" in page.locator(".messagelist").inner_text()
    assert Run.objects.filter(statement__entity__name="Globex").count() == 2
    assert page.locator("#table-runs tbody tr").count() == 2


def test_a_user_follows_a_recommendation_then_narrows_by_severity(
    logged_in_page, live_server, checked
):
    page = logged_in_page
    page.goto(f"{live_server.url}/admin/dashboards/data-quality/")
    page.wait_for_selector(".dashboard-figure .main-svg")
    trend = page.locator(".dashboard-figure").first
    assert trend.locator(".scatterlayer .points path").count() >= 1  # the one scan, a point
    panel = page.locator("#recommendations")
    assert "Balance-sheet equation" in panel.inner_text()
    panel.locator("a", has_text="Balance-sheet equation").click()
    page.wait_for_url("**check=balance_equation**")
    rows = page.locator("#table-statements tbody tr")
    assert rows.count() == 1
    assert "Balance-sheet equation" in rows.first.inner_text()  # its failing checks

    # The filter bar carries the check once; choosing a severity keeps it.
    page.select_option("select[name=severity]", "low")
    page.click(".dashboard-toolbar button[type=submit]")
    page.wait_for_url("**severity=low**")
    assert "check=balance_equation" in page.url
    assert page.locator("#table-statements .empty").count() == 1
