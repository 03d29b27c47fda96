"""A hung Redis (a real redis-server, SIGSTOPped) must not stall the site: the breaker skips
it after one timeout, requests and beacons go to the database, pages say what is missing."""

import json
import time

import pytest
from django.urls import reverse

from config.redis_client import breaker, get_redis
from config.tasks import record_heartbeat
from monitoring import fold
from monitoring.models import ALL, MINUTE, LiveAggregate, Rollup
from monitoring.recorder import REQUEST
from monitoring.recorder import recorder as the_recorder
from rum import ingest
from rum.models import Event, Site
from tests.rum.conftest import CHROME_DESKTOP, ORIGIN, beacon, post
from tests.support import redis_server, wait_until

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def site(db):
    return Site.objects.create(name="Shop", public_key="shop-key", allowed_origins=ORIGIN)


@pytest.fixture
def own_redis(tmp_path, settings):
    """Every Redis client of the product (data, cache) pointed at a redis-server of our own."""
    with redis_server(tmp_path) as server:
        settings.REDIS_URL = server.url
        settings.REDIS_SOCKET_TIMEOUT = 0.3
        settings.REDIS_BREAKER_SECONDS = 60  # no probe during the test unless it says so
        settings.RUM_THROTTLE_RATE = "1000/s"  # the throttle reads the cache on every beacon
        settings.CACHES = {
            "default": {
                "BACKEND": "config.redis_cache.BreakerRedisCache",
                "LOCATION": server.url,
                "OPTIONS": {"socket_timeout": 0.3, "socket_connect_timeout": 0.3},
            }
        }
        yield server
        server.resume()


def test_after_one_timeout_redis_is_skipped_and_everything_answers(own_redis, site, admin_client):
    record_heartbeat()
    assert post(admin_client, beacon()).status_code == 202
    assert Event.objects.count() == 6  # queued, then drained: Redis works

    own_redis.pause()
    sent = beacon()
    response = post(admin_client, sent)
    assert response.status_code == 202
    assert Event.objects.count() == 12  # written directly, nothing waits in the hung Redis
    # One trip, or one per thread that met the hang at the same moment (the recorder's
    # background flush, started by an earlier test, may be one of them).
    tripped = breaker.trips
    assert tripped >= 1

    page = admin_client.get(reverse("admin:dashboard", args=["performance"]))
    assert page.status_code == 200
    assert "Redis is not answering" in page.content.decode()
    assert admin_client.get("/api/monitoring/overview/").status_code == 200
    health = admin_client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert set(health.json()["failing"]) == {"broker", "cache"}
    assert "Redis is not answering" in health.json()["checks"]["cache"]["detail"]
    assert post(admin_client, beacon()).status_code == 202
    assert Event.objects.count() == 18
    # Five requests (with the throttle's cache reads) after the first: none waited on Redis.
    assert breaker.trips == tripped


def test_request_metrics_go_to_the_database_while_redis_hangs_and_are_folded(own_redis):
    the_recorder.reset()  # what earlier tests' requests recorded
    at = time.time() - 180
    for i in range(4):
        the_recorder.record(REQUEST, "/a/", "GET", "2xx", 10.0 + i, False, at=at)
    own_redis.pause()
    assert the_recorder.flush() is True  # not held in the process until Redis is back
    assert LiveAggregate.objects.filter(name="/a/").exists()
    fold.fold(now=time.time() + 180)
    counts = Rollup.objects.filter(resolution=MINUTE, kind=REQUEST, name__in=["/a/", ALL])
    assert sorted(counts.values_list("count", flat=True)) == [4, 4]


def test_redis_is_used_again_once_a_probe_finds_it_answering(own_redis, site, client, settings):
    own_redis.pause()
    assert post(client, beacon()).status_code == 202
    assert breaker.is_open()
    own_redis.resume()
    settings.REDIS_BREAKER_SECONDS = 0.2
    breaker.open_until = time.monotonic()  # the skip period is over: the next use probes
    wait_until(lambda: not breaker.is_open(), timeout=10, message="Redis never probed again")
    response = client.post(
        "/api/rum/beacon/",
        data=json.dumps(beacon()),
        content_type="text/plain",
        HTTP_ORIGIN=ORIGIN,
        HTTP_USER_AGENT=CHROME_DESKTOP,
    )
    assert response.status_code == 202
    # Queued again (then drained by the eager task), not written directly: this beacon's is
    # the one add Redis ran (during the hang the breaker, tripped by the throttle's cache
    # read, skipped Redis before the add was sent).
    assert get_redis().info("commandstats")["cmdstat_xadd"]["calls"] == 1
    ingest.drain()
    assert Event.objects.count() == 12
