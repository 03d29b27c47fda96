"""Demo data: a site and a few days of realistic beacons, topped up to now on each run.

Mobile is slower than desktop; /checkout/ has a poor LCP, /search/ a bad INP,
and a few JS errors recur. Each hour is generated from its own seed with
stable idempotency keys, so a second run only adds the hours since the last.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from rum import fold, ingest, vitals
from rum.models import Event, Site
from rum.views import DEMO_SITE_NAME

DAYS = 3
HOUR = timedelta(hours=1)
# page, route, weight, LCP median (ms), INP median (ms), CLS median
PAGES = [
    ("/rum/demo/", "/rum/demo/", 30, 1300, 80, 0.02),
    ("/rum/demo/products/:id/", "/rum/demo/products/<int:product_id>/", 35, 1600, 110, 0.04),
    ("/checkout/", "", 10, 4300, 150, 0.05),
    ("/search/", "", 15, 1700, 520, 0.03),
    ("/account/orders/:id/", "", 10, 2100, 160, 0.16),
]
DEVICES = [("mobile", 0.55, 1.35), ("desktop", 0.4, 1.0), ("tablet", 0.05, 1.2)]
BROWSERS = {"mobile": ("Chrome Mobile 124", "Android"), "desktop": ("Chrome 124", "Windows"),
            "tablet": ("Mobile Safari 17", "iOS")}  # fmt: skip
ERRORS = [
    ("TypeError: Cannot read properties of undefined (reading 'total')",
     "/static/js/checkout.js", 214, "/checkout/"),
    ("ReferenceError: gtag is not defined", "/static/js/analytics.js", 3, "/rum/demo/"),
    ("Unhandled rejection: Failed to fetch", "", 0, "/search/"),
]  # fmt: skip


def ensure_site() -> Site:
    site, _ = Site.objects.get_or_create(
        name=DEMO_SITE_NAME, defaults={"public_key": "demo-shop-key"}
    )
    origins = set(site.origin_list())
    base = urlsplit(settings.SITE_URL)
    origins |= {f"{base.scheme}://{base.netloc}", f"http://localhost:{base.port or 80}"}
    if origins != set(site.origin_list()):
        site.allowed_origins = "\n".join(sorted(origins))
        site.save()
    return site


def tick(stdout) -> None:
    """A running demo's next minute: the page views of the current hour up to now."""
    load(stdout)


def load(stdout) -> None:
    site = ensure_site()
    now = timezone.now()
    first = (now - timedelta(days=DAYS)).replace(minute=0, second=0, microsecond=0)
    latest = (
        Event.objects.filter(site=site, event_key__startswith="demo:")
        .order_by("-received_at")
        .values_list("received_at", flat=True)
        .first()
    )
    hour = max(first, latest.replace(minute=0, second=0, microsecond=0)) if latest else first
    rows = []
    while hour <= now:
        rows.extend(hour_rows(site.id, hour, now))
        hour += HOUR
    ingest.insert_rows(rows)
    rolled_up = fold.drain_inbox()
    stdout.write(
        f"  RUM: site {site.name!r} (key {site.public_key}), {len(rows)} events generated, "
        f"{rolled_up} rolled up; demo page at {settings.SITE_URL}/rum/demo/"
    )


def _lognormal(rng: random.Random, median: float, spread: float = 0.45) -> float:
    return median * math.exp(rng.gauss(0, spread))


def hour_rows(site_id: int, hour: datetime, now: datetime) -> list[dict]:
    """One hour of page views (busier in the day), each with its vitals."""
    rng = random.Random(int(hour.timestamp()))  # noqa: S311 (demo data, not secrets)
    busy = 1 + 0.6 * math.sin((hour.hour - 8) / 24 * 2 * math.pi)
    host = urlsplit(settings.SITE_URL).hostname or "127.0.0.1"
    rows = []
    for n in range(int(40 * busy)):
        moment = hour + timedelta(seconds=rng.uniform(0, 3599))
        page, route, _, lcp, inp, cls = rng.choices(PAGES, weights=[p[2] for p in PAGES])[0]
        device, _, slow = rng.choices(DEVICES, weights=[d[1] for d in DEVICES])[0]
        browser, os_name = BROWSERS[device]
        base = {
            "site_id": site_id, "received_at": moment, "session_id": f"demo{rng.getrandbits(48):x}",
            "page_view_id": f"demo{int(hour.timestamp())}x{n}", "host": host, "page": page,
            "route": route, "navigation_type": "navigate", "device": device, "browser": browser,
            "os": os_name, "connection": "4g", "server_ms": None, "db_ms": None, "message": "",
            "fingerprint": "", "delta": None, "value": None, "rating": "", "target": "",
            "name": "", "detail": {},
        }  # fmt: skip
        key = f"demo:{int(hour.timestamp())}:{n}"
        ttfb = _lognormal(rng, 320 * slow)
        server = min(ttfb * 0.9, _lognormal(rng, 140, 0.3))
        values = {
            "TTFB": ttfb,
            "FCP": ttfb + _lognormal(rng, 700 * slow),
            "LCP": _lognormal(rng, lcp * slow),
            "INP": _lognormal(rng, inp * slow, 0.5),
            "CLS": max(0.0, _lognormal(rng, cls, 0.8) - 0.01),
        }
        values["LCP"] = max(values["LCP"], values["FCP"])
        rows.append({**base, "event_key": f"{key}:pv", "kind": Event.PAGEVIEW,
                     "server_ms": server, "db_ms": server * 0.3,
                     "detail": {"title": "Demo shop", "referrer": ""}})  # fmt: skip
        for name, value in values.items():
            rows.append(_vital(base, f"{key}:{name}", name, value, server, page, rng))
        if rng.random() < 0.04:
            message, source, line, where = rng.choice(ERRORS)
            rows.append(_error(base, f"{key}:err", message, source, line, where))
    # The whole hour is drawn every time, so each event is the same whenever it is kept.
    return [row for row in rows if row["received_at"] <= now]


def _vital(base, key, name, value, server, page, rng) -> dict:
    targets = {
        "LCP": "main>img.hero" if page != "/checkout/" else "div.payment>img.banner",
        "INP": "button#heavy" if page != "/search/" else "input#q",
        "CLS": "div#banner-slot",
    }
    row = {**base, "event_key": key, "kind": Event.VITAL, "name": name, "value": value,
           "delta": value, "rating": vitals.VITALS[name].rate(value),
           "target": targets.get(name, ""), "detail": {"attribution": {}}}  # fmt: skip
    if name == "TTFB":
        row.update(server_ms=server, db_ms=server * 0.3)
    if name == "INP" and rng.random() < 0.3:
        row["target"] = "a.product-card"
    return row


def _error(base, key, message, source, line, where) -> dict:
    from rum.beacon import fingerprint

    return {**base, "event_key": key, "kind": Event.ERROR, "page": where, "name": "error",
            "message": message, "fingerprint": fingerprint(message, "", source, line),
            "detail": {"source": source, "line": line, "column": 7, "stack": ""}}  # fmt: skip
