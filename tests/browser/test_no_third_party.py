"""Every dashboard page and the admin index, with the demo data, in a real Chromium: no
request leaves this machine, the Content-Security-Policy is never violated, the charts
draw, and none offers to send its data to Plotly's cloud.

One test for all the pages, since loading the demo data is the costly part.
"""

import io
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from config import dashboards
from config.demo import DEMO_PASSWORD, DEMO_USERNAME

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""
CHARTS = """
() => Array.from(document.querySelectorAll(".plotly-graph-div")).map(
  (el) => el.classList.contains("js-plotly-plot") && Array.isArray(el.data) ? el.data.length : -1
)
"""


def dashboard_links(page) -> dict[str, str]:
    """slug -> the first link on the page to that dashboard page."""
    links = {}
    for href in page.eval_on_selector_all(
        "a[href*='/admin/dashboards/']", "a => a.map(x => x.href)"
    ):
        slug = urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1]
        links.setdefault(slug, href)
    return links


@pytest.mark.django_db(transaction=True)
def test_every_dashboard_page_stays_on_this_site_and_draws_its_charts(browser, live_server):
    call_command("load_demo_data", stdout=io.StringIO())
    context = browser.new_context()
    context.add_init_script(LISTEN)
    page = context.new_page()
    outside, console_errors = [], []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if urlsplit(r.url).scheme in ("http", "https", "ws", "wss")
            and urlsplit(r.url).hostname not in LOOPBACK
            else None
        ),
    )
    page.on(
        "console",
        lambda m: (
            console_errors.append((m.text, m.location.get("url"))) if m.type == "error" else None
        ),
    )
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    failed = []
    page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", DEMO_USERNAME)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.locator(".status-card").count() > 0
    assert page.evaluate("window.__violations") == []

    # The pages in the navigation first; the drill-downs through a link found on them.
    pages = dashboards.pages()
    links = {}
    visited = {}
    for entry in [p for p in pages if p.nav] + [p for p in pages if not p.nav]:
        url = (
            f"{live_server.url}/admin/dashboards/{entry.slug}/"
            if entry.nav
            else links.get(entry.slug)
        )
        assert url, f"no page links to {entry.slug}"
        response = page.goto(url)
        assert response.status == 200, (entry.slug, response.status)
        page.wait_for_load_state("networkidle")
        for slug, href in dashboard_links(page).items():
            links.setdefault(slug, href)
        drawn = page.evaluate(CHARTS)
        visited[entry.slug] = drawn
        assert all(n >= 0 for n in drawn), (entry.slug, drawn)  # every chart was drawn
        assert page.locator("[data-title^='Share chart']").count() == 0
        assert page.evaluate("window.__violations") == [], entry.slug

    # Charts with data on the pages that have charts.
    assert sum(1 for drawn in visited.values() if any(n > 0 for n in drawn)) >= 5, visited
    assert outside == []
    assert failed == []
    # Chromium asks for /favicon.ico on its own; the admin has none.
    assert [e for e in console_errors if not str(e[1]).endswith("/favicon.ico")] == []
    context.close()
