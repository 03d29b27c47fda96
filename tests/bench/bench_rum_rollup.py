"""rum_rollup: one rollup run after a minute of beacons costs the same early or late in an hour.

Two sites get the same traffic: 300 page views a minute on 40 pages and three
devices, each with LCP, FCP and TTFB in its first minute and INP and CLS a few
minutes later (so a run also changes page views it counted before). One site's
hour already holds 5 minutes of it (1x), the other's 50 (10x), all rolled up.
Then each gets one more minute, and the rollup run that takes it is timed; three
rounds, alternating, the median kept.

    BENCH rum_rollup_tick_growth   10x time / 1x time          target <= 1.3
    BENCH rum_rollup_tick_1x_s     (informational)
    BENCH rum_rollup_tick_10x_s    (informational)

Runs on the database in DATABASE_URL (PostgreSQL when set), in a throw-away test
database.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-that-is-long-enough-0123456789")

VIEWS_PER_MINUTE = 300
PAGES = [f"/shop/{n}/" for n in range(40)]
DEVICES = ("desktop", "mobile", "tablet")
LATE_VITALS_AFTER_MINUTES = 3
ROUNDS = 3


def minute_rows(site_id: int, start, minute: int, rng: random.Random) -> list[tuple]:
    """One minute's events of a site: its new page views, and the late vitals of earlier ones."""
    from rum import ingest

    rows = []
    at = start + timedelta(minutes=minute)

    def event(view: str, kind: str, name: str, value, second: float, page: str, device: str):
        moment = at + timedelta(seconds=second)
        rows.append(
            ingest._values(
                {
                    "site_id": site_id, "event_key": f"{view}:{kind}:{name}",
                    "received_at": moment.isoformat(), "session_id": view, "page_view_id": view,
                    "kind": kind, "host": "shop.example.com", "page": page, "route": "",
                    "name": name, "value": value, "delta": value, "rating": "",
                    "navigation_type": "navigate", "target": "", "device": device,
                    "browser": "Chrome 124", "os": "Windows", "connection": "4g",
                    "server_ms": None, "db_ms": None, "message": "", "fingerprint": "",
                    "detail": {},
                }
            )
        )  # fmt: skip

    for n in range(VIEWS_PER_MINUTE):
        page_rng = random.Random(minute * 100_000 + n)  # the same page view, minutes later
        page, device = page_rng.choice(PAGES), page_rng.choice(DEVICES)
        second = rng.uniform(0, 59)
        view = f"m{minute}v{n}"
        event(view, "pageview", "", None, second, page, device)
        event(view, "vital", "TTFB", rng.lognormvariate(5.8, 0.5), second, page, device)
        event(view, "vital", "FCP", rng.lognormvariate(7.0, 0.5), second, page, device)
        event(view, "vital", "LCP", rng.lognormvariate(7.5, 0.5), second, page, device)
        earlier = minute - LATE_VITALS_AFTER_MINUTES
        if earlier >= 0:  # the page views of a few minutes ago report INP and CLS on leaving
            page_rng = random.Random(earlier * 100_000 + n)
            page, device = page_rng.choice(PAGES), page_rng.choice(DEVICES)
            view = f"m{earlier}v{n}"
            event(view, "vital", "INP", rng.lognormvariate(5.0, 0.7), second, page, device)
            event(view, "vital", "CLS", rng.lognormvariate(-3.5, 1.0), second, page, device)
    return rows


def main():
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment
    from django.utils import timezone

    from rum import fold, ingest
    from rum.models import Event, Rollup, Site
    from tests.bench.report import bench

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        rng = random.Random(7)
        # An hour just past, so that every minute of it is in the past.
        start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
        sites = {
            "1x": (Site.objects.create(name="Early in the hour", public_key="k1").id, 5),
            "10x": (Site.objects.create(name="Late in the hour", public_key="k10").id, 50),
        }
        started = time.perf_counter()
        for site_id, minutes in sites.values():
            for minute in range(minutes):
                ingest._insert(minute_rows(site_id, start, minute, rng))
            fold.drain_inbox()
        print(
            f"# {connection.vendor}; seeded {Event.objects.count():,} events in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        times: dict[str, list[float]] = {label: [] for label in sites}
        for round_number in range(ROUNDS):
            for label, (site_id, minutes) in sites.items():
                rows = minute_rows(site_id, start, minutes + round_number, rng)
                ingest._insert(rows)
                tick = time.perf_counter()
                folded = fold.roll_up()
                times[label].append(time.perf_counter() - tick)
                assert folded == len(rows), (folded, len(rows))
        for label, (site_id, _) in sites.items():
            in_hour = Event.objects.filter(site_id=site_id).count()
            views = Rollup.objects.filter(site_id=site_id, metric="PV")
            print(
                f"# {label}: {in_hour:,} events in the hour, "
                f"{sum(views.values_list('count', flat=True)):,} page views; runs "
                + ", ".join(f"{t * 1000:.0f} ms" for t in times[label]),
                flush=True,
            )
        one, ten = statistics.median(times["1x"]), statistics.median(times["10x"])
        bench("rum_rollup_tick_1x_s", one, "s", "<=", 1)
        bench("rum_rollup_tick_10x_s", ten, "s", "<=", 1.3)
        bench("rum_rollup_tick_growth", ten / one, "x", "<=", 1.3)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
