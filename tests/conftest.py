"""Shared fixtures: real PostgreSQL and Redis when configured, clean state per test.

With CI=true a skipped test fails the run: CI must prove everything.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pytest
from django.conf import settings


def pytest_configure(config):
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url and urlparse(redis_url).path in ("", "/", "/0"):
        raise pytest.UsageError(
            "The tests flush the Redis database in REDIS_URL before each test; "
            "give them one of their own, e.g. redis://127.0.0.1:6379/15"
        )


def pytest_collection_modifyitems(config, items):
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL"))


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("CI", "").lower() != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI=true: {len(skipped)} skipped test(s) count as failures.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _clean_shared_state():
    """Each test starts with an empty cache (and an empty Redis database)."""
    from django.core.cache import cache

    from config.redis_client import breaker

    breaker.close()  # a test that made Redis unreachable leaves it usable for the next
    if settings.REDIS_URL:
        from config.redis_client import get_redis

        get_redis().flushdb()
    cache.clear()
    yield
    breaker.close()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("staff", password="pw", is_staff=True)


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user("visitor", password="pw")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
