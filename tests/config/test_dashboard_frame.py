import csv
import io
from pathlib import Path

import plotly
import plotly.graph_objects as go
import pytest
from django.contrib.auth.models import Permission

from config import dashboards
from config.tables import Column, Table

pytestmark = pytest.mark.django_db

PAGE_URL = "/admin/dashboards/frame-test/"


@pytest.fixture
def frame_page():
    @dashboards.page("frame-test", "Frame test", permission="core.view_overview")
    def view(request, ctx):
        table = Table(
            "endpoints",
            "Endpoints",
            [Column("route", "Route", link="url"), Column("requests", "Requests", numeric=True)],
            rows=[
                {"route": "/api/orders/", "requests": 12, "url": "/admin/"},
                {"route": '=HYPERLINK("x")', "requests": 3, "url": None},
            ],
        )
        figure = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="latency"))
        context = {"figures": [figure], "range_seen": ctx.time_range.key}
        return ctx.render("dashboards/generic.html", context, tables=[table])

    yield view
    dashboards.unregister("frame-test")


def grant(user, codename="view_overview"):
    user.user_permissions.add(Permission.objects.get(codename=codename))


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_non_staff_user_cannot_open_the_overview(client, plain_user):
    client.force_login(plain_user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_without_the_permission_see_no_status_cards(staff_client):
    response = staff_client.get("/admin/")
    assert response.status_code == 200
    assert "status-card" not in response.text


def test_the_overview_shows_a_no_data_card_per_app(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    cards = {card.title: card for card in response.context["cards"]}
    assert list(cards) == ["Alerts", "Performance", "Real users", "Data quality", "Security"]
    assert response.text.count("No data yet") >= 4
    assert all(cards[title].status == "nodata" for title in list(cards)[:4])
    # Signing the admin in is already a security event.
    assert cards["Security"].status == "good"


def test_staff_with_the_permission_see_the_overview(staff_client, staff_user):
    grant(staff_user)
    response = staff_client.get("/admin/?range=7d")
    assert response.status_code == 200
    assert response.context["time_range"].key == "7d"
    assert "status-card" in response.text


def test_a_failing_card_is_reported_on_its_card_not_as_an_error(admin_client):
    @dashboards.card("broken", "Broken", permission="core.view_overview")
    def broken(request, time_range):
        raise RuntimeError("boom")

    try:
        response = admin_client.get("/admin/")
    finally:
        dashboards._cards.pop("broken")
    assert response.status_code == 200
    assert "This card could not be loaded" in response.text


def test_a_page_renders_inside_the_admin_with_its_figure_and_table(admin_client, frame_page):
    response = admin_client.get(PAGE_URL)
    assert response.status_code == 200
    html = response.text
    assert html.count("vendor/plotly/plotly.min.js") == 1
    assert "plotly-graph-div" in html
    assert '<div class="breadcrumbs">' in html and "Frame test" in html
    assert 'name="range"' in html and "data-auto-refresh" in html
    assert '<a href="/admin/">/api/orders/</a>' in html
    assert "?export=endpoints" in html
    assert response.context["range_seen"] == "24h"


def test_a_page_is_listed_in_the_dashboard_navigation(admin_client, frame_page):
    html = admin_client.get("/admin/").text
    assert f'href="{PAGE_URL}"' in html


def test_a_page_requires_its_permission(staff_client, staff_user, frame_page):
    assert staff_client.get(PAGE_URL).status_code == 403
    grant(staff_user)
    assert staff_client.get(PAGE_URL).status_code == 200


def test_a_page_sends_anonymous_visitors_to_login(client, frame_page):
    response = client.get(PAGE_URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_an_unknown_page_is_404(admin_client):
    assert admin_client.get("/admin/dashboards/nope/").status_code == 404


def test_a_bad_range_is_400_with_the_reason(admin_client, frame_page):
    response = admin_client.get(PAGE_URL + "?range=fortnight")
    assert response.status_code == 400
    assert "Unknown range &#x27;fortnight&#x27;" in response.text


def test_a_custom_range_is_honoured(admin_client, frame_page):
    response = admin_client.get(
        PAGE_URL + "?range=custom&start=2026-01-01T00:00&end=2026-01-02T12:00"
    )
    assert response.status_code == 200
    assert response.context["range_seen"] == "custom"
    assert "2026-01-01 00:00 – 2026-01-02 12:00" in response.text


def test_tables_export_as_csv(admin_client, frame_page):
    response = admin_client.get(PAGE_URL + "?range=7d&export=endpoints")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="frame-test-endpoints-' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["Route", "Requests"], ["/api/orders/", "12"], ['\'=HYPERLINK("x")', "3"]]


def test_exporting_an_unknown_table_is_400(admin_client, frame_page):
    response = admin_client.get(PAGE_URL + "?export=nope")
    assert response.status_code == 400
    assert "tables: endpoints" in response.text


def test_plotly_js_is_served_from_the_installed_package(client):
    response = client.get("/static/vendor/plotly/plotly.min.js")
    assert response.status_code == 200
    served = b"".join(response.streaming_content)
    packaged = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert served == packaged.read_bytes()


def test_banners_show_on_every_admin_page(admin_client):
    def firing(request):
        return [dashboards.Banner("critical", "2 alerts firing", "/admin/")]

    dashboards.banner(firing)
    try:
        for url in ("/admin/", "/admin/auth/user/"):
            assert "2 alerts firing" in admin_client.get(url).text
    finally:
        dashboards.unregister_banner(firing)
