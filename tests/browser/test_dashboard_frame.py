import pytest

from config import dashboards
from config.tables import Column, Table


@pytest.fixture
def table_page():
    @dashboards.page("browser-test", "Browser test", permission="core.view_overview")
    def view(request, ctx):
        rows = [{"route": r, "requests": n} for r, n in [("/b/", 5), ("/a/", 40), ("/c/", 7)]]
        table = Table(
            "t",
            "Routes",
            [Column("route", "Route"), Column("requests", "Requests", numeric=True)],
            rows,
        )
        return ctx.render("dashboards/generic.html", {}, tables=[table])

    yield
    dashboards.unregister("browser-test")


def column(page, index):
    return page.locator(f"#table-t tbody tr td:nth-child({index})").all_inner_texts()


def test_tables_sort_by_a_clicked_column(logged_in_page, live_server, table_page):
    page = logged_in_page
    page.goto(f"{live_server.url}/admin/dashboards/browser-test/")
    assert column(page, 2) == ["5", "40", "7"]
    page.click("#table-t th:nth-child(2) button")
    assert column(page, 2) == ["5", "7", "40"]  # numeric, not text order
    page.click("#table-t th:nth-child(2) button")
    assert column(page, 2) == ["40", "7", "5"]
    page.click("#table-t th:nth-child(1) button")
    assert column(page, 1) == ["/a/", "/b/", "/c/"]


def test_the_range_control_and_auto_refresh_persist(logged_in_page, live_server, table_page):
    page = logged_in_page
    page.goto(f"{live_server.url}/admin/dashboards/browser-test/")
    page.select_option("select[name=range]", "7d")
    page.wait_for_url("**range=7d**")
    assert page.locator("select[name=range]").input_value() == "7d"

    page.select_option("select[name=range]", "custom")
    assert page.locator("[data-custom-range]").is_visible()

    page.check("[data-auto-refresh]")
    page.reload()
    assert page.locator("[data-auto-refresh]").is_checked()


def test_the_overview_shows_a_card_per_app(logged_in_page):
    cards = logged_in_page.locator(".status-card h2").all_inner_texts()
    assert cards == ["Alerts", "Performance", "Real users", "Data quality", "Security"]
