"""alert_eval: one evaluation tick of 1,000 rules over 10 metric sources, a week of rollups.

Runs on the database in DATABASE_URL (PostgreSQL for the target), in a
throw-away test database. The 10 sources are defined here over a table of
per-minute rollups (10 sources × 8 label values × one week of minutes), each
answering with one query per `load`, as the apps' sources do over their own
rollups. To measure the real sources instead, set SOURCE_KEYS to their keys
(and their aggregations in AGGREGATIONS) and fill their rollups in `seed_week`.

Prints the worst of three consecutive ticks (the first creates the alerts):
    BENCH alert_eval_s        wall time of a tick        target <= 2 s
    BENCH alert_eval_queries  database queries of a tick target <= 30
with, as the baseline of the same run, the time and queries of the 10 sources
answering the same queries alone (the floor the engine adds to).
"""

from __future__ import annotations

import bisect
import os
import random
import time
from collections import defaultdict
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-that-is-long-enough-0123456789")

RULES = 1000
SOURCE_KEYS = [f"bench.source_{i}" for i in range(10)]
AGGREGATIONS = ("avg", "max")
LABELS = [f"/api/route-{i}/" for i in range(8)]
WINDOWS = (5, 10, 15, 30, 60)
WEEK_MINUTES = 7 * 24 * 60


def seed_week(cursor, end) -> int:
    """A week of per-minute rollups: count, total and max latency per source and route."""
    cursor.execute(
        """CREATE TABLE bench_alert_minute (
            source smallint, minute timestamptz, route text,
            count integer, total double precision, maximum double precision)"""
    )
    cursor.execute(
        """INSERT INTO bench_alert_minute
        SELECT s, %s - make_interval(mins => m), '/api/route-' || r || '/',
               60, 60 * (200 + 150 * sin(m / 40.0 + r) + 20 * s), 900 + 40 * r + 10 * s
        FROM generate_series(0, 9) s, generate_series(1, %s) m, generate_series(0, 7) r""",
        [end, WEEK_MINUTES],
    )
    cursor.execute("CREATE INDEX ON bench_alert_minute (source, minute)")
    cursor.execute("ANALYZE bench_alert_minute")
    cursor.execute("SELECT count(*) FROM bench_alert_minute")
    return cursor.fetchone()[0]


def define_sources():
    from django.db import connection

    from alerts.sources import MetricSource, register

    class RollupSource(MetricSource):
        label = "Bench latency"
        unit = "ms"
        aggregations = AGGREGATIONS
        labels = ("route",)
        number = 0

        def load(self, queries, start, end):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT route, minute, count, total, maximum FROM bench_alert_minute "
                    "WHERE source = %s AND minute >= %s AND minute < %s ORDER BY minute",
                    [self.number, start, end],
                )
                series = defaultdict(lambda: ([], [], [], []))
                for route, minute, count, total, maximum in cursor.fetchall():
                    columns = series[route]
                    for column, value in zip(columns, (minute, count, total, maximum), strict=True):
                        column.append(value)
            return series

        def compute(self, data, query, at):
            wanted = query.params.get("route")
            grouped = defaultdict(lambda: [0, 0.0, None])
            for route, (minutes, counts, totals, maxima) in data.items():
                if wanted and route != wanted:
                    continue
                lo = bisect.bisect_left(minutes, at - query.window)
                hi = bisect.bisect_left(minutes, at)
                if lo == hi:
                    continue
                key = (("route", route),) if "route" in query.group_by else ()
                acc = grouped[key]
                acc[0] += sum(counts[lo:hi])
                acc[1] += sum(totals[lo:hi])
                peak = max(maxima[lo:hi])
                acc[2] = peak if acc[2] is None else max(acc[2], peak)
            if query.aggregation == "avg":
                return {k: total / count for k, (count, total, _) in grouped.items() if count}
            return {k: peak for k, (_, _, peak) in grouped.items()}

    for number, key in enumerate(SOURCE_KEYS):
        register(type(f"BenchSource{number}", (RollupSource,), {"key": key, "number": number}))


def make_rules():
    from alerts.models import Channel, Rule

    rng = random.Random(7)
    channel = Channel.objects.create(name="Bench email", kind="email", target="ops@example.com")
    rules = []
    for i in range(RULES):
        aggregation = AGGREGATIONS[i % len(AGGREGATIONS)]
        split = i % 3 == 0
        rules.append(
            Rule(
                name=f"bench rule {i}",
                source=SOURCE_KEYS[i % len(SOURCE_KEYS)],
                aggregation=aggregation,
                filters={} if split or i % 3 == 1 else {"route": rng.choice(LABELS)},
                group_by=["route"] if split else [],
                window_minutes=rng.choice(WINDOWS),
                operator="gt",
                # Around the data, so some rules fire, some pend and some stay quiet.
                threshold=rng.uniform(150, 450) if aggregation == "avg" else rng.uniform(900, 1300),
                for_minutes=rng.choice((0, 0, 2, 5)),
                severity=rng.choice(("low", "medium", "high", "critical")),
                enabled=True,
            )
        )
    Rule.objects.bulk_create(rules)
    # A tenth of the rules notify, so ticks also plan and write notifications.
    through = Rule.channels.through
    ids = Rule.objects.filter(name__startswith="bench rule").values_list("pk", flat=True)
    through.objects.bulk_create(
        [through(rule_id=pk, channel_id=channel.pk) for pk in list(ids)[::10]]
    )


def measure(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
    return elapsed, len(queries), result


def main():
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment
    from django.utils import timezone

    from tests.bench.report import bench

    if connection.vendor != "postgresql":
        print("alert_eval needs PostgreSQL: set DATABASE_URL=postgres://...", flush=True)
        return
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from alerts import evaluate
        from alerts.models import Alert, Notification, Rule
        from alerts.sources import get_source

        end = evaluate.tick_time(timezone.now())
        with connection.cursor() as cursor:
            rows = seed_week(cursor, end)
        define_sources()
        make_rules()
        queued = []
        evaluate.dispatch = queued.extend  # the broker publish is not what is measured here

        def sources_alone(at):
            by_source = defaultdict(list)
            for rule in Rule.objects.filter(name__startswith="bench rule"):
                by_source[rule.source].append(rule.query())
            for key, queries in by_source.items():
                get_source(key).evaluate(list(dict.fromkeys(queries)), at)

        base_s, base_q, _ = measure(lambda: sources_alone(end))
        ticks = [
            measure(lambda m=m: evaluate.evaluate_rules(now=end + timedelta(minutes=m)))
            for m in range(3)
        ]
        worst_s = max(t[0] for t in ticks)
        worst_q = max(t[1] for t in ticks)
        transitions = sum(t[2].transitions for t in ticks)
        print(
            f"# {RULES} rules over {len(SOURCE_KEYS)} sources, {rows:,} rollup rows; "
            f"ticks {', '.join(f'{t[0]:.3f} s/{t[1]} q' for t in ticks)}; "
            f"{transitions} transitions, {Alert.objects.count()} alerts, "
            f"{Notification.objects.count()} notifications",
            flush=True,
        )
        print(f"# baseline: the sources alone {base_s:.3f} s, {base_q} queries", flush=True)
        bench("alert_eval_s", worst_s, "s", "<=", 2)
        bench("alert_eval_queries", worst_q, "queries", "<=", 30)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
