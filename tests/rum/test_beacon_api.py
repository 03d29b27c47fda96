"""The beacon endpoint: every status code it answers, and what it stores."""

import json

import pytest
from django.test import override_settings

from rum.models import Event, Site
from tests.rum.conftest import ORIGIN, SAFARI_IPHONE, beacon, post, vital

pytestmark = pytest.mark.django_db


def test_it_accepts_a_text_plain_beacon_and_stores_every_event(client, site):
    response = post(client, beacon())
    assert response.status_code == 202
    assert response.json() == {"accepted": 6}
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert Event.objects.filter(site=site).count() == 6
    lcp = Event.objects.get(name="LCP")
    assert (lcp.value, lcp.rating, lcp.target) == (2100.0, "good", "main>img.hero")
    assert lcp.detail["attribution"]["url"] == "/hero.jpg"  # no query string kept


def test_it_accepts_an_application_json_beacon(client, site):
    response = post(client, beacon(), content_type="application/json")
    assert response.status_code == 202
    assert Event.objects.count() == 6


def test_it_answers_json_whatever_the_client_accepts(client, site):
    data = json.dumps(beacon())
    response = client.post(
        "/api/rum/beacon/", data=data, content_type="text/plain", HTTP_ORIGIN=ORIGIN,
        HTTP_ACCEPT="text/html",
    )  # fmt: skip
    assert response.status_code == 202
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"accepted": 6}


def test_it_stores_the_path_without_query_ids_or_raw_ip(client, site):
    post(client, beacon())
    pages = set(Event.objects.values_list("page", flat=True))
    assert pages == {"/orders/:id"}
    stored = json.dumps(list(Event.objects.values()), default=str)
    assert "SECRET" not in stored and "12345" not in stored and "127.0.0.1" not in stored


def test_an_lcp_resource_sent_as_a_number_is_stored_as_sent(client, site):
    body = beacon([vital("LCP", 2100.0, attribution={"url": 5, "target": "img"})])
    assert post(client, body).status_code == 202
    assert Event.objects.get(name="LCP").detail["attribution"] == {"url": 5, "target": "img"}


def test_it_parses_the_user_agent_into_browser_os_and_device_class(client, site):
    post(client, beacon(), ua=SAFARI_IPHONE)
    event = Event.objects.filter(kind="pageview").get()
    assert (event.device, event.os) == ("mobile", "iOS")
    assert event.browser.startswith("Mobile Safari")


def test_it_keeps_server_timing_on_the_page_view_and_ttfb(client, site):
    post(client, beacon())
    ttfb = Event.objects.get(name="TTFB")
    assert (ttfb.server_ms, ttfb.db_ms) == (120.0, 30.0)


def test_it_handles_a_navigation_without_server_timing(client, site):
    body = beacon()
    del body["server_timing"]
    assert post(client, body).status_code == 202
    assert Event.objects.get(name="TTFB").server_ms is None


def test_a_resent_beacon_is_stored_once(client, site):
    body = beacon()
    assert post(client, body).status_code == 202
    assert post(client, body).status_code == 202
    assert Event.objects.count() == 6


def test_paired_surrogates_such_as_emoji_are_fine(client, site):
    body = json.dumps(beacon([{"id": "p", "type": "pageview", "title": "Sale \U0001f389"}]))
    assert "\\ud83c" in body
    assert post(client, body).status_code == 202
    assert Event.objects.get().detail["title"] == "Sale \U0001f389"


def test_the_rating_is_the_servers_not_the_clients(client, site):
    post(client, beacon([vital("LCP", 5000.0, rating="good")]))
    assert Event.objects.get().rating == "poor"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "detail"),
        ("[1, 2]", "non_field_errors"),
        (beacon(events=[]), "events"),
        (beacon(events=[vital("FID", 10.0)]), "events"),
        (beacon(events=[vital("LCP", -1.0)]), "events"),
        (beacon(events=[vital("LCP", 1e12)]), "events"),
        # Implausible values: past each vital's maximum, a custom value past ±1e9.
        (beacon(events=[vital("CLS", 99.0)]), "events"),
        (beacon(events=[vital("CLS", 10.001)]), "events"),
        (beacon(events=[vital("LCP", 600_000.0)]), "events"),
        (beacon(events=[vital("INP", 120_001.0)]), "events"),
        (beacon(events=[vital("TTFB", 100.0, delta=-200_000.0)]), "events"),
        (beacon(events=[{"id": "c", "type": "custom", "name": "n", "value": 1e308}]), "events"),
        (beacon(events=[{"id": "c", "type": "custom", "name": "n", "value": -1e10}]), "events"),
        (beacon(server_timing=[{"name": "app", "duration": 600_000.0}]), "server_timing"),
        (json.dumps(beacon()).replace("2100.0", "NaN"), "events"),
        (json.dumps(beacon()).replace("2100.0", "Infinity"), "events"),
        (beacon(events=[{"id": "x", "type": "error"}]), "events"),
        (beacon(events=[{"id": "x", "type": ["vital"]}]), "events"),
        (beacon(events=[vital("LCP", 1.0, attribution={"size": 10**400})]), "events"),
        (beacon(events=[vital("CLS", 0.1)] * 201), "events"),
        (beacon(session="has spaces"), "session"),
        ({"key": "shop-key"}, "events"),
        (json.dumps(beacon([vital("LCP", 1.0, attribution={"target": "a\u0000b"})])), "detail"),
        (json.dumps(beacon()).replace("Order", "\\ud800"), "detail"),
        (b"\xff\xfe not utf-8", "detail"),
    ],
)
def test_it_answers_400_with_field_errors_and_stores_nothing(client, site, body, field):
    response = post(client, body)
    assert response.status_code == 400
    assert field in response.json()
    assert Event.objects.count() == 0


