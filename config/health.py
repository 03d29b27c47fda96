"""The checks behind /healthz: database, broker, cache and the beat heartbeat.

The broker and the cache are not required: without them beacons and request metrics
are written to the database, so the answer is 200 "degraded" naming them (a load
balancer must not take every web server out because Redis hangs). While the Redis
breaker is open they are reported failing without asking Redis, so /healthz answers
at once. Warnings (e.g. Redis keeping nothing on disk) do not fail it.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from django.utils import timezone

from config import page_cache, page_pool


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    ms: float = 0.0


# Checks whose failure degrades the service without stopping it.
OPTIONAL = {"broker", "cache"}


def _timed(name, fn) -> Check:
    started = time.perf_counter()
    try:
        ok, detail = fn()
    except Exception as exc:  # any failure is a finding, reported by name
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return Check(name, ok, detail, round((time.perf_counter() - started) * 1000, 1))


def _redis_skipped() -> str:
    """Why Redis is skipped now ("" when it is not): the breaker is open."""
    from config.redis_client import breaker, redis_skipped

    if redis_skipped():
        return f"skipped: Redis is not answering ({breaker.error}); probed again every few seconds"
    return ""


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, connection.vendor


def _broker():
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.REDIS_SOCKET_TIMEOUT)
        if conn.transport_cls == "filesystem":
            folder = conn.transport_options["data_folder_out"]
            probe = f"{folder}/.healthz-{uuid.uuid4().hex}"
            with open(probe, "w") as handle:
                handle.write("ok")
            os.remove(probe)
        return True, conn.transport_cls


def _cache():
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "ok", 10)
    value = cache.get(key)
    cache.delete(key)
    if value != "ok":
        return False, "a value written to the cache could not be read back"
    return True, type(caches["default"]).__name__


def _heartbeat():
    from config.models import Heartbeat
    from config.tasks import BEAT

    beat = Heartbeat.objects.filter(name=BEAT).first()
    if beat is None:
        return False, "no heartbeat yet: are the Celery worker and beat running?"
    age = (timezone.now() - beat.last_seen).total_seconds()
    limit = settings.HEARTBEAT_MAX_AGE_SECONDS
    if age > limit:
        return False, f"last heartbeat {age:.0f}s ago (limit {limit}s): is beat or the worker down?"
    return True, f"{age:.0f}s ago"


def _shared_checks() -> tuple[list[Check], list[str]]:
    """Under the web server: the checks at most every HEALTHZ_CACHE_SECONDS, on one thread.

    However many load balancers, probes and users poll, the database, broker and
    cache see one check per process and interval, from one connection each.
    """
    return page_cache.get_or_compute(
        "healthz",
        settings.HEALTHZ_CACHE_SECONDS,
        lambda: page_pool.run("health", _checks_and_warnings),
    )


def run_checks() -> list[Check]:
    database = _timed("database", _database)
    skipped = _redis_skipped()
    cache = Check("cache", False, skipped) if skipped else _timed("cache", _cache)
    # The cache, behind the breaker, finds a hung Redis within its short timeout; the
    # broker's own connection (the same Redis) would wait longer.
    skipped = _redis_skipped()
    if skipped and not cache.ok:
        cache.detail = skipped
    broker = Check("broker", False, skipped) if skipped else _timed("broker", _broker)
    checks = [database, broker, cache]
    if database.ok:
        checks.append(_timed("heartbeat", _heartbeat))
    else:
        checks.append(Check("heartbeat", False, "unknown: the database is unreachable"))
    return checks


def warnings() -> list[str]:
    from config.redis_client import DURABILITY_HINT, persistence, redis_available

    if not redis_available():
        return []
    try:
        durable, detail = persistence()
    except Exception:  # unreachable: the cache and broker checks say so
        return []
    return [] if durable else [f"{detail} {DURABILITY_HINT}"]


def _checks_and_warnings() -> tuple[list[Check], list[str]]:
    return run_checks(), warnings()


def report() -> tuple[bool, dict]:
    """(serving, body): serving is False only when a required check fails."""
    checks, notes = _shared_checks() if page_pool.enabled() else _checks_and_warnings()
    failing = [c.name for c in checks if not c.ok]
    serving = not set(failing) - OPTIONAL
    body = {
        "status": "unhealthy" if not serving else "degraded" if failing else "ok",
        "failing": failing,
        "checks": {c.name: {k: v for k, v in asdict(c).items() if k != "name"} for c in checks},
        "warnings": notes,
    }
    return serving, body
