"""A real Chromium loads the demo page, interacts, leaves: every vital reaches the database."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rum import ingest
from rum.models import Event, Site
from rum.views import DEMO_SITE_NAME
from tests.support import wait_until

SCRIPT = Path(__file__).resolve().parents[2] / "static" / "rum" / "rum.js"


@pytest.fixture
def rum_site(live_server, transactional_db, settings):
    assert SCRIPT.exists(), "the RUM script is not built: run `make assets`"
    settings.RUM_DEMO_PAGE = True
    return Site.objects.create(name=DEMO_SITE_NAME, allowed_origins=live_server.url)


def stored(site):
    ingest.drain()  # with Redis, the beacons wait in the queue for a drain
    return list(Event.objects.filter(site=site))


def test_the_script_reports_all_five_vitals_the_page_view_and_an_error(page, live_server, rum_site):
    page.goto(f"{live_server.url}/rum/demo/products/7/")
    page.wait_for_timeout(300)  # FCP, TTFB
    page.evaluate("showBanner()")  # a late layout shift, with no input before it
    page.wait_for_timeout(200)
    page.evaluate("setTimeout(() => { throw new Error('Checkout exploded') }, 0)")
    page.click("#heavy")  # a trusted click whose handler blocks ~300 ms: INP, and final LCP
    page.wait_for_timeout(1500)  # web-vitals reports INP when idle, within 1 s
    page.goto(f"{live_server.url}/admin/login/")  # hides the page: pagehide + visibilitychange

    def complete():
        events = stored(rum_site)
        names = {e.name for e in events if e.kind == Event.VITAL}
        kinds = {e.kind for e in events}
        return (
            events if names >= {"LCP", "INP", "CLS", "FCP", "TTFB"} and "error" in kinds else None
        )

    try:
        events = wait_until(complete, timeout=20)
    except AssertionError:
        found = sorted(f"{e.kind} {e.name}" for e in stored(rum_site))
        raise AssertionError(f"not every vital arrived; stored: {found}") from None
    vitals = {e.name: e for e in events if e.kind == Event.VITAL}
    assert 250 <= vitals["INP"].value < 5000, vitals["INP"].value
    assert vitals["INP"].target.startswith("#heavy") or "heavy" in vitals["INP"].target
    assert vitals["CLS"].value > 0
    assert 0 < vitals["FCP"].value <= vitals["LCP"].value < 10_000
    assert 0 < vitals["TTFB"].value < 5000
    assert vitals["TTFB"].server_ms is not None  # from the page's Server-Timing
    assert "hero" in vitals["LCP"].target

    [view] = [e for e in events if e.kind == Event.PAGEVIEW]
    assert view.detail["title"].startswith("Product 7")
    [error] = [e for e in events if e.kind == Event.ERROR]
    assert "Checkout exploded" in error.message

    assert {e.site_id for e in events} == {rum_site.id}
    assert len({e.session_id for e in events}) == 1
    assert {e.page for e in events} == {"/rum/demo/products/:id/"}
    assert {e.route for e in events} == {"/rum/demo/products/<int:product_id>/"}
    assert {e.device for e in events} == {"desktop"}


def test_nothing_is_sent_with_global_privacy_control(page, live_server, rum_site):
    page.add_init_script(
        "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})"
    )
    sent = []
    page.on("console", lambda m: sent.append(m.text) if "/api/rum/" in m.location["url"] else 0)
    page.context.on("request", lambda r: sent.append(r.url) if "/api/rum/" in r.url else 0)
    page.goto(f"{live_server.url}/rum/demo/")
    page.wait_for_timeout(300)
    page.click("#heavy")
    page.wait_for_timeout(300)
    page.evaluate("dispatchEvent(new Event('pagehide'))")  # when the script would send
    page.wait_for_timeout(1000)
    assert page.evaluate("typeof window.rum.track") == "function"  # the script did load
    assert sent == []
    assert stored(rum_site) == []


def test_a_site_requiring_consent_gets_events_only_after_rum_consent(page, live_server, rum_site):
    rum_site.consent_required = True
    rum_site.save()
    url = f"{live_server.url}/rum/demo/"
    page.goto(url)
    page.wait_for_timeout(300)
    page.goto(f"{live_server.url}/admin/login/")
    page.wait_for_timeout(500)
    assert stored(rum_site) == []

    page.goto(url)
    page.wait_for_timeout(300)
    page.click("#consent")
    page.goto(f"{live_server.url}/admin/login/")
    wait_until(lambda: any(e.kind == Event.PAGEVIEW for e in stored(rum_site)), timeout=15)


@pytest.fixture
def shop(live_server, rum_site):
    """A page of another site, on its own origin, that loads the script from perfmon."""
    html = (
        "<!doctype html><html><head><title>Shop</title>"
        f'<script src="{live_server.url}/static/rum/rum.js" '
        f'data-site-key="{rum_site.public_key}" defer></script>'
        "</head><body><h1>A shop on another origin</h1><p>Some text to paint.</p></body></html>"
    ).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_another_origin_sends_through_fetch_and_a_cors_preflight(page, live_server, rum_site, shop):
    """With sendBeacon unavailable the script falls back to fetch with a JSON body: the
    browser asks the endpoint first (OPTIONS), and only an allowed origin gets through."""
    rum_site.allowed_origins = shop
    rum_site.save()
    page.add_init_script("navigator.sendBeacon = () => false")
    page.goto(f"{shop}/checkout/")
    page.wait_for_timeout(500)
    page.goto(f"{live_server.url}/admin/login/")
    events = wait_until(lambda: stored(rum_site), timeout=15, message="nothing arrived")
    assert {e.page for e in events} == {"/checkout/"}
    assert {e.host for e in events} == {"127.0.0.1"}
    assert "pageview" in {e.kind for e in events}


def test_an_origin_not_allowed_is_refused_and_nothing_is_stored(page, live_server, rum_site, shop):
    answers = []
    page.on("console", lambda m: answers.append(m.text) if "/api/rum/" in m.location["url"] else 0)
    page.goto(f"{shop}/")
    page.wait_for_timeout(500)
    page.evaluate("dispatchEvent(new Event('pagehide'))")  # the script sends on page hide
    # A beacon's answer is not a page response; the browser reports the refusal in its console.
    for _ in range(50):  # Playwright delivers events only while it runs: wait through it
        if answers:
            break
        page.wait_for_timeout(200)
    assert answers, "the script sent nothing"
    assert "status of 403" in answers[0]
    assert stored(rum_site) == []


def test_a_single_page_app_route_change_is_a_page_view_of_its_own(page, live_server, rum_site):
    page.goto(f"{live_server.url}/rum/demo/")
    page.wait_for_timeout(500)
    page.click("#spa-cart")  # pushState and new content after a click: a soft navigation
    page.wait_for_timeout(1500)
    page.goto(f"{live_server.url}/admin/login/")

    def both_views():
        views = [e for e in stored(rum_site) if e.kind == Event.PAGEVIEW]
        return views if len(views) == 2 else None

    views = wait_until(both_views, timeout=15, message="the soft navigation was not reported")
    by_page = {v.page: v for v in views}
    assert set(by_page) == {"/rum/demo/", "/rum/demo/cart/"}
    assert by_page["/rum/demo/cart/"].navigation_type == "soft-navigation"
    soft = Event.objects.filter(page_view_id=by_page["/rum/demo/cart/"].page_view_id)
    assert {e.navigation_type for e in soft} == {"soft-navigation"}
    assert "TTFB" not in {e.name for e in soft}  # no request behind a soft navigation
    hard = Event.objects.filter(page_view_id=by_page["/rum/demo/"].page_view_id, kind="vital")
    assert {e.page for e in hard} == {"/rum/demo/"}
