from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.sources import Query, SourceError, get_source
from lib import sketch
from rum.models import Rollup, Site

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def rollups(db):
    shop = Site.objects.create(name="shop", public_key="k1")
    blog = Site.objects.create(name="blog", public_key="k2")
    for h in range(6):
        hour = T0 - (h + 1) * HOUR
        for site, device, lcp, passed in [
            (shop, "mobile", 4000.0 + 100 * h, 2),
            (shop, "desktop", 1500.0, 9),
            (blog, "mobile", 2000.0, 7),
        ]:
            stored = sketch.encode(sketch.build([lcp] * 10))
            Rollup.objects.create(site=site, hour=hour, page="/", metric="LCP", device=device,
                                  count=10, histogram=stored)  # fmt: skip
            Rollup.objects.create(site=site, hour=hour, page="/", metric="CWV", device=device,
                                  count=10, good=passed, poor=10 - passed)  # fmt: skip


def close(a, b):
    return abs(a - b) / b < 0.01


def test_vital_p75_per_device_over_the_window(rollups):
    source = get_source("rum.vital_p75")
    query = Query.build("p75", 2 * HOUR, {"vital": "LCP", "site": "shop"}, group_by=["device"])
    [values] = source.evaluate([query], T0)
    assert set(values) == {(("device", "desktop"),), (("device", "mobile"),)}
    assert close(values[(("device", "desktop"),)], 1500)
    assert close(values[(("device", "mobile"),)], 4100)  # hours T0-1h (4000) and T0-2h (4100)


def test_a_window_reads_every_hour_it_overlaps(rollups):
    """Mid-hour, an hour's window reaches into the hour before; just after the hour
    begins it still holds the hour that ended, not a minute of nothing."""
    source = get_source("rum.vital_p75")
    query = Query.build("p75", HOUR, {"vital": "LCP", "site": "shop", "device": "mobile"})
    [mid_hour] = source.evaluate([query], T0 - HOUR / 2)
    [hour_begun] = source.evaluate([query], T0 + timedelta(minutes=1))
    assert close(mid_hour[()], 4100)  # hours T0-2h (4100) and T0-1h (4000)
    assert close(hour_begun[()], 4000)  # hour T0-1h; the T0 hour has no rows yet


def test_good_share_is_the_percent_of_assessed_page_views_passing(rollups):
    source = get_source("rum.good_share")
    split = Query.build("ratio", HOUR, group_by=["site"])
    whole = Query.build("ratio", 3 * HOUR, {"device": "mobile"})
    values = source.evaluate([split, whole], T0)
    assert values[0] == {(("site", "blog"),): 70.0, (("site", "shop"),): 55.0}
    assert values[1] == {(): 45.0}


def test_many_queries_cost_one_database_query(rollups):
    source = get_source("rum.vital_p75")
    queries = [
        Query.build("p75", w * HOUR, {"vital": v}, group_by=["site"])
        for w in (1, 3, 6) for v in ("LCP", "INP", "CLS")
    ]  # fmt: skip
    with CaptureQueriesContext(connection) as captured:
        source.evaluate(queries, T0)
    assert len(captured) == 1


def test_no_data_leaves_the_label_set_out(rollups):
    source = get_source("rum.vital_p75")
    [values] = source.evaluate([Query.build("p75", HOUR, {"vital": "INP"})], T0)
    assert values == {}


@pytest.mark.parametrize("key", ["rum.vital_p75", "rum.good_share"])
def test_series_agrees_with_evaluate(rollups, key):
    source = get_source(key)
    params = {"vital": "LCP"} if key == "rum.vital_p75" else {}
    aggregation = "p75" if key == "rum.vital_p75" else "ratio"
    query = Query.build(aggregation, 2 * HOUR, params, group_by=["site", "device"])
    points = source.series(query, T0 - 5 * HOUR, T0, timedelta(minutes=30))
    assert len(points) == 11
    assert any(value for _, value in points)
    for at, value in points:
        assert value == source.evaluate([query], at)[0]


def test_an_unknown_vital_is_refused():
    with pytest.raises(SourceError, match="vital must be one of"):
        get_source("rum.vital_p75").validate(Query.build("p75", HOUR, {"vital": "FID"}))


def test_label_values_offer_sites_pages_and_devices(rollups):
    source = get_source("rum.good_share")
    assert source.label_values("site") == ["blog", "shop"]
    assert source.label_values("page") == ["/"]
    assert "mobile" in source.label_values("device")