def test_values_up_to_each_documented_maximum_are_stored(client, site):
    events = [
        vital("CLS", 10.0),
        vital("LCP", 120_000.0),
        {"id": "c", "type": "custom", "name": "n", "value": -1e9},
    ]
    body = beacon(events, server_timing=[{"name": "app", "duration": 120_000.0}])
    assert post(client, body).status_code == 202
    stored = dict(Event.objects.values_list("name", "value"))
    assert stored == {"CLS": 10.0, "LCP": 120_000.0, "n": -1e9}


def test_it_answers_413_past_64_kb(client, site):
    body = beacon(events=[{"id": "x", "type": "error", "message": "m", "stack": "s" * 8000}] * 9)
    assert len(json.dumps(body)) > 64 * 1024
    response = post(client, body)
    assert response.status_code == 413
    assert Event.objects.count() == 0


def test_it_answers_403_for_an_unknown_key(client, site):
    response = post(client, beacon(key="nope"))
    assert response.status_code == 403
    assert "Unknown site key" in response.json()["detail"]


@pytest.mark.parametrize("origin", ["https://evil.example.com", ""])
def test_it_answers_403_for_an_origin_not_allowed(client, site, origin):
    response = post(client, beacon(), origin=origin)
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert Event.objects.count() == 0


def test_a_site_requiring_consent_refuses_beacons_without_it(client, site):
    site.consent_required = True
    site.save()
    assert post(client, beacon()).status_code == 403
    assert post(client, beacon(consent=True)).status_code == 202
    assert Event.objects.count() == 6


def test_the_sample_rate_keeps_whole_sessions(client, site):
    site.sample_rate = 0.5
    site.save()
    kept = 0
    for n in range(40):
        body = beacon([vital("FCP", 100.0, id=f"s{n}")], session=f"session{n}")
        answer = post(client, body).json()
        again = post(client, {**body, "events": [vital("TTFB", 5.0, id=f"t{n}")]}).json()
        assert answer["accepted"] == again["accepted"]  # a session is kept or dropped whole
        kept += answer["accepted"]
    assert 8 <= kept <= 32
    assert Event.objects.count() == 2 * kept


def test_bots_are_acknowledged_but_not_stored(client, site):
    response = post(client, beacon(), ua="Googlebot/2.1 (+http://www.google.com/bot.html)")
    assert response.json() == {"accepted": 0, "ignored": 6}
    assert Event.objects.count() == 0


@override_settings(RUM_THROTTLE_RATE="3/min")
def test_it_answers_429_past_the_per_address_throttle(client, site):
    codes = [post(client, beacon()).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    assert Event.objects.count() == 18


def test_a_cors_preflight_from_an_allowed_origin_is_answered(client, site):
    response = client.options(
        "/api/rum/beacon/",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert response["Access-Control-Allow-Headers"] == "Content-Type"


def test_a_cors_preflight_from_another_origin_is_refused(client, site):
    response = client.options("/api/rum/beacon/", HTTP_ORIGIN="https://evil.example.com")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response


def test_a_new_allowed_origin_takes_effect_at_once(client, site):
    assert post(client, beacon(), origin="https://m.example.com").status_code == 403
    site.allowed_origins += "\nhttps://m.example.com"
    site.save()
    assert post(client, beacon(), origin="https://m.example.com").status_code == 202


def test_errors_are_fingerprinted_by_message_and_top_frame(client, site):
    def error(n, line):
        stack = f"TypeError: x is undefined\n    at pay (https://shop.example.com/app.js?v={n}:{line}:5)"
        return {
            "id": f"err{n}",
            "type": "error",
            "message": f"x is undefined in cart {n}",
            "source": "https://shop.example.com/app.js?v=1",
            "line": line,
            "stack": stack,
        }

    post(client, beacon([error(1, 10), error(2, 10), error(3, 99)]))
    prints = list(Event.objects.order_by("event_key").values_list("fingerprint", flat=True))
    assert prints[0] == prints[1] != prints[2]
    assert "?v=" not in Event.objects.first().detail["stack"]


def test_a_page_served_by_this_site_gets_its_route_template(client, db):
    Site.objects.create(name="Self", public_key="self-key", allowed_origins="http://testserver")
    body = beacon(key="self-key", url="http://testserver/rum/demo/products/42/?x=1")
    assert post(client, body, origin="http://testserver").status_code == 202
    event = Event.objects.first()
    assert (event.page, event.route) == (
        "/rum/demo/products/:id/",
        "/rum/demo/products/<int:product_id>/",
    )


def test_pages_of_other_hosts_get_no_route(client, site):
    post(client, beacon(url=f"{ORIGIN}/rum/demo/products/42/"))
    assert set(Event.objects.values_list("route", flat=True)) == {""}
