import itertools
import uuid

import pytest

from rum.models import Site

ORIGIN = "https://shop.example.com"
CHROME_DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
_ids = itertools.count(1)


@pytest.fixture
def site(db):
    return Site.objects.create(name="Shop", public_key="shop-key", allowed_origins=ORIGIN)


def vital(name, value, **extra):
    return {"id": f"e{next(_ids)}", "type": "vital", "name": name, "value": value, **extra}


def beacon(events=None, **overrides):
    """A realistic beacon: a page view with its five vitals (override anything)."""
    if events is None:
        events = [
            {"id": f"e{next(_ids)}", "type": "pageview", "title": "Order", "referrer": ""},
            vital("LCP", 2100.0, attribution={"target": "main>img.hero", "url": "/hero.jpg?v=2"}),
            vital("INP", 120.0, attribution={"target": "button#buy", "interaction": "pointer"}),
            vital("CLS", 0.05, attribution={"target": "div#banner"}),
            vital("FCP", 900.0),
            vital("TTFB", 300.0),
        ]
    body = {
        "key": "shop-key",
        "session": uuid.uuid4().hex,
        "page_view": uuid.uuid4().hex,
        "url": f"{ORIGIN}/orders/12345?coupon=SECRET#items",
        "device": {"viewport_width": 1280, "viewport_height": 800, "connection": "4g"},
        "navigation": {"type": "navigate"},
        "server_timing": [{"name": "app", "duration": 120.0}, {"name": "db", "duration": 30.0}],
        "events": events,
    }
    body.update(overrides)
    return body


def post(client, body, origin=ORIGIN, content_type="text/plain;charset=UTF-8", ua=CHROME_DESKTOP):
    """Send a beacon as a browser would, then let queued events reach the database."""
    import json

    from rum import ingest

    data = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {"HTTP_USER_AGENT": ua}
    if origin:
        headers["HTTP_ORIGIN"] = origin
    response = client.post("/api/rum/beacon/", data=data, content_type=content_type, **headers)
    ingest.drain()  # with Redis, accepted events wait in the queue until a drain
    return response


@pytest.fixture(autouse=True)
def _fresh_site_cache():
    from rum.sites import forget_cached_sites

    forget_cached_sites()
