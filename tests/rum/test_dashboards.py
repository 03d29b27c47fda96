"""The Web Vitals pages, the overview card and the staff API, from beacons to numbers."""

import csv
import io
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from config.timerange import parse_time_range
from lib import sketch
from rum import fold
from rum.dashboards import overview_card
from rum.models import Site
from tests.rum.conftest import SAFARI_IPHONE, beacon, post, vital

pytestmark = pytest.mark.django_db


def page_view(lcp, inp=100.0, cls=0.01, url="https://shop.example.com/checkout/"):
    events = [{"id": "pv", "type": "pageview", "title": "Checkout"},
              vital("LCP", lcp, attribution={"target": "main>img.hero"}),
              vital("INP", inp, attribution={"target": "button#buy"}), vital("CLS", cls),
              vital("FCP", 800.0), vital("TTFB", 400.0)]  # fmt: skip
    return beacon(events, url=url)


@pytest.fixture
def data(client, site):
    for lcp in (1000.0, 1200.0, 1400.0, 5000.0):  # p75: rank 2.25, 1400 + 0.25 · 3600 = 2300
        post(client, page_view(lcp))
    for _ in range(5):
        post(client, page_view(900.0, url="https://shop.example.com/"))
    post(client, page_view(6000.0, inp=900.0), ua=SAFARI_IPHONE)
    fold.roll_up()
    return site


@pytest.fixture
def rum_staff(staff_client, staff_user):
    staff_user.user_permissions.add(Permission.objects.get(codename="view_rum"))
    return staff_client


def dashboard(slug):
    return reverse("admin:dashboard", args=[slug])


def test_staff_without_the_permission_is_refused(client, staff_user):
    client.force_login(staff_user)
    assert client.get(dashboard("web-vitals")).status_code == 403
    assert client.get("/api/rum/summary/").status_code == 403


def test_web_vitals_shows_p75_ratings_and_the_pages_table(rum_staff, data):
    response = rum_staff.get(dashboard("web-vitals"))
    assert response.status_code == 200
    tiles = {t["name"]: t for t in response.context["tiles"]}
    # LCP of the 10 page views, sorted: 900 x5, 1000, 1200, 1400, 5000, 6000; rank 6.75:
    # 1200 + 0.75 · 200 = 1350 (numpy's p75), shown to 10 ms.
    assert tiles["LCP"]["display"] == "1.35 s"
    assert tiles["LCP"]["css"] == "good"
    assert tiles["INP"]["count"] == 10
    # 9 of 10 page views pass: LCP 5000 on desktop and the mobile one fail.
    assert response.context["passing_share"] == 80.0
    body = response.content.decode()
    assert "/checkout/" in body and "web-vitals-page" in body


def test_the_pages_table_exports_as_csv(rum_staff, data):
    response = rum_staff.get(dashboard("web-vitals") + "?export=pages")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_page = {r["Page"]: r for r in rows}
    assert by_page["/"]["Page views"] == "5"
    assert by_page["/checkout/"]["Page views"] == "5"
    assert float(by_page["/checkout/"]["Passing CWV"]) == 60.0


def test_the_device_filter_splits_the_numbers(rum_staff, data):
    response = rum_staff.get(dashboard("web-vitals") + "?device=mobile")
    tiles = {t["name"]: t for t in response.context["tiles"]}
    assert tiles["INP"]["count"] == 1
    assert tiles["INP"]["rating"] == "poor"


def test_the_page_drill_down_has_histograms_targets_and_the_ttfb_split(rum_staff, data):
    response = rum_staff.get(dashboard("web-vitals-page") + f"?site={data.id}&page=/checkout/")
    assert response.status_code == 200
    assert len(response.context["distributions"]) == 5
    split = response.context["split"]
    assert split["server"] == pytest.approx(120.0, rel=sketch.RELATIVE_ERROR)
    assert split["network"] == pytest.approx(280.0, rel=sketch.RELATIVE_ERROR)
    lcp_targets, inp_targets = (t.rows for t in response.context_data["tables"])
    assert [(t["target"], t["count"]) for t in lcp_targets] == [("main>img.hero", 5)]
    assert inp_targets[0]["target"] == "button#buy"


def test_a_page_this_site_serves_links_to_its_server_route(rum_staff, db):
    Site.objects.create(name="Self", public_key="self-key", allowed_origins="http://testserver")
    from django.test import Client

    browser = Client()
    body = beacon([vital("TTFB", 300.0)], key="self-key", url="http://testserver/rum/demo/")
    post(browser, body, origin="http://testserver")
    fold.roll_up()
    site = Site.objects.get(name="Self")
    response = rum_staff.get(dashboard("web-vitals-page") + f"?site={site.id}&page=/rum/demo/")
    expected = dashboard("performance-route") + "?route=" + quote("/rum/demo/", safe="")
    assert response.context["route_link"] == expected
    assert expected.replace("&", "&amp;") in response.content.decode()


def test_js_errors_are_grouped_with_counts_and_pages(rum_staff, client, site):
    def error(n, page):
        return beacon([{"id": f"e{n}", "type": "error", "message": "cart is undefined",
                        "source": "https://shop.example.com/app.js", "line": 7}],
                      url=f"https://shop.example.com{page}")  # fmt: skip

    for n, page in enumerate(["/a", "/b", "/a"]):
        post(client, error(n, page))
    response = rum_staff.get(dashboard("js-errors"))
    [group] = response.context_data["tables"][0].rows
    assert (group["count"], group["pages"], group["sessions"]) == (3, 2, 3)
    assert group["source"] == "https://shop.example.com/app.js:7"


def test_the_overview_card_shows_the_passing_share_and_the_worst_page(rum_staff, data):
    card = overview_card(None, parse_time_range({}))
    metrics = dict(card.metrics)
    assert metrics["Passing Core Web Vitals"] == "80%"
    assert metrics["Page views"] == "10"
    assert metrics["Worst page"] == "/checkout/ (60%)"
    assert card.status == "good"


def test_the_overview_card_says_no_data_without_page_views(db):
    assert overview_card(None, parse_time_range({})) is None


def test_the_staff_api_summarises_core_web_vitals(rum_staff, data):
    body = rum_staff.get("/api/rum/summary/?days=1").json()
    assert body["page_views"] == 10
    assert body["passing_share"] == 80.0
    lcp = next(v for v in body["vitals"] if v["name"] == "LCP")
    assert (lcp["count"], lcp["good"], lcp["poor"]) == (10, 8, 2)


def test_the_staff_api_overview_and_pages(rum_staff, data):
    overview = rum_staff.get("/api/rum/overview/?days=7").json()
    assert {d["device"] for d in overview["devices"]} == {"desktop", "mobile"}
    assert overview["worst_page"]["page"] == "/checkout/"
    pages = rum_staff.get("/api/rum/pages/").json()
    assert [(p["page"], p["page_views"]) for p in pages] == [("/", 5), ("/checkout/", 5)]


@pytest.mark.parametrize("query", ["days=0", "days=31", "days=x", "device=phone"])
def test_the_staff_api_refuses_bad_parameters(rum_staff, query):
    response = rum_staff.get(f"/api/rum/summary/?{query}")
    assert response.status_code == 400
    assert response.json()


def test_the_openapi_schema_describes_the_beacon_endpoint(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/rum/beacon/" in schema and "text/plain" in schema
    assert "/api/rum/summary/" in schema
