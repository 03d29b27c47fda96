"""A week of data for alert_eval, in the apps' own tables, as production leaves it.

- monitoring: request, task and SQL rollups per minute for the last 7 days (what
  RETENTION_MINUTE_ROLLUPS_DAYS keeps), and per hour and per day for the whole
  week; hour and day rows hold the sums of their minutes, as the fold writes
  them, and each period has its all-routes total row.
- monitoring: a system sample every 15 seconds per host (all kept: 30 days).
- rum: hourly rollups per site, page, device class and metric.
- dataquality: weekly full scans, and nightly scans of the statements that changed.

Written with COPY; histograms are drawn once per series and request count, so
a week takes seconds to make.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np

from lib import sketch
from lib.sketch import INV_LOG_GAMMA
from monitoring.models import ALL, DAY, HOUR, MINUTE
from rum import vitals

WEEK = 7 * DAY
SAMPLE_SECONDS = 15
# Latency buckets kept dense in memory: 0.01 ms to 1,000 s.
LOWEST = math.floor(math.log(0.01) * INV_LOG_GAMMA)
BUCKETS = math.ceil(math.log(1e6) * INV_LOG_GAMMA) - LOWEST + 1
VALUES = np.array([sketch.bucket_value(LOWEST + i) for i in range(BUCKETS)])
QUERIES_PER_REQUEST = 4

# (route template, method, peak requests per minute, median ms, 4xx share, 5xx share)
ROUTES = [
    ("/api/orders/", "GET", 60, 90, 0.01, 0.002),
    ("/api/orders/", "POST", 12, 140, 0.04, 0.004),
    ("/api/orders/<int:pk>/", "GET", 80, 35, 0.02, 0.0),
    ("/api/orders/<int:pk>/", "PATCH", 5, 70, 0.05, 0.002),
    ("/api/orders/<int:pk>/", "DELETE", 1, 60, 0.0, 0.0),
    ("/api/payments/<uuid:id>/capture/", "POST", 6, 280, 0.01, 0.02),
    ("/api/payments/<uuid:id>/", "GET", 10, 45, 0.0, 0.0),
    ("/api/products/", "GET", 50, 40, 0.0, 0.0),
    ("/api/products/<slug:slug>/", "GET", 70, 25, 0.03, 0.0),
    ("/api/products/<slug:slug>/reviews/", "GET", 15, 60, 0.0, 0.001),
    ("/api/products/<slug:slug>/reviews/", "POST", 2, 110, 0.08, 0.0),
    ("/api/search/", "GET", 30, 180, 0.0, 0.003),
    ("/api/search/suggest/", "GET", 90, 12, 0.0, 0.0),
    ("/api/cart/", "GET", 40, 30, 0.0, 0.0),
    ("/api/cart/", "PUT", 20, 55, 0.02, 0.002),
    ("/api/cart/items/<int:pk>/", "DELETE", 4, 40, 0.01, 0.0),
    ("/api/checkout/", "POST", 5, 420, 0.05, 0.01),
    ("/api/users/me/", "GET", 45, 15, 0.05, 0.0),
    ("/api/users/me/", "PATCH", 1, 50, 0.1, 0.0),
    ("/api/auth/login/", "POST", 6, 220, 0.15, 0.001),
    ("/api/auth/logout/", "POST", 2, 10, 0.0, 0.0),
    ("/api/reports/export/", "GET", 0.5, 2400, 0.0, 0.01),
    ("/api/reports/<int:pk>/", "GET", 2, 300, 0.02, 0.0),
    ("/api/inventory/", "GET", 8, 150, 0.0, 0.001),
    ("/api/inventory/<int:pk>/", "PUT", 3, 95, 0.03, 0.002),
    ("/api/shipping/rates/", "GET", 10, 350, 0.0, 0.015),
    ("/api/notifications/", "GET", 25, 20, 0.0, 0.0),
    ("/admin/", "GET", 0.5, 80, 0.0, 0.0),
    ("/healthz", "GET", 6, 3, 0.0, 0.0),
    ("<unmatched>", "GET", 3, 4, 1.0, 0.0),
]
# (task name, runs per minute at peak, median ms, failure share)
TASKS = [
    ("alerts.evaluate", 1, 400, 0.0),
    ("monitoring.fold", 6, 60, 0.001),
    ("emails.send", 4, 900, 0.02),
    ("billing.capture_payments", 0.5, 650, 0.03),
    ("reports.send_daily", 0.05, 4200, 0.01),
    ("search.reindex", 0.2, 12_000, 0.05),
]
STATEMENTS = 30
# host → (CPU % at peak, memory %, disk % per mount)
HOSTS = {
    "web-1": (55, 61, {"/": 48, "/var/log": 62}),
    "web-2": (58, 63, {"/": 47, "/var/log": 60}),
    "web-3": (52, 60, {"/": 52, "/var/log": 71}),
    "web-4": (57, 62, {"/": 45, "/var/log": 58}),
    "worker-1": (80, 74, {"/": 66, "/data": 81}),
    "db-1": (45, 83, {"/": 40, "/var/lib/postgresql": 74}),
}
# site → pages: (page, share of views, LCP median ms, INP median ms, CLS median)
SITES = {
    "shop": [
        ("/", 20, 1400, 90, 0.02),
        ("/products/:id/", 30, 1700, 120, 0.04),
        ("/products/", 12, 1600, 110, 0.05),
        ("/search/", 10, 1800, 480, 0.03),
        ("/cart/", 6, 1500, 140, 0.02),
        ("/checkout/", 4, 4200, 160, 0.06),
        ("/checkout/done/", 3, 1200, 80, 0.01),
        ("/account/", 3, 2000, 150, 0.12),
        ("/account/orders/", 2, 2200, 170, 0.15),
        ("/account/orders/:id/", 2, 2100, 160, 0.16),
        ("/login/", 3, 1100, 100, 0.02),
        ("/help/", 1, 1300, 90, 0.03),
        ("/help/:slug/", 1, 1350, 90, 0.03),
        ("/blog/", 1, 1900, 100, 0.08),
        ("/stores/", 0.5, 2600, 130, 0.09),
        ("/stores/:id/", 0.5, 2500, 120, 0.1),
    ],
    "blog": [
        ("/", 30, 1200, 60, 0.03),
        ("/posts/:slug/", 50, 1500, 70, 0.09),
        ("/tags/:tag/", 8, 1400, 60, 0.05),
        ("/about/", 2, 900, 40, 0.01),
        ("/archive/", 3, 1700, 80, 0.04),
    ],
}
PAGE_VIEWS_PER_HOUR = {"shop": 9000, "blog": 2500}
# device class → (share of page views, slowdown)
DEVICES = {"mobile": (0.55, 1.35), "desktop": (0.4, 1.0), "tablet": (0.05, 1.2)}
ENTITIES = [f"Entity {i:02d} plc" for i in range(40)]
STATEMENT_TYPES = ("balance_sheet", "income_statement", "cash_flow")
QUARTERS = 8
WEEKS_OF_SCANS = 4


def seed(end: int, rng: np.random.Generator) -> dict[str, int]:
    """Write the week before `end` (epoch seconds, a whole minute); rows written per table."""
    from django.db import connection

    with connection.cursor() as cursor:
        written = {
            "monitoring_rollup": seed_rollups(cursor, end, rng),
            "monitoring_systemsample": seed_system(cursor, end, rng),
            "rum_rollup": seed_rum(cursor, end, rng),
            "dataquality_run": seed_dataquality(end, rng),
        }
        for table in written:
            cursor.execute(f"ANALYZE {table}")
    return written


def diurnal(seconds: np.ndarray) -> np.ndarray:
    """Quiet at night, busy in the afternoon (UTC)."""
    hours = (seconds % DAY) / 3600.0
    return 0.25 + 0.75 * (0.5 - 0.5 * np.cos((hours - 3) / 24 * 2 * math.pi))


def _stamp(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _copy(cursor, table: str, columns: str, rows) -> int:
    written = 0
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


# --- monitoring rollups -------------------------------------------------------------------
def _shape(rng, median_ms: float, sigma: float) -> np.ndarray:
    """A lognormal latency distribution as probabilities over the dense buckets."""
    values = rng.lognormal(math.log(median_ms), sigma, 20_000)
    indexes = np.clip(np.ceil(np.log(values) * INV_LOG_GAMMA) - LOWEST, 0, BUCKETS - 1)
    return np.bincount(indexes.astype(int), minlength=BUCKETS) / len(values)


def _blob(dense: np.ndarray) -> bytes:
    present = np.flatnonzero(dense)
    pairs = zip((present + LOWEST).tolist(), dense[present].tolist(), strict=True)
    return sketch.encode(dict(pairs))


class Timings:
    """One series' minutes: a histogram drawn once per distinct count, and its sums."""

    def __init__(self, rng, counts: np.ndarray, p: np.ndarray):
        unique, self.which = np.unique(counts, return_inverse=True)
        self.draws = np.array([rng.multinomial(n, p) for n in unique], dtype=np.int32)
        self.blobs = [_blob(h) for h in self.draws]
        top = np.array([np.flatnonzero(h)[-1] if h.any() else 0 for h in self.draws])
        self.sum_ms = (self.draws @ VALUES)[self.which]
        self.max_ms = np.where(unique > 0, VALUES[top], 0.0)[self.which]

    def dense(self) -> np.ndarray:
        return self.draws[self.which]


