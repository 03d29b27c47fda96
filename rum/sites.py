"""Which site a beacon belongs to, which origins may send, and which sessions are sampled.

Sites are read on every beacon, so each process keeps them for a few seconds:
an edit in the admin takes effect at once in the process that saved it and
within CACHE_SECONDS everywhere else.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from rum.models import Site

CACHE_SECONDS = 10.0
_ORIGINS = "origins"


@dataclass(frozen=True)
class SiteInfo:
    id: int
    origins: frozenset[str]
    sample_rate: float
    consent_required: bool


_local: dict[str, tuple[float, object]] = {}
_lock = threading.Lock()


def _remembered(key: str, load):
    now = time.monotonic()
    found = _local.get(key)
    if found is not None and found[0] > now:
        return found[1]
    value = load()
    with _lock:
        _local[key] = (now + CACHE_SECONDS, value)
    return value


def _load_site(public_key: str) -> SiteInfo | None:
    site = Site.objects.filter(public_key=public_key).first()
    if site is None:
        return None
    origins = frozenset(site.origin_list())
    return SiteInfo(site.id, origins, site.sample_rate, site.consent_required)


def site_for_key(public_key: str) -> SiteInfo | None:
    return _remembered(f"site:{public_key}", lambda: _load_site(public_key))


def any_site_allows(origin: str) -> bool:
    """For CORS preflights, which carry no key: may this origin send to some site?"""
    origins = _remembered(
        _ORIGINS, lambda: frozenset(o for site in Site.objects.all() for o in site.origin_list())
    )
    return origin.rstrip("/") in origins


def sample_bucket(session: str) -> int:
    """FNV-1a 32 of the session id, mod 10 000: the same hash as the script's."""
    value = 0x811C9DC5
    for unit in session.encode():  # validated ASCII: one byte per character, as in JS
        value = ((value ^ unit) * 0x01000193) & 0xFFFFFFFF
    return value % 10_000


def sampled(site: SiteInfo, session: str) -> bool:
    return site.sample_rate >= 1 or sample_bucket(session) < site.sample_rate * 10_000


def forget_cached_sites() -> None:
    with _lock:
        _local.clear()


@receiver([post_save, post_delete], sender=Site)
def _forget_site(sender, instance, **kwargs):
    forget_cached_sites()
