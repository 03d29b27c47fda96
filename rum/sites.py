"""Which site a beacon belongs to, which origins may send, and which sessions are sampled."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from rum.models import Site

CACHE_SECONDS = 60
ORIGINS_KEY = "rum:origins"


@dataclass(frozen=True)
class SiteInfo:
    id: int
    origins: frozenset[str]
    sample_rate: float
    consent_required: bool


def _site_key(public_key: str) -> str:
    return f"rum:site:{public_key}"


def _cached(key: str):
    try:
        return cache.get(key)
    except Exception:  # Redis down: the database answers, a little slower
        return None


def _remember(key: str, value) -> None:
    with contextlib.suppress(Exception):
        cache.set(key, value, CACHE_SECONDS)


def site_for_key(public_key: str) -> SiteInfo | None:
    key = _site_key(public_key)
    found = _cached(key)
    if found is None:
        site = Site.objects.filter(public_key=public_key).first()
        found = (
            SiteInfo(
                site.id, frozenset(site.origin_list()), site.sample_rate, site.consent_required
            )
            if site
            else False
        )
        _remember(key, found)
    return found or None


def any_site_allows(origin: str) -> bool:
    """For CORS preflights, which carry no key: may this origin send to some site?"""
    origins = _cached(ORIGINS_KEY)
    if origins is None:
        origins = frozenset(o for site in Site.objects.all() for o in site.origin_list())
        _remember(ORIGINS_KEY, origins)
    return origin.rstrip("/") in origins


def sample_bucket(session: str) -> int:
    """FNV-1a 32 of the session id, mod 10 000: the same hash as the script's."""
    value = 0x811C9DC5
    for unit in session.encode():  # validated ASCII: one byte per character, as in JS
        value = ((value ^ unit) * 0x01000193) & 0xFFFFFFFF
    return value % 10_000


def sampled(site: SiteInfo, session: str) -> bool:
    return site.sample_rate >= 1 or sample_bucket(session) < site.sample_rate * 10_000


@receiver([post_save, post_delete], sender=Site)
def _forget_site(sender, instance, **kwargs):
    with contextlib.suppress(Exception):
        cache.delete_many([ORIGINS_KEY, _site_key(instance.public_key)])
