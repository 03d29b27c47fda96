import io
from datetime import timedelta

import pytest
from django.utils import timezone

from rum import demo
from rum.models import Event, Rollup, Site

pytestmark = pytest.mark.django_db


def test_demo_data_covers_days_and_a_second_run_only_tops_up():
    demo.load(io.StringIO())
    events = Event.objects.count()
    assert events > 5000
    site = Site.objects.get(name=demo.DEMO_SITE_NAME)
    assert Rollup.objects.filter(site=site, metric="PV").count() > 3 * 24
    pages = set(Rollup.objects.values_list("page", flat=True))
    assert {"/checkout/", "/search/"} <= pages

    demo.load(io.StringIO())
    assert Event.objects.count() - events < 200  # only the current hour, if anything


def test_demo_data_has_a_slow_checkout_a_sluggish_search_and_slower_phones():
    from rum import queries
    from rum.vitals import VITALS

    demo.load(io.StringIO())
    rows = queries.rollup_rows(queries.Filters(timezone.now() - timedelta(days=7), timezone.now()))
    by_page = {p["page"]: p for p in queries.pages(rows)}
    assert VITALS["LCP"].rate(by_page["/checkout/"]["LCP"]) == "poor"
    assert VITALS["INP"].rate(by_page["/search/"]["INP"]) == "poor"
    mobile = queries.summarise_vital("LCP", [r for r in rows if r["device"] == "mobile"])
    desktop = queries.summarise_vital("LCP", [r for r in rows if r["device"] == "desktop"])
    assert mobile["p75"] > desktop["p75"]
    assert Event.objects.filter(kind="error").exists()


def test_the_demo_page_loads_the_script_with_the_sites_key(client, settings):
    settings.RUM_DEMO_PAGE = True
    demo.load(io.StringIO())
    response = client.get("/rum/demo/products/3/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'src="/static/rum/rum.js"' in body and 'data-site-key="demo-shop-key"' in body
    assert response["Server-Timing"].startswith("app;dur=")
    assert ", db;dur=" in response["Server-Timing"]


def test_the_demo_page_needs_a_site(client, db, settings):
    settings.RUM_DEMO_PAGE = True
    assert client.get("/rum/demo/").status_code == 404


def test_the_demo_page_is_not_served_unless_the_demo_turns_it_on(client, db):
    demo.load(io.StringIO())
    for path in ("/rum/demo/", "/rum/demo/products/3/", "/rum/demo/?key=demo-shop-key"):
        response = client.get(path)
        assert response.status_code == 404
        assert b"demo-shop-key" not in response.content


def test_the_demo_page_never_names_the_site_of_a_key_it_is_given(client, settings):
    settings.RUM_DEMO_PAGE = True
    demo.load(io.StringIO())
    Site.objects.create(name="Acme private shop", public_key="acme-key")
    for path in ("/rum/demo/?key=acme-key", "/rum/demo/products/1/?key=acme-key"):
        body = client.get(path).content.decode()
        assert "Acme private shop" not in body and "acme-key" not in body
        assert 'data-site-key="demo-shop-key"' in body