class Series:
    """A rollup series over every minute of the span (no requests after `end`)."""

    def __init__(self, rng, minutes, end, key, rate, median_ms, failures=0.0, db_share=0.0):
        self.key = key
        self.counts = rng.poisson(rate * diurnal(minutes)) * (minutes < end)
        self.errors = self.counts if failures == 1 else rng.binomial(self.counts, failures)
        self.timing = Timings(rng, self.counts, _shape(rng, median_ms, 0.55))
        self.db = (
            Timings(rng, self.counts, _shape(rng, median_ms * db_share, 0.7)) if db_share else None
        )


def rollup_series(rng, minutes: np.ndarray, end: int) -> list[Series]:
    found = []
    for name, method, rate, median, client_errors, server_errors in ROUTES:
        for status, share in (
            ("2xx", 1 - client_errors - server_errors),
            ("4xx", client_errors),
            ("5xx", server_errors),
        ):
            if share > 0:
                failures = 1.0 if status == "5xx" else 0.0
                speed = 0.5 if status == "4xx" else 1.0
                key = ("request", name, method, status)
                found.append(
                    Series(rng, minutes, end, key, rate * share, median * speed, failures, 0.4)
                )
    for name, rate, median, failures in TASKS:
        found.append(Series(rng, minutes, end, ("task", name, "", ""), rate, median, failures))
    for i in range(STATEMENTS):
        key = ("query", f"{i:016x}", "", "")
        found.append(Series(rng, minutes, end, key, 400 / (i + 1), 0.3 + i / 5))
    return found


