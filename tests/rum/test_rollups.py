"""Hourly rollups: rebuilt from raw events, idempotent, per page view."""

import pytest

from lib import sketch
from rum import rollups
from rum.models import DirtyHour, Event, Rollup
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
    assert rollups.rebuild_dirty() >= 1

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
    assert DirtyHour.objects.count() == 0


def test_rebuilding_again_gives_the_same_rollups(client, site):
    post(client, view(1000.0))
    rollups.rebuild_dirty()

    def stored():
        rows = Rollup.objects.values_list("hour", "page", "metric", "device", "count", "histogram")
        return sorted(str((*row[:5], bytes(row[5]))) for row in rows)

    first = stored()
    hour = Rollup.objects.first().hour
    rollups.rebuild_hour(site.id, hour)
    rollups.rebuild_hour(site.id, hour)
    assert stored() == first


def test_a_vital_reported_twice_in_one_page_view_counts_once_with_its_final_value(client, site):
    body = beacon([vital("CLS", 0.05, delta=0.05)], page_view="pv1")
    post(client, body)
    post(client, {**body, "events": [vital("CLS", 0.3, delta=0.25)]})
    rollups.rebuild_dirty()
    cls = rollup("CLS")
    assert (cls.count, cls.poor) == (1, 1)


def test_late_events_mark_their_hour_again_and_are_rolled_up(client, site):
    post(client, view(1000.0, page_view="pv1"))
    rollups.rebuild_dirty()
    post(client, beacon([vital("FCP", 700.0)], page_view="pv1"))
    assert DirtyHour.objects.exists()
    rollups.rebuild_dirty()
    assert rollup("FCP").count == 1
    assert rollup("PV").count == 1


def test_forgetting_a_session_deletes_its_events_and_rollups(client, site):
    post(client, view(1000.0, session="visitor1"))
    post(client, view(5000.0, session="visitor2"))
    rollups.rebuild_dirty()
    assert rollup("PV").count == 2

    assert forget_sessions(["visitor2"]) == 5
    rollups.rebuild_dirty()
    assert not Event.objects.filter(session_id="visitor2").exists()
    assert rollup("PV").count == 1
    assert rollup("LCP").poor == 0


def test_pages_past_the_hours_limit_share_one_other_pages_row(client, site, settings):
    """Page paths come from anyone with the public key: an hour keeps its busiest few."""
    settings.RUM_MAX_PAGES_PER_HOUR = 3
    for n in range(30):
        repeat = 3 if n < 3 else 1  # /popular-0..2 are the busiest
        for _ in range(repeat):
            post(
                client,
                view(1000.0 + n, page_view=None) | {"url": f"https://shop.example.com/popular-{n}"},
            )
    rollups.rebuild_dirty()
    pages = set(Rollup.objects.values_list("page", flat=True))
    assert pages == {"/popular-0", "/popular-1", "/popular-2", rollups.OTHER_PAGES}
    other = Rollup.objects.get(page=rollups.OTHER_PAGES, metric="PV")
    assert other.count == 27
    assert Rollup.objects.get(page=rollups.OTHER_PAGES, metric="LCP").count == 27
