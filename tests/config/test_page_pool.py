"""Pages wait for a page thread; /healthz and beacons never wait behind them."""

from __future__ import annotations

import threading

import pytest
from django.test import Client

from config import dashboards, page_pool

# Committed data: the pools' threads have database connections of their own.
pytestmark = pytest.mark.django_db(transaction=True)

PAGE_URL = "/admin/dashboards/pool-test/"


@pytest.fixture
def blocking_page(settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    gate, running = threading.Event(), threading.Semaphore(0)

    @dashboards.page("pool-test", "Pool test", permission="core.view_overview")
    def view(request, ctx):
        running.release()
        gate.wait(timeout=120)
        return ctx.render("dashboards/generic.html", {})

    page_pool.enable(1)
    yield gate, running
    gate.set()
    page_pool.disable()
    dashboards.unregister("pool-test")


def test_health_checks_and_beacons_answer_while_every_page_thread_is_busy(
    blocking_page, admin_client
):
    gate, running = blocking_page
    statuses = []

    def open_page():
        client = Client()
        client.cookies = admin_client.cookies
        statuses.append(client.get(PAGE_URL).status_code)

    pages = [threading.Thread(target=open_page) for _ in range(3)]
    for thread in pages:
        thread.start()
    assert running.acquire(timeout=60)  # one page runs; the page thread is taken

    health = Client().get("/healthz")
    beacon = Client().post("/api/rum/beacon/", "{}", content_type="text/plain")

    assert health.status_code in (200, 503)  # answered (503: no beat in this test)
    assert health.json()["checks"]["database"]["ok"] is True
    assert beacon.status_code == 400  # answered: an empty beacon is refused with its errors
    assert statuses == []  # meanwhile no page has finished
    gate.set()
    for thread in pages:
        thread.join(timeout=60)
    assert statuses == [200, 200, 200]


def test_without_the_pools_every_request_runs_on_its_own_thread(admin_client, settings):
    assert not page_pool.enabled()
    assert admin_client.get("/admin/").status_code == 200
    assert Client().get("/healthz").status_code in (200, 503)


def test_light_requests_keep_no_database_connection_on_the_servers_threads(rf):
    """The server has dozens of threads: each keeping a connection would exhaust PostgreSQL."""
    from django.db import connection
    from django.http import HttpResponse

    def touch_database(request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return HttpResponse("ok")

    middleware = page_pool.PagePoolMiddleware(touch_database)
    left_open = []

    def light_request():
        middleware(rf.get("/healthz"))
        left_open.append(connection.connection is not None)
        connection.close()

    page_pool.enable(1)
    try:
        threads = [threading.Thread(target=light_request) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        page_pool.disable()
    assert left_open == [False] * 4