class Periods:
    """Per-minute figures of one series (or the all-routes total) summed per period."""

    def __init__(self, key, counts, errors, sum_ms, max_ms, dense, db=None):
        self.key, self.counts, self.errors = key, counts, errors
        self.sum_ms, self.max_ms, self.dense = sum_ms, max_ms, dense
        # DB time: (sum, max, dense histogram), or None for tasks and SQL.
        self.db = db

    def by(self, size: int) -> Periods:
        def total(a):
            return a.reshape(-1, size, *a.shape[1:]).sum(axis=1)

        def peak(a):
            return a.reshape(-1, size).max(axis=1)

        db = None
        if self.db is not None:
            db = (total(self.db[0]), peak(self.db[1]), total(self.db[2]))
        return Periods(
            self.key, total(self.counts), total(self.errors), total(self.sum_ms),
            peak(self.max_ms), total(self.dense), db,
        )  # fmt: skip

    def rows(self, resolution: int, starts: np.ndarray, keep_from: int, blobs=None):
        kind, name, method, status = self.key
        for i, start in enumerate(starts.tolist()):
            n = int(self.counts[i])
            if not n or start < keep_from:
                continue
            if blobs is not None:
                blob, db_blob = blobs(i)
            else:
                blob = _blob(self.dense[i])
                db_blob = _blob(self.db[2][i]) if self.db is not None else b""
            db_ms, db_max = (float(self.db[0][i]), float(self.db[1][i])) if self.db else (0.0, 0.0)
            queries = n * QUERIES_PER_REQUEST if self.db is not None else 0
            yield (
                resolution, _stamp(start), kind, name, method, status, n, int(self.errors[i]),
                float(self.sum_ms[i]), float(self.max_ms[i]), db_ms, db_max, queries, 0,
                blob, db_blob,
            )  # fmt: skip


