"""Which site a beacon belongs to, which origins may send, and which sessions are sampled.

Sites are read on every beacon, so each process keeps them for a few seconds:
an edit in the admin takes effect at once in the process that saved it and
within CACHE_SECONDS everywhere else.

While the database is unreachable, beacons are still accepted (Redis queues them): a
process keeps using what it last read, and one that never read a site (just started)
takes the copy kept in Redis. Only a key unknown to both is refused, with a 503 the
endpoint answers as JSON (`SitesUnavailable`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass

import orjson
import redis
from django.db import DatabaseError
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from config.redis_client import get_redis, redis_available, redis_key
from rum.models import Site

log = logging.getLogger(__name__)

CACHE_SECONDS = 10.0
_ORIGINS = "origins"
# The Redis copy only serves while the database is away; an edit clears it.
REDIS_COPY_SECONDS = 7 * 86400


class SitesUnavailable(Exception):
    """The database is unreachable and no copy of what was asked is known."""


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
    try:
        value = load()
    except DatabaseError as exc:
        if found is not None:  # the last known answer beats refusing real data
            return found[1]
        copied = _redis_copy(key)
        if copied is not _MISSING:
            log.warning("database unreachable (%s): using Redis's copy of %s", exc, key)
            with _lock:
                _local[key] = (now + CACHE_SECONDS, copied)
            return copied
        raise SitesUnavailable(str(exc)) from exc
    with _lock:
        _local[key] = (now + CACHE_SECONDS, value)
    _keep_copy(key, value)
    return value


_MISSING = object()


def _copies_key() -> str:
    return redis_key("rum", "sites")


def _encode(value) -> bytes:
    if isinstance(value, SiteInfo):
        return orjson.dumps({"site": {**asdict(value), "origins": sorted(value.origins)}})
    if isinstance(value, frozenset):
        return orjson.dumps({"origins": sorted(value)})
    return orjson.dumps({"site": None})


def _decode(raw: bytes):
    data = orjson.loads(raw)
    if "origins" in data:
        return frozenset(data["origins"])
    site = data["site"]
    if site is None:
        return None
    return SiteInfo(**{**site, "origins": frozenset(site["origins"])})


def _keep_copy(key: str, value) -> None:
    """Refresh Redis's copy, at most once per CACHE_SECONDS per key and process."""
    if not redis_available():
        return
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.hset(_copies_key(), key, _encode(value))
        pipe.expire(_copies_key(), int(REDIS_COPY_SECONDS))
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not keep a copy of the RUM sites in Redis: %s", exc)


def _redis_copy(key: str):
    if not redis_available():
        return _MISSING
    try:
        raw = get_redis().hget(_copies_key(), key)
    except redis.RedisError:
        return _MISSING
    return _MISSING if raw is None else _decode(raw)


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
    """This process's memory only (Redis's copy serves while the database is away)."""
    with _lock:
        _local.clear()


@receiver([post_save, post_delete], sender=Site)
def _forget_site(sender, instance, **kwargs):
    forget_cached_sites()
    if redis_available():
        try:
            get_redis().delete(_copies_key())
        except redis.RedisError:
            log.warning("could not drop Redis's copy of the RUM sites")
