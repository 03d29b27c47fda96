"""Hourly rollups: kept up to date event by event, exactly as the raw events count; purge."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from lib import sketch
from rum import fold, ingest, vitals
from rum.models import Event, HourPage, PageView, Rollup, RollupInbox, Site
from rum.privacy import forget_sessions
from tests.rum.conftest import SAFARI_IPHONE, beacon, post, vital

pytestmark = pytest.mark.django_db


def view(lcp, inp=100.0, cls=0.01, page_view=None, session=None):
    events = [
        {"id": f"pv-{lcp}-{inp}", "type": "pageview", "title": "t"},
        *(vital(name, value) for name, value in [("LCP", lcp), ("INP", inp), ("CLS", cls)]),
        vital("TTFB", 200.0),
    ]
    extra = {"page_view": page_view} if page_view else {}
    if session:
        extra["session"] = session
    return beacon(events, **extra)


def rollup(metric, device="desktop"):
    return Rollup.objects.get(metric=metric, device=device, page="/orders/:id")


def test_an_hour_rolls_up_page_views_vitals_and_the_cwv_verdict(client, site):
    for lcp in (1000.0, 2000.0, 3000.0, 5000.0):
        post(client, view(lcp))
    post(client, view(1500.0, inp=600.0), ua=SAFARI_IPHONE)
    assert fold.roll_up() == 5 * 5

    lcp = rollup("LCP")
    assert (lcp.count, lcp.good, lcp.needs_improvement, lcp.poor) == (4, 2, 1, 1)
    # numpy's p75 of 1000, 2000, 3000 and 5000: a quarter of the way from 3000 to 5000
    p75 = sketch.percentile(sketch.decode(lcp.histogram), 0.75)
    assert p75 == pytest.approx(3500, rel=sketch.RELATIVE_ERROR)
    assert sum(sketch.decode(lcp.histogram).values()) == 4
    assert rollup("PV").count == 4
    cwv = rollup("CWV")
    assert (cwv.count, cwv.good, cwv.poor) == (4, 2, 2)
    mobile = rollup("CWV", "mobile")
    assert (mobile.count, mobile.good) == (1, 0)  # INP 600 ms is poor
    assert not RollupInbox.objects.exists()


def test_rebuilding_an_hour_from_its_page_views_gives_the_same_rollups(client, site):
    post(client, view(1000.0))
    post(client, view(3000.0), ua=SAFARI_IPHONE)
    fold.roll_up()

    def stored():
        rows = Rollup.objects.values_list("hour", "page", "metric", "device", "count", "histogram")
        return sorted(str((*row[:5], bytes(row[5]))) for row in rows)

    first = stored()
    hour = Rollup.objects.first().hour
    fold.rebuild_hour(site.id, hour)
    fold.rebuild_hour(site.id, hour)
    assert stored() == first


def test_a_vital_reported_twice_in_one_page_view_counts_once_with_its_final_value(client, site):
    body = beacon([vital("CLS", 0.05, delta=0.05)], page_view="pv1")
    post(client, body)
    post(client, {**body, "events": [vital("CLS", 0.3, delta=0.25)]})
    fold.roll_up()
    cls = rollup("CLS")
    assert (cls.count, cls.poor) == (1, 1)


def test_late_events_are_rolled_up_into_their_page_views_hour(client, site):
    post(client, view(1000.0, page_view="pv1"))
    fold.roll_up()
    post(client, beacon([vital("FCP", 700.0)], page_view="pv1"))
    assert RollupInbox.objects.exists()
    assert fold.roll_up() == 1
    assert rollup("FCP").count == 1
    assert rollup("PV").count == 1


def test_forgetting_a_session_deletes_its_events_and_rollups(client, site):
    post(client, view(1000.0, session="visitor1"))
    post(client, view(5000.0, session="visitor2"))
    fold.roll_up()
    assert rollup("PV").count == 2

    assert forget_sessions(["visitor2"]) == 5
    fold.roll_up()
    assert not Event.objects.filter(session_id="visitor2").exists()
    assert rollup("PV").count == 1
    assert rollup("LCP").poor == 0


def test_pages_past_the_hours_limit_share_one_other_pages_row(client, site, settings):
    """Page paths come from anyone with the public key: an hour keeps the first few seen."""
    settings.RUM_MAX_PAGES_PER_HOUR = 3
    for n in range(30):
        for _ in range(3 if n >= 27 else 1):  # the busiest come last: they are not kept
            post(client, view(1000.0 + n) | {"url": f"https://shop.example.com/page-{n}"})
        fold.roll_up()
    pages = set(Rollup.objects.values_list("page", flat=True))
    assert pages == {"/page-0", "/page-1", "/page-2", fold.OTHER_PAGES}
    assert Rollup.objects.get(page=fold.OTHER_PAGES, metric="PV").count == 24 + 9
    assert Rollup.objects.get(page=fold.OTHER_PAGES, metric="LCP").count == 33


def test_a_page_seen_earlier_in_the_hour_later_takes_its_place_among_the_kept(site, settings):
    settings.RUM_MAX_PAGES_PER_HOUR = 2
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    late = [row(f"v{n}", "pageview", at=hour + timedelta(minutes=10 + n), page=f"/p{n}")
            for n in range(3)]  # fmt: skip
    ingest.insert_rows(late)
    fold.roll_up()
    assert kept_pages() == {"/p0", "/p1"}
    # A beacon that reached the database late, of a page view that began before all these.
    ingest.insert_rows(
        [
            row("v9", "pageview", at=hour + timedelta(minutes=1), page="/p9"),
            row("v9", "vital", "LCP", 5000.0, at=hour + timedelta(minutes=2)),
        ]
    )
    fold.roll_up()
    assert kept_pages() == {"/p9", "/p0"}
    assert Rollup.objects.get(page=fold.OTHER_PAGES, metric="PV").count == 2  # /p1, /p2
    assert Rollup.objects.get(page="/p9", metric="LCP").poor == 1
    assert_rollups_match_the_raw_events(2)


def test_an_unreadable_inbox_row_is_dropped_and_the_others_are_rolled_up(site):
    RollupInbox.objects.create(site=site, created=timezone.now(), events="not json")
    ingest.insert_rows([row("v1", "pageview"), row("v1", "vital", "LCP", 900.0)])
    assert fold.roll_up() == 2
    assert Rollup.objects.get(metric="PV").count == 1
    assert not RollupInbox.objects.exists()


def test_reinserting_a_batch_counts_it_once(site):
    moment = timezone.now() - timedelta(minutes=5)
    rows = [row("v1", "pageview", at=moment), row("v1", "vital", "LCP", 900.0, at=moment)]
    ingest.insert_rows(rows)
    ingest.insert_rows(rows)  # taken over from a worker that died after its insert
    ingest.insert_rows([*rows, row("v1", "vital", "INP", 80.0, at=moment)])
    assert sum(len(eval_items(r)) for r in RollupInbox.objects.all()) == 3
    assert fold.roll_up() == 3
    assert Rollup.objects.get(metric="PV").count == 1
    assert Rollup.objects.get(metric="LCP").count == 1
    assert_rollups_match_the_raw_events(500)


@pytest.mark.django_db(transaction=True)
def test_the_events_of_a_deleted_site_are_refused(site):
    site_id = site.id
    site.delete()
    with pytest.raises(IntegrityError):
        ingest.insert_rows([row("v1", "error", site_id=site_id)])
    assert not Event.objects.exists()


def test_page_views_and_the_inbox_go_with_retention(site):
    site.retention_days = 7
    site.save()
    old = timezone.now() - timedelta(days=8)
    ingest.insert_rows([row("old", "pageview", at=old), row("new", "pageview")])
    fold.roll_up()
    ingest.insert_rows([row("old", "vital", "LCP", 900.0, at=old + timedelta(seconds=1))])
    RollupInbox.objects.update(created=old)  # as if no rollup had run since
    fold.purge_expired(timezone.now())
    assert list(PageView.objects.values_list("page_view_id", flat=True)) == ["new"]
    assert HourPage.objects.count() == 1
    assert not RollupInbox.objects.exists()
    assert Rollup.objects.filter(hour__lt=timezone.now() - timedelta(days=7)).count() == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_equal_a_recount_from_the_raw_events_whatever_the_order(site, settings, seed):
    """Random page views over three hours, inserted in random order in batches (some twice),
    rolled up between batches: every Rollup row equals a recount from rum_event."""
    settings.RUM_MAX_PAGES_PER_HOUR = 4
    rng = random.Random(seed)
    other = Site.objects.create(name="Other", public_key="other-key")
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=4)
    rows = []
    for n in range(300):
        site_id = rng.choice([site.id, site.id, other.id])
        first = start + timedelta(seconds=rng.uniform(0, 3 * 3600))
        session = f"s{rng.randrange(40)}"
        page = f"/page-{rng.randrange(9)}"
        device = rng.choice(["desktop", "mobile"])
        if rng.random() < 0.9:  # some page views lack their pageview event
            rows.append(row(f"v{n}", "pageview", at=first, page=page, device=device,
                            session=session, site_id=site_id))  # fmt: skip
        for _ in range(rng.randrange(8)):
            name = rng.choice(vitals.NAMES)
            value = rng.uniform(0, 0.5) if name == "CLS" else rng.uniform(50, 6000)
            moment = first + timedelta(seconds=rng.expovariate(1 / 300))
            # A vital may name another page or device: the pageview's are the ones that count.
            vital_page = page if rng.random() < 0.9 else "/elsewhere"
            # Page view ids come from browsers: one may turn up in another session.
            vital_session = session if rng.random() < 0.85 else f"s{rng.randrange(40)}"
            rows.append(row(f"v{n}", "vital", name, value, at=moment, page=vital_page,
                            device=device, session=vital_session, site_id=site_id))  # fmt: skip
        if rng.random() < 0.1:
            rows.append(row(f"v{n}", "error", at=first, session=session, site_id=site_id))
    rng.shuffle(rows)
    batches = [rows[i : i + rng.randrange(1, 120)] for i in range(0, len(rows), 60)]
    for number, batch in enumerate(batches):
        ingest.insert_rows(batch)
        if rng.random() < 0.3:
            ingest.insert_rows(batch)  # again: its duplicates are skipped
        if number % 3 == 0:
            fold.roll_up()
    fold.roll_up()
    assert_rollups_match_the_raw_events(4)

    # Forgetting sessions takes their events out of the page views they were part of.
    forget_sessions([f"s{n}" for n in range(0, 40, 3)])
    assert_rollups_match_the_raw_events(4)

    # A repair from the page views gives the same rows.
    before = rollup_table()
    for site_id, hour in Rollup.objects.values_list("site_id", "hour").distinct():
        fold.rebuild_hour(site_id, hour)
    assert rollup_table() == before


# --- Helpers ---------------------------------------------------------------------


def row(view_id, kind, name="", value=None, at=None, page="/orders/:id", device="desktop",
        session="s1", site_id=None):  # fmt: skip
    """A row of rum_event as the insert takes it."""
    at = at or timezone.now()
    return {
        "site_id": site_id or Site.objects.get(name="Shop").id,
        "event_key": f"{view_id}:{kind}:{name}:{value}:{at.isoformat()}",
        "received_at": at.isoformat() if at.microsecond % 2 else at,
        "session_id": session, "page_view_id": view_id, "kind": kind, "host": "shop.example.com",
        "page": page, "route": "", "name": name, "value": value, "delta": value, "rating": "",
        "navigation_type": "", "target": "", "device": device, "browser": "", "os": "",
        "connection": "", "server_ms": None, "db_ms": None, "message": "", "fingerprint": "",
        "detail": {},
    }  # fmt: skip


def eval_items(inbox_row):
    import json

    return json.loads(inbox_row.events)


def kept_pages():
    return set(HourPage.objects.filter(kept=True).values_list("page", flat=True))


def rollup_table() -> dict:
    return {
        (r.site_id, r.hour, r.page, r.metric, r.device): (
            r.count, r.good, r.needs_improvement, r.poor, sketch.decode(r.histogram),
        )
        for r in Rollup.objects.all()
    }  # fmt: skip


def recount(limit: int) -> dict:
    """The rollups, counted from scratch from rum_event by the rules."""
    events: dict[tuple, list] = {}
    for e in Event.objects.filter(kind__in=["pageview", "vital"]).values():
        events.setdefault((e["site_id"], e["page_view_id"]), []).append(e)
    views = []
    for (site_id, _), found in events.items():
        first = min(e["received_at"] for e in found)
        pageviews = [e for e in found if e["kind"] == "pageview"]
        source = min(pageviews or found, key=lambda e: (e["received_at"], e["page"], e["device"]))
        values = {}
        for e in found:
            if e["kind"] == "vital" and e["value"] is not None:
                values[e["name"]] = max(e["value"], values.get(e["name"], e["value"]))
        hour = first.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        views.append((site_id, hour, first, source["page"], source["device"], values))
    first_seen: dict[tuple, datetime] = {}
    for site_id, hour, first, page, _, _ in views:
        key = (site_id, hour, page)
        first_seen[key] = min(first, first_seen.get(key, first))
    kept = set()
    for site_id, hour in {(s, h) for s, h, _ in first_seen}:
        pages = sorted((t, p) for (s, h, p), t in first_seen.items() if (s, h) == (site_id, hour))
        kept |= {(site_id, hour, p) for _, p in pages[:limit]}
    table: dict[tuple, list] = {}

    def at(*key):
        return table.setdefault(key, [0, 0, 0, 0, Counter()])

    for site_id, hour, _, page, device, values in views:
        page = page if (site_id, hour, page) in kept else fold.OTHER_PAGES
        at(site_id, hour, page, "PV", device)[0] += 1
        core = [vitals.VITALS[n].rate(values[n]) for n in vitals.CORE if n in values]
        if core:
            cwv = at(site_id, hour, page, "CWV", device)
            cwv[0] += 1
            cwv[1 if all(r == vitals.GOOD for r in core) else 3] += 1
        for name, value in values.items():
            figures = at(site_id, hour, page, name, device)
            figures[0] += 1
            figures[1 + vitals.RATINGS.index(vitals.VITALS[name].rate(value))] += 1
            figures[4][sketch.bucket_index(value)] += 1
    return {key: (*f[:4], dict(f[4])) for key, f in table.items()}


def assert_rollups_match_the_raw_events(limit: int) -> None:
    expected, actual = recount(limit), rollup_table()
    assert set(actual) == set(expected)
    for key, figures in expected.items():
        assert actual[key] == figures, key
