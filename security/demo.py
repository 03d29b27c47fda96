"""Demo data: three days of logins, failed logins from a few scanners, a lockout a day.

The events are written directly (no login is performed); a running demo adds a
failed login or two each minute, so the failed-logins alert source has live data.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from security import models
from security.models import SecurityEvent

DAYS = 3
CHROME = "browser"
STAFF = [("demo", "192.0.2.10"), ("alice", "192.0.2.23"), ("bob", "198.51.100.14")]
SCANNERS = [("203.0.113.50", "script"), ("203.0.113.77", "bot"), ("198.51.100.200", "script")]
GUESSED = ["admin", "root", "administrator", "demo", "test", "alice"]
LOGIN_PATH = "/admin/login/"


def load(stdout) -> None:
    scanners = [address for address, _ in SCANNERS]
    if SecurityEvent.objects.filter(kind=models.LOCKOUT, address__in=scanners).exists():
        stdout.write("  security events already loaded")
        return
    rng = random.Random(7)  # noqa: S311  (demo data, not secrets)
    now = timezone.now()
    rows: list[SecurityEvent] = []
    for day in range(DAYS, -1, -1):
        midnight = (now - timedelta(days=day)).replace(hour=0, minute=0, second=0, microsecond=0)
        for username, address in STAFF:
            for hour in (8, 13):
                at = midnight + timedelta(hours=hour, minutes=rng.randint(0, 50))
                if at >= now:
                    continue
                rows.append(_event(models.LOGIN, at, username, address, CHROME))
                if rng.random() < 0.2:  # a typo first
                    rows.append(_event(models.LOGIN_FAILED, at - timedelta(seconds=20),
                                       username, address, CHROME))  # fmt: skip
                rows.append(_event(models.LOGOUT, at + timedelta(hours=3), username, address,
                                   CHROME, path="/admin/logout/"))  # fmt: skip
        # A scanner's burst against the usual names, ending in a lockout.
        address, client = SCANNERS[day % len(SCANNERS)]
        burst = midnight + timedelta(hours=rng.randint(1, 22), minutes=rng.randint(0, 59))
        if burst < now:
            for i in range(12):
                rows.append(_event(models.LOGIN_FAILED, burst + timedelta(seconds=7 * i),
                                   rng.choice(GUESSED), address, client))  # fmt: skip
            rows.append(_event(models.LOCKOUT, burst + timedelta(seconds=28), "admin", address,
                               client, detail="login refused"))  # fmt: skip
    # The last hour: a trickle of guesses, a lockout, a refused page, Prometheus scraping.
    for minutes in range(2, 60, 4):
        address, client = SCANNERS[minutes % len(SCANNERS)]
        rows.append(_event(models.LOGIN_FAILED, now - timedelta(minutes=minutes),
                           rng.choice(GUESSED), address, client))  # fmt: skip
    rows.append(_event(models.LOCKOUT, now - timedelta(minutes=25), "root", "203.0.113.50",
                       "script", detail="login refused"))  # fmt: skip
    rows.append(_event(models.PERMISSION_DENIED, now - timedelta(minutes=40), "bob",
                       "198.51.100.14", CHROME, path="/admin/dashboards/alerts/",
                       detail="GET answered 403"))  # fmt: skip
    rows.append(_event(models.TOKEN_USED, now - timedelta(minutes=50), "", "127.0.0.1", "bot",
                       path="/metrics", detail="/metrics bearer token"))  # fmt: skip
    SecurityEvent.objects.bulk_create(rows)
    stdout.write(f"  {len(rows)} security events")


def tick(stdout) -> None:
    """A running demo's minute: a scanner guesses a password or two."""
    rng = random.Random()  # noqa: S311
    address, client = rng.choice(SCANNERS)
    now = timezone.now()
    SecurityEvent.objects.bulk_create(
        _event(models.LOGIN_FAILED, now - timedelta(seconds=rng.randint(0, 59)),
               rng.choice(GUESSED), address, client)
        for _ in range(rng.randint(1, 2))
    )  # fmt: skip


def _event(kind, at, username, address, client, path=LOGIN_PATH, detail=""):
    return SecurityEvent(kind=kind, at=at, username=username, address=address,
                         user_agent_class=client, path=path, detail=detail)  # fmt: skip