def _periods(series: Series) -> Periods:
    db = None
    if series.db is not None:
        db = (series.db.sum_ms, series.db.max_ms, series.db.dense())
    return Periods(
        series.key, series.counts, series.errors, series.timing.sum_ms, series.timing.max_ms,
        series.timing.dense(), db,
    )  # fmt: skip


def seed_rollups(cursor, end: int, rng) -> int:
    first_day = (end - WEEK) // DAY * DAY
    last_day = end // DAY * DAY + DAY
    minutes = np.arange(first_day, last_day, MINUTE)
    week_start = end - WEEK
    keep_minutes_from = week_start  # retention deletes minute rows older than that
    columns = (
        "resolution, time, kind, name, method, status_class, count, errors, sum_ms, max_ms, "
        "db_ms, db_max_ms, queries, n_plus_one, buckets, db_buckets"
    )
    hours = np.arange(first_day, last_day, HOUR)
    days = np.arange(first_day, last_day, DAY)
    total = None
    written = 0
    for series in rollup_series(rng, minutes, end):
        periods = _periods(series)

        def minute_blobs(i, s=series):
            db = s.db.blobs[s.db.which[i]] if s.db is not None else b""
            return s.timing.blobs[s.timing.which[i]], db

        rows = [
            periods.rows(MINUTE, minutes, keep_minutes_from, minute_blobs),
            periods.by(60).rows(HOUR, hours, week_start // HOUR * HOUR),
            periods.by(1440).rows(DAY, days, first_day),
        ]
        written += sum(_copy(cursor, "monitoring_rollup", columns, r) for r in rows)
        if series.key[0] == "request":
            total = periods if total is None else _add(total, periods)
        del periods
    total.key = ("request", ALL, ALL, ALL)
    for resolution, size, starts, keep in (
        (MINUTE, 1, minutes, keep_minutes_from),
        (HOUR, 60, hours, week_start // HOUR * HOUR),
        (DAY, 1440, days, first_day),
    ):
        rows = (total if size == 1 else total.by(size)).rows(resolution, starts, keep)
        written += _copy(cursor, "monitoring_rollup", columns, rows)
    return written


def _add(a: Periods, b: Periods) -> Periods:
    db = (a.db[0] + b.db[0], np.maximum(a.db[1], b.db[1]), a.db[2] + b.db[2])
    return Periods(
        a.key, a.counts + b.counts, a.errors + b.errors, a.sum_ms + b.sum_ms,
        np.maximum(a.max_ms, b.max_ms), a.dense + b.dense, db,
    )  # fmt: skip


# --- system samples -----------------------------------------------------------------------
def seed_system(cursor, end: int, rng) -> int:
    moments = np.arange(end - WEEK, end, SAMPLE_SECONDS)
    load = diurnal(moments)
    columns = (
        "host, time, cpu_percent, load_1, load_5, load_15, memory_percent, swap_percent, disks, "
        "disk_percent, net_in_bps, net_out_bps, process_rss, process_open_files, db_connections, "
        "cpu_busy_s, cpu_total_s, net_bytes_recv, net_bytes_sent"
    )

    def rows():
        for host, (cpu_peak, memory, disks) in HOSTS.items():
            n = len(moments)
            cpu = np.clip(cpu_peak * load + rng.normal(0, 6, n), 0.5, 100).round(1)
            mem = np.clip(memory + np.cumsum(rng.normal(0, 0.05, n)), 5, 99).round(1)
            growth = np.linspace(0, 4, n)
            fill = {m: (p + growth).round(2) for m, p in disks.items()}
            net_in = (300_000 * load * rng.uniform(0.8, 1.2, n)).round(1)
            busy = np.cumsum(cpu / 100 * SAMPLE_SECONDS * 4)
            for i, moment in enumerate(moments.tolist()):
                used = {m: float(v[i]) for m, v in fill.items()}
                yield (
                    host, _stamp(moment), float(cpu[i]), float(cpu[i]) / 25,
                    float(cpu[i]) / 28, float(cpu[i]) / 30, float(mem[i]), 1.5,
                    json.dumps(used), max(used.values()), float(net_in[i]),
                    float(net_in[i]) * 3, 210_000_000, 40, 12, float(busy[i]),
                    float(SAMPLE_SECONDS * 4 * (i + 1)), int(net_in[i]) * (i + 1),
                    int(net_in[i]) * 3 * (i + 1),
                )  # fmt: skip

    return _copy(cursor, "monitoring_systemsample", columns, rows())


# --- RUM rollups --------------------------------------------------------------------------
class VitalShape:
    """A vital's lognormal distribution as sketch-bucket probabilities, with ratings."""

    def __init__(self, rng, name: str, median: float, spread: float):
        values = rng.lognormal(math.log(median), spread, 20_000)
        found = sketch.build(values)
        self.keys = sorted(found)
        self.p = np.array([found[k] for k in self.keys]) / len(values)
        vital = vitals.VITALS[name]
        rating = [vital.rate(sketch.bucket_value(k)) for k in self.keys]
        self.good = np.array([r == vitals.GOOD for r in rating])
        self.poor = np.array([r == vitals.POOR for r in rating])
        self.cache: dict[int, tuple] = {}

    def draw(self, rng, n: int) -> tuple[dict, int, int, int]:
        """(histogram, good, needs improvement, poor) of n values, drawn once per n."""
        found = self.cache.get(n)
        if found is None:
            counts = rng.multinomial(n, self.p)
            good, poor = int(counts[self.good].sum()), int(counts[self.poor].sum())
            hist = {k: int(c) for k, c in zip(self.keys, counts.tolist(), strict=True) if c}
            found = self.cache[n] = (sketch.encode(hist), good, n - good - poor, poor)
        return found


def seed_rum(cursor, end: int, rng) -> int:
    from rum.models import Site

    hours = np.arange((end - WEEK) // HOUR * HOUR, end, HOUR)
    load = diurnal(hours + HOUR // 2)
    columns = "site_id, hour, page, metric, device, count, good, needs_improvement, poor, histogram"

    # (Created before the COPY: no other statement can run on the connection during it.)
    sites = {name: Site.objects.create(name=name, public_key=f"bench-{name}") for name in SITES}

    def rows():
        for site_name, pages in SITES.items():
            site = sites[site_name]
            weights = sum(p[1] for p in pages)
            for page, weight, lcp, inp, cls in pages:
                for device, (share, slow) in DEVICES.items():
                    rate = PAGE_VIEWS_PER_HOUR[site_name] * weight / weights * share
                    medians = {"LCP": lcp * slow, "INP": inp * slow, "CLS": cls,
                               "FCP": 0.6 * lcp * slow, "TTFB": 250 * slow}  # fmt: skip
                    shapes = {
                        name: VitalShape(rng, name, median, 0.8 if name == "CLS" else 0.45)
                        for name, median in medians.items()
                    }
                    good_views = math.prod(
                        float((shapes[n].p * shapes[n].good).sum()) for n in vitals.CORE
                    )
                    for hour, views in zip(
                        hours.tolist(), rng.poisson(rate * load).tolist(), strict=True
                    ):
                        if not views:
                            continue
                        at = _stamp(hour)
                        yield site.id, at, page, vitals.PAGE_VIEWS, device, views, 0, 0, 0, "{}"
                        assessed = int(rng.binomial(views, 0.95))
                        passed = int(rng.binomial(assessed, good_views))
                        yield (site.id, at, page, vitals.CWV, device, assessed, passed, 0,
                               assessed - passed, "{}")  # fmt: skip
                        for name, shape in shapes.items():
                            # INP only for views with an interaction.
                            n = int(rng.binomial(views, 0.6)) if name == "INP" else views
                            if n:
                                hist, good, middling, poor = shape.draw(rng, n)
                                yield site.id, at, page, name, device, n, good, middling, poor, hist

    return _copy(cursor, "rum_rollup", columns, rows())


# --- data quality ------------------------------------------------------------------------
def seed_dataquality(end: int, rng) -> int:
    """Statements per entity, then weekly full scans and nightly scans of changed ones."""
    from django.db import connection

    from dataquality.models import Entity, Run, Scan, Statement

    now = _stamp(end)
    entities = Entity.objects.bulk_create([Entity(name=name, created_at=now) for name in ENTITIES])
    quarter_ends = [(now - timedelta(days=92 * q)).date() for q in range(1, QUARTERS + 1)]
    statements = Statement.objects.bulk_create(
        [
            Statement(entity=entity, period_end=period, statement_type=kind, source="bench.csv")
            for entity in entities
            for kind in STATEMENT_TYPES
            for period in quarter_ends
        ]
    )
    quality = {entity.pk: rng.uniform(55, 100) for entity in entities}
    scans = [(now - timedelta(weeks=w, hours=3), Scan.Scope.ALL, statements)
             for w in range(WEEKS_OF_SCANS, 0, -1)]  # fmt: skip
    for night in range(6, -1, -1):
        moment = now - timedelta(days=night, hours=2, minutes=17)
        changed = [s for s in statements if rng.random() < 0.08]
        scans.append((moment, Scan.Scope.CHANGED, changed))
    scans.sort(key=lambda scan: scan[0])
    runs = []
    for moment, scope, checked in scans:
        scan = Scan.objects.create(scope=scope, status=Scan.Status.DONE, total=len(checked),
                                   done=len(checked), created_at=moment, started_at=moment,
                                   finished_at=moment + timedelta(minutes=4))  # fmt: skip
        for statement in checked:
            base = quality[statement.entity_id]
            score = int(np.clip(rng.normal(base, 8), 0, 100))
            critical = int(score < 50) + int(rng.random() < 0.03)
            runs.append(Run(statement=statement, scan=scan, created_at=moment, score=score,
                            issues=max(0, (100 - score) // 7), critical=critical,
                            line_items=48))  # fmt: skip
    Run.objects.bulk_create(runs, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE dataquality_statement s SET latest_run_id = latest.id
            FROM (SELECT DISTINCT ON (statement_id) statement_id, id FROM dataquality_run
                  ORDER BY statement_id, created_at DESC, id DESC) latest
            WHERE latest.statement_id = s.id"""
        )
    return len(runs)
