"""Dashboards are cheap to repeat: a page's figures are computed once per few seconds per range,
filters and permission set; the frame around them stays each user's own."""

from __future__ import annotations

import re
import threading

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from config import dashboards, page_cache, page_pool
from config.tables import Column, Table
from tests.support import wait_until

pytestmark = pytest.mark.django_db

PAGE_URL = "/admin/dashboards/cache-test/"


@pytest.fixture
def counting_page(settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    page_cache.clear()
    calls = []

    @dashboards.page("cache-test", "Cache test", permission="core.view_overview")
    def view(request, ctx):
        calls.append(request.user.username)
        users = get_user_model().objects.count()  # the page's figure, read from the database
        table = Table(
            "users", "Users", [Column("users", "Users", numeric=True)], rows=[{"users": users}]
        )
        return ctx.render("dashboards/generic.html", {}, tables=[table])

    yield calls
    dashboards.unregister("cache-test")
    page_cache.clear()


def users_shown(response) -> int:
    assert response.status_code == 200
    return int(float(re.search(r'<td data-sort-value="([\d.]+)"', response.text).group(1)))


def test_a_page_is_computed_once_per_interval_and_shared_by_users_who_may_see_the_same(
    counting_page, admin_client, django_user_model, client
):
    first = admin_client.get(PAGE_URL)
    before = get_user_model().objects.count()
    assert users_shown(first) == before
    other = django_user_model.objects.create_superuser("second-admin", "b@example.com", "x")
    client.force_login(other)
    again = client.get(PAGE_URL)
    # Still the figure computed a moment ago (a user was added since), with this user's frame.
    assert users_shown(again) == before
    assert counting_page == ["admin"]
    assert "second-admin" in again.text
    # Another range is another computation, with today's figure.
    assert users_shown(admin_client.get(PAGE_URL + "?range=24h")) == before + 1
    assert len(counting_page) == 2
    # Once the interval is over (here: forgotten), the page is computed anew.
    page_cache.clear()
    assert users_shown(admin_client.get(PAGE_URL)) == before + 1


def test_users_with_other_permissions_do_not_share_a_page(
    counting_page, admin_client, staff_user, client
):
    staff_user.user_permissions.add(Permission.objects.get(codename="view_overview"))
    admin_client.get(PAGE_URL)
    client.force_login(staff_user)
    assert client.get(PAGE_URL).status_code == 200
    assert counting_page == ["admin", staff_user.username]


def test_exports_errors_and_a_zero_interval_are_never_reused(counting_page, admin_client, settings):
    admin_client.get(PAGE_URL)
    assert admin_client.get(PAGE_URL + "?export=users").status_code == 200
    assert admin_client.get(PAGE_URL + "?range=nonsense").status_code == 400
    assert len(counting_page) == 2  # the export computed, the bad range never reached the page
    settings.DASHBOARD_CACHE_SECONDS = 0
    admin_client.get(PAGE_URL)
    admin_client.get(PAGE_URL)
    assert len(counting_page) == 4


def test_while_a_page_is_refreshed_the_others_get_the_previous_figures_at_once():
    page_cache.clear()
    key = ("test", "refresh")
    assert page_cache.get_or_compute(key, 5, lambda: "first") == "first"
    expires, value = page_cache._values[key]
    page_cache._values[key] = (expires - 5.5, value)  # half a second past its interval
    lock = page_cache._locks[key]
    with lock:  # another request is computing it anew
        assert page_cache.get_or_compute(key, 5, lambda: "not computed") == "first"
    assert page_cache.get_or_compute(key, 5, lambda: "second") == "second"
    page_cache._values[key] = (expires - 11, "second")  # over two intervals old: never served
    assert page_cache.get_or_compute(key, 5, lambda: "third") == "third"
    page_cache.clear()


def test_under_the_web_server_a_refresh_runs_in_the_background():
    page_cache.clear()
    key = ("test", "background")
    page_cache.get_or_compute(key, 5, lambda: "first")
    expires, value = page_cache._values[key]
    page_cache._values[key] = (expires - 5.5, value)
    gate, refreshed = threading.Event(), []

    def slow_refresh():
        gate.wait(timeout=60)
        refreshed.append(True)
        return "second"

    page_pool.enable(1)
    try:
        # The request that finds it stale gets the previous figures too, without waiting.
        assert page_cache.get_or_compute(key, 5, slow_refresh) == "first"
        assert page_cache.get_or_compute(key, 5, lambda: "not computed") == "first"
        gate.set()
        wait_until(lambda: page_cache._values[key][1] == "second", timeout=60)
        assert refreshed == [True]
        assert page_cache.get_or_compute(key, 5, lambda: "not computed") == "second"
    finally:
        page_pool.disable()
        page_cache.clear()
