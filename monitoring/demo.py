"""Demo data: three days of traffic on a dozen routes, SQL, tasks and two hosts.

Written through the same code as real data (rollup upserts), relative to now.
A second run only fills the minutes since the last one, so it takes a moment;
a running demo does that every minute (`tick`), so the data stays live. Each
hour has three short incidents, so the demo's alert rules fire and resolve
while someone watches (see INCIDENTS).
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.db import transaction

from lib.sketch import INV_LOG_GAMMA
from monitoring import fold, live_database, storage
from monitoring.models import MINUTE, QueryFingerprint, Rollup, SystemSample
from monitoring.series import QUERY, REQUEST, TASK, TIMER, Series
from monitoring.sql import fingerprint

DAYS = 3
HOSTS = ("web-1", "worker-1")


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    per_minute: float  # at the daily peak
    median_ms: float
    spread: float  # lognormal sigma
    error_share: float = 0.0
    # Answered 4xx (the first of each minute's successful requests: no random draw).
    client_error_share: float = 0.0
    queries: int = 2
    db_share: float = 0.3
    n_plus_one: bool = False


ROUTES = [
    Route("/api/orders/", "GET", 30, 90, 0.5, queries=23, db_share=0.6, n_plus_one=True),
    Route("/api/orders/<int:pk>/", "GET", 45, 35, 0.45, queries=3),
    Route("/api/orders/", "POST", 6, 120, 0.5, error_share=0.0005, queries=6),
    Route("/api/payments/<uuid:id>/capture/", "POST", 4, 260, 0.6, error_share=0.0002, queries=5),
    Route("/api/products/", "GET", 25, 40, 0.4, queries=2),
    Route("/api/products/<slug:slug>/", "GET", 30, 25, 0.35, queries=2),
    Route("/api/search/", "GET", 12, 180, 0.7, queries=4, db_share=0.5),
    Route("/api/reports/export/", "GET", 0.6, 2400, 0.5, queries=40, db_share=0.8),
    Route("/api/users/me/", "GET", 20, 15, 0.3, queries=1, client_error_share=0.06),
    Route("/api/cart/", "PUT", 8, 55, 0.4, error_share=0.0005, queries=4),
    Route("/healthz", "GET", 4, 4, 0.3, queries=1),
    Route("<unmatched>", "GET", 1.5, 3, 0.4),
]
# Minutes of every hour (first, last) during which something goes wrong.
PAYMENTS = "/api/payments/<uuid:id>/capture/"
ERROR_BURST = (10, 17)  # payment captures fail 30 % of the time, and clients retry them
SLOW_ORDERS = (35, 41)  # the order detail answers 40 times slower
BUSY_WORKER = (50, 57)  # worker-1's CPU runs near 88 %
INCIDENT_ERROR_SHARE, INCIDENT_RETRIES, INCIDENT_SLOWDOWN, INCIDENT_CPU = 0.3, 3, 40.0, 88.0

# (SQL as the ORM sends it, calls per minute, median ms)
STATEMENTS = [
    (
        'SELECT "shop_order"."id", "shop_order"."total" FROM "shop_order" '
        'WHERE "shop_order"."customer_id" = %s',
        40,
        1.2,
    ),
    (
        'SELECT "shop_customer"."id", "shop_customer"."name" FROM "shop_customer" '
        'WHERE "shop_customer"."id" = %s LIMIT 21',
        600,
        0.4,
    ),
    (
        'SELECT "shop_product"."id", "shop_product"."slug" FROM "shop_product" '
        'WHERE "shop_product"."slug" = %s',
        60,
        0.6,
    ),
    ('SELECT COUNT(*) AS "__count" FROM "shop_order" WHERE "shop_order"."created" >= %s', 3, 85.0),
    (
        'SELECT "shop_product"."id" FROM "shop_product" WHERE "shop_product"."name" ILIKE %s '
        'ORDER BY "shop_product"."rank" DESC LIMIT 50',
        12,
        48.0,
    ),
    (
        'INSERT INTO "shop_order" ("customer_id", "total", "created") VALUES (%s, %s, %s) '
        'RETURNING "shop_order"."id"',
        6,
        2.5,
    ),
    ('UPDATE "shop_cart" SET "items" = %s, "updated" = %s WHERE "shop_cart"."id" = %s', 8, 1.8),
]
TASKS = [("reports.send_daily", 0.02, 4200, 0.01), ("billing.capture_payments", 0.5, 650, 0.03)]
TIMERS = [("score.job_security", 2, 35), ("pricing.recalculate", 0.3, 420)]


def _during(window: tuple[int, int], minutes: np.ndarray) -> np.ndarray:
    minute_of_hour = (minutes // 60) % 60
    return (minute_of_hour >= window[0]) & (minute_of_hour <= window[1])


def tick(stdout) -> None:
    load(stdout)


def load(stdout) -> None:
    now_minute = int(time.time() // 60) * 60
    last = (
        Rollup.objects.filter(resolution=MINUTE, kind=REQUEST, name=ROUTES[1].path)
        .order_by("-time")
        .first()
    )
    start = now_minute - DAYS * 86400
    if last is not None:
        start = max(start, int(last.time.timestamp()) + 60)
    end = now_minute  # up to the last closed minute; the open one is still filling
    if start >= end:
        stdout.write("  monitoring: up to date")
        return
    minutes = np.arange(start, end, 60)
    rng = np.random.default_rng(start // 60)
    rows: dict[tuple, Series] = {}
    for minute, series in _minutes(minutes, rng).items():
        for row_key, value in fold.expand(minute, series).items():
            fold._add(rows, row_key, value)
    with transaction.atomic():
        fold.upsert_rollups(rows)
        _fingerprints(start)
        _samples(minutes, rng)
        _system(minutes, rng)
    stdout.write(f"  monitoring: {len(minutes)} minutes of traffic, SQL, tasks and system samples")


def _diurnal(minutes: np.ndarray) -> np.ndarray:
    """Quiet at night, busy in the afternoon (UTC)."""
    hours = (minutes % 86400) / 3600.0
    return 0.25 + 0.75 * (0.5 - 0.5 * np.cos((hours - 3) / 24 * 2 * math.pi))


def _histogram(latencies: np.ndarray) -> dict[int, int]:
    indexes, counts = np.unique(
        np.ceil(np.log(latencies) * INV_LOG_GAMMA).astype(int), return_counts=True
    )
    return dict(zip(indexes.tolist(), counts.tolist(), strict=True))


def _series(
    latencies: np.ndarray, errors: int = 0, db_share: float = 0.0, queries: int = 0
) -> Series:
    value = Series()
    value.count = len(latencies)
    value.errors = errors
    value.sum_ms = float(latencies.sum())
    value.max_ms = float(latencies.max())
    value.buckets = _histogram(latencies)
    if db_share:
        db = latencies * db_share
        value.db_ms, value.db_max_ms = float(db.sum()), float(db.max())
        value.db_buckets = _histogram(db)
        value.queries = queries * len(latencies)
    return value


def _minutes(minutes: np.ndarray, rng) -> dict[int, dict[tuple, Series]]:
    load_factor = _diurnal(minutes)
    out: dict[int, dict[tuple, Series]] = {int(m): {} for m in minutes}
    for route in ROUTES:
        rate = route.per_minute * load_factor
        error_share = np.full(len(minutes), route.error_share)
        slowdown = np.ones(len(minutes))
        if route.path == PAYMENTS:
            burst = _during(ERROR_BURST, minutes)
            error_share[burst] = INCIDENT_ERROR_SHARE
            rate = np.where(burst, rate * INCIDENT_RETRIES, rate)
        counts = rng.poisson(rate)
        if route.path == "/api/orders/<int:pk>/":
            slowdown[_during(SLOW_ORDERS, minutes)] = INCIDENT_SLOWDOWN
        for i, (minute, n) in enumerate(zip(minutes.tolist(), counts.tolist(), strict=True)):
            if not n:
                continue
            slow_hour = (minute // 3600) % 24 == 14  # a daily batch slows everything a bit
            median = route.median_ms * (1.6 if slow_hour else 1) * slowdown[i]
            latencies = rng.lognormal(math.log(median), route.spread, n)
            errors = rng.binomial(n, error_share[i]) if error_share[i] else 0
            refused = round((n - errors) * route.client_error_share)  # expired sessions: 401
            if refused:
                out[minute][(REQUEST, route.path, route.method, "4xx")] = _series(
                    latencies[errors : errors + refused], 0, route.db_share, route.queries
                )
            ok = (
                _series(latencies[errors + refused :], 0, route.db_share, route.queries)
                if n > errors + refused
                else None
            )
            if ok:
                ok.n_plus_one = n - errors - refused if route.n_plus_one else 0
                status = "4xx" if route.path == "<unmatched>" else "2xx"
                out[minute][(REQUEST, route.path, route.method, status)] = ok
            if errors:
                out[minute][(REQUEST, route.path, route.method, "5xx")] = _series(
                    latencies[:errors], errors, route.db_share, route.queries
                )
    _background(out, minutes, rng)
    return out


def _background(out, minutes, rng) -> None:
    """Statements, tasks and timers, every fifth minute (five minutes' worth)."""
    for minute in minutes[(minutes // 60) % 5 == 0].tolist():
        for sql, per_minute, median in STATEMENTS:
            n = int(rng.poisson(per_minute * 5)) + 1
            out[minute][(QUERY, fingerprint(sql)[0], "", "")] = _series(
                rng.lognormal(math.log(median), 0.6, n)
            )
        for name, per_minute, median, failure in TASKS:
            n = int(rng.poisson(per_minute * 5))
            if n:
                value = _series(rng.lognormal(math.log(median), 0.4, n))
                value.errors = int(rng.binomial(n, failure))
                out[minute][(TASK, name, "", "")] = value
        for name, per_minute, median in TIMERS:
            n = int(rng.poisson(per_minute * 5))
            if n:
                out[minute][(TIMER, name, "", "")] = _series(
                    rng.lognormal(math.log(median), 0.5, n)
                )


def _fingerprints(start: int) -> None:
    moment = datetime.fromtimestamp(start, UTC)
    QueryFingerprint.objects.bulk_create(
        [
            QueryFingerprint(
                fingerprint=fp, statement=text, first_seen=moment, last_seen=datetime.now(UTC)
            )
            for fp, text in (fingerprint(sql) for sql, _, _ in STATEMENTS)
        ],
        ignore_conflicts=True,
    )


def _samples(minutes, rng) -> None:
    """A slow export now and then, and N+1 samples of the order list."""
    export_sql = [STATEMENTS[3][0], STATEMENTS[0][0]] + [STATEMENTS[1][0]] * 3
    list_sql = [STATEMENTS[0][0]] + [STATEMENTS[1][0]] * 21
    samples = []
    # On fixed minutes, so that filling a day at once or minute by minute gives the same.
    for minute in minutes[(minutes // 60) % 47 == 0].tolist():
        samples.append(
            _sample(
                minute, "/api/reports/export/", rng.lognormal(math.log(2600), 0.3), export_sql, rng
            )
        )
    for minute in minutes[(minutes // 60) % 113 == 0].tolist():
        samples.append(
            _sample(minute + 7, "/api/orders/", rng.lognormal(math.log(140), 0.3), list_sql, rng)
        )
    prepared = [storage.prepare_sample(s) for s in samples]
    live_database.save_samples({**s, "host": "web-1"} for s in prepared)


def _sample(at: int, route: str, duration: float, statements: list[str], rng) -> dict:
    queries = [(sql, float(rng.lognormal(math.log(2), 0.5))) for sql in statements]
    repeated = {}
    for sql in statements:
        if statements.count(sql) >= 5:
            repeated[sql] = statements.count(sql)
    return {
        # Stable per route and minute, and within the 32 characters of sample_id.
        "id": f"demo-{zlib.crc32(route.encode()):08x}-{at}",
        "time": float(at),
        "route": route,
        "method": "GET",
        "status": 200,
        "duration_ms": float(duration),
        "db_ms": sum(ms for _, ms in queries)
        + (duration * 0.5 if route.endswith("export/") else 0),
        "query_count": len(queries),
        "slow": duration >= 1000,
        "queries": queries,
        "repeated": repeated,
    }


def _system(minutes, rng) -> None:
    rows = []
    load_factor = _diurnal(minutes)
    for host, base_cpu, base_memory in (("web-1", 35, 58), ("worker-1", 20, 71)):
        cpu = np.clip(base_cpu * load_factor * 1.6 + rng.normal(0, 4, len(minutes)), 1, 99)
        if host == "worker-1":
            busy = _during(BUSY_WORKER, minutes)
            cpu[busy] = np.clip(INCIDENT_CPU + rng.normal(0, 3, busy.sum()), 1, 99)
        memory = np.clip(base_memory + rng.normal(0, 1.5, len(minutes)), 5, 99)
        base_disk = 61.0 if host == "web-1" else 83.0
        for i, minute in enumerate(minutes.tolist()):
            # Logs grow slowly and are cleaned up every three days.
            disk = base_disk + 0.0002 * ((minute // 60) % (3 * 1440))
            rows.append(
                SystemSample(
                    host=host,
                    time=datetime.fromtimestamp(minute + 5, UTC),
                    cpu_percent=round(float(cpu[i]), 1),
                    load_1=round(float(cpu[i]) / 40, 2),
                    load_5=round(float(cpu[i]) / 45, 2),
                    load_15=round(float(cpu[i]) / 50, 2),
                    memory_percent=round(float(memory[i]), 1),
                    swap_percent=2.0,
                    disks={"/": round(disk, 2), "/var/lib/postgresql": round(disk - 20, 2)},
                    disk_percent=round(disk, 2),
                    net_in_bps=round(float(250_000 * load_factor[i] * rng.uniform(0.8, 1.2)), 1),
                    net_out_bps=round(float(900_000 * load_factor[i] * rng.uniform(0.8, 1.2)), 1),
                    process_rss=180_000_000,
                    process_open_files=24,
                )
            )
    SystemSample.objects.bulk_create(rows, batch_size=1000)
