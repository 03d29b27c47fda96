"""The one client-address rule where addresses are read: RUM throttle and /metrics."""

import json
import uuid

import pytest
from django.test import Client

from rum.models import Site

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)


@pytest.fixture
def site(db, settings):
    settings.RUM_THROTTLE_RATE = "3/min"
    from rum.sites import forget_cached_sites

    forget_cached_sites()
    return Site.objects.create(name="Shop", public_key="shop-key", allowed_origins=ORIGIN)


def beacon(client, **extra) -> int:
    body = {
        "key": "shop-key",
        "session": uuid.uuid4().hex,
        "page_view": uuid.uuid4().hex,
        "url": f"{ORIGIN}/",
        "events": [{"id": uuid.uuid4().hex, "type": "pageview", "title": "Home"}],
    }
    response = client.post(
        "/api/rum/beacon/",
        data=json.dumps(body),
        content_type="text/plain;charset=UTF-8",
        HTTP_ORIGIN=ORIGIN,
        HTTP_USER_AGENT=CHROME,
        **extra,
    )
    return response.status_code


def test_rotating_x_forwarded_for_does_not_lift_the_beacon_throttle(site, settings):
    settings.TRUSTED_PROXIES = []
    client = Client(REMOTE_ADDR="203.0.113.5")
    codes = [beacon(client, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}") for i in range(6)]
    assert codes == [202, 202, 202, 429, 429, 429]


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(site, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    first = [beacon(proxy, HTTP_X_FORWARDED_FOR="198.51.100.1") for _ in range(4)]
    second = [beacon(proxy, HTTP_X_FORWARDED_FOR="198.51.100.2") for _ in range(4)]
    assert first == [202, 202, 202, 429]
    assert second == [202, 202, 202, 429]
    # A client cannot borrow another's budget by writing the header itself.
    spoofed = beacon(proxy, HTTP_X_FORWARDED_FOR="198.51.100.3, 198.51.100.1")
    assert spoofed == 429


def test_metrics_allow_list_believes_the_forwarded_client_only_from_a_trusted_proxy(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["192.0.2.0/24"]
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    via_proxy = Client(REMOTE_ADDR="10.0.0.1")
    assert via_proxy.get("/metrics", HTTP_X_FORWARDED_FOR="192.0.2.7").status_code == 200
    assert via_proxy.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 403
    stranger = Client(REMOTE_ADDR="203.0.113.7")
    assert stranger.get("/metrics", HTTP_X_FORWARDED_FOR="192.0.2.7").status_code == 403
