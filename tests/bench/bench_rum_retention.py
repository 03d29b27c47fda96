"""rum_retention_s: the RUM purge dropping one day of 2,000,000 raw events (PostgreSQL).

One past day's partition is filled with 2,000,000 events (INSERT ... SELECT
generate_series), today's with 100,000; the purge (rum.retention) then runs with
that day past the site's retention. Its time is compared with the floor measured
in the same run: DROP TABLE of an unpartitioned table holding the same rows with
the same indexes. After the purge the day must be gone and today's rows all there.

Needs DATABASE_URL to be PostgreSQL (a database named <name>_bench is created).
"""

from __future__ import annotations

import json

from tests.bench.monitoring_support import (
    bench_database_url,
    describe,
    environment,
    migrate,
    run_python,
    temporary_var_dir,
)
from tests.bench.report import bench

DAY_EVENTS = 2_000_000
TODAY_EVENTS = 100_000
AGE_DAYS = 400


def main() -> None:
    if bench_database_url() is None:
        print("  rum_retention skipped: partitions need PostgreSQL (set DATABASE_URL)")
        return
    with temporary_var_dir() as var_dir:
        env = environment(var_dir, REDIS_URL=None, MONITORING_ENABLED="false")
        migrate(env)
        code = "from tests.bench.bench_rum_retention import measure; measure()"
        result = json.loads(run_python(code, env, timeout=1800).strip().splitlines()[-1])
    print(
        f"  {describe(env)}: {DAY_EVENTS:,} events of one day: the purge dropped them in "
        f"{result['purge']:.3f} s; DROP TABLE of the same rows unpartitioned "
        f"{result['floor']:.3f} s; a count(*) of the day took {result['count']:.3f} s "
        f"(filling it took {result['fill']:.0f} s)"
    )
    bench("rum_retention_s", result["purge"], "s", "<=", 2)
    bench("rum_retention_vs_floor", result["purge"] / result["floor"], "x", "<=", 10)


def _fill(cursor, table: str, count: int, start: str) -> None:
    """`count` events spread over the day from `start`, one site, realistic widths."""
    cursor.execute(
        f"""INSERT INTO {table} (site_id, event_key, received_at, session_id, page_view_id,
            kind, host, page, route, name, value, delta, rating, navigation_type, target,
            device, browser, os, connection, server_ms, db_ms, message, fingerprint, detail)
        SELECT %s, 'k' || g, %s::timestamptz + (g * 86399.0 / %s) * interval '1 second',
            'session-' || (g / 20), 'view-' || (g / 6), 'vital', 'shop.example.com',
            '/orders/:id', '/orders/<id>', 'LCP', 1000 + g %% 3000, 10, 'good', 'navigate',
            'main>img.hero', 'desktop', 'Chrome', 'Windows', '4g', 120, 30, '', '', '{{}}'
        FROM generate_series(1, %s) g""",  # noqa: S608 (fixed names)
        [_site_id(), start, count, count],
    )


def _site_id() -> int:
    from rum.models import Site

    return Site.objects.get(name="Bench").id


def measure() -> None:
    """In the benchmark's interpreter: fill, time the purge and the floor, print JSON."""
    import time
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from rum import partitions, retention
    from rum.models import Event, Site

    Event.objects.all().delete()
    Site.objects.all().delete()
    Site.objects.create(name="Bench", public_key="bench-retention", retention_days=30)
    now = timezone.now()
    day = (now - timedelta(days=AGE_DAYS)).date()
    partitions.ensure()
    partitions.create(day)
    with connection.cursor() as cursor:
        started = time.perf_counter()
        _fill(cursor, "rum_event", DAY_EVENTS, partitions.start(day).isoformat())
        fill = time.perf_counter() - started
        _fill(cursor, "rum_event", TODAY_EVENTS, partitions.start(now.date()).isoformat())
        cursor.execute("DROP TABLE IF EXISTS rum_bench_floor")
        cursor.execute("CREATE TABLE rum_bench_floor (LIKE rum_event INCLUDING ALL)")
        cursor.execute(f"INSERT INTO rum_bench_floor SELECT * FROM {partitions.name(day)}")  # noqa: S608
        cursor.execute("CHECKPOINT")
        cursor.execute("ANALYZE rum_event")

        started = time.perf_counter()
        cursor.execute(
            "SELECT count(*) FROM rum_event WHERE received_at >= %s AND received_at < %s",
            [partitions.start(day), partitions.start(day + timedelta(days=1))],
        )
        assert cursor.fetchone()[0] == DAY_EVENTS
        count = time.perf_counter() - started

        started = time.perf_counter()
        cursor.execute("DROP TABLE rum_bench_floor")
        floor = time.perf_counter() - started

    started = time.perf_counter()
    removed = retention.purge(now)
    purge = time.perf_counter() - started

    assert removed["event partitions dropped"] == 1, removed
    assert day not in partitions.days()
    assert Event.objects.count() == TODAY_EVENTS
    print(json.dumps({"purge": purge, "floor": floor, "count": count, "fill": fill}))
