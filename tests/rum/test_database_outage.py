"""PostgreSQL down (a real one, behind a TCP proxy the test cuts): beacons are still
accepted into Redis, errors are JSON with CORS, drains back off, and every accepted
beacon lands once the database is back."""

import json

import pytest
from django.db import connection

from config.redis_client import get_redis
from rum import ingest, queue_redis, sites
from rum.models import Event, Site
from tests.rum.conftest import CHROME_DESKTOP, ORIGIN, beacon
from tests.support import TcpProxy, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def database(transactional_db):
    """The Django connection goes through a proxy the test can stop (the database looks down)."""
    params = connection.settings_dict
    saved = params["HOST"], params["PORT"]
    proxy = TcpProxy(int(params["PORT"] or 5432), params["HOST"] or "127.0.0.1").start()
    connection.close()
    params["HOST"], params["PORT"] = "127.0.0.1", proxy.port
    yield proxy
    connection.close()
    params["HOST"], params["PORT"] = saved
    proxy.stop()


def send(client, body):
    return client.post(
        "/api/rum/beacon/",
        data=json.dumps(body),
        content_type="text/plain;charset=UTF-8",
        HTTP_ORIGIN=ORIGIN,
        HTTP_USER_AGENT=CHROME_DESKTOP,
    )


def test_beacons_accepted_during_an_outage_land_after_it(database, client, monkeypatch):
    Site.objects.create(name="Shop", public_key="shop-key", allowed_origins=ORIGIN)
    # Every beacon asks the database, as once the per-process memory of 10 s expires.
    monkeypatch.setattr(sites, "CACHE_SECONDS", 0)
    accepted = [beacon()]
    assert send(client, accepted[0]).status_code == 202
    assert Event.objects.count() == 6

    database.stop()
    for _ in range(3):
        accepted.append(beacon())
        response = send(client, accepted[-1])
        assert response.status_code == 202, response.content
        assert response.json() == {"accepted": 6}
    sites.forget_cached_sites()  # a process started during the outage: Redis's copy serves
    accepted.append(beacon())
    assert send(client, accepted[-1]).status_code == 202

    unknown = send(client, beacon(key="never-seen-key"))
    assert unknown.status_code == 503
    assert unknown["Content-Type"] == "application/json"
    assert "send later" in unknown.json()["detail"]
    assert unknown["Access-Control-Allow-Origin"] == ORIGIN
    assert int(unknown["Retry-After"]) > 0

    # The beacons' own drain requests failed once; drains now pause instead of piling up.
    assert ingest.drain() == 0
    assert ingest.drain() == 0
    assert int(get_redis().get(queue_redis.failures_key())) == 1

    database.start()
    # Within a pause (not the 60 s lease of the claim the failed drain held).
    wait_until(lambda: ingest.drain() > 0, timeout=10, message="the queue was not taken")
    ingest.drain()
    assert ingest.backlog() == 0
    stored = set(Event.objects.values_list("page_view_id", flat=True))
    assert stored == {b["page_view"] for b in accepted}
    assert Event.objects.count() == 6 * len(accepted)
