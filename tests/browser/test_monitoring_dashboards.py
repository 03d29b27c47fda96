"""In Chromium: the Performance page draws its charts and leads to a route's page."""

import time

import pytest

from monitoring.recorder import REQUEST
from tests.monitoring.conftest import flush_and_fold

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def recorder():
    from monitoring.recorder import recorder

    recorder.reset()
    yield recorder
    recorder.reset()


def test_the_performance_page_draws_and_links_to_a_route(logged_in_page, live_server, recorder):
    for latency in (12, 25, 40, 800):
        at = time.time() - 120
        recorder.record(REQUEST, "/api/orders/<int:pk>/", "GET", "2xx", latency, False, at=at)
    flush_and_fold()
    page = logged_in_page
    page.goto(f"{live_server.url}/admin/dashboards/performance/")
    page.wait_for_selector(".js-plotly-plot .main-svg")
    assert page.locator(".js-plotly-plot").count() == 4
    page.click("text=/api/orders/<int:pk>/")
    page.wait_for_url("**/admin/dashboards/performance-route/**")
    assert "GET /api/orders/<int:pk>/" in page.locator("#content h1").inner_text()
    page.wait_for_selector(".js-plotly-plot .main-svg")
    assert page.locator(".status-card").count() >= 4
