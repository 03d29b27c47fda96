"""One Redis client per process, and the key prefix every app writes under."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


def redis_configured() -> bool:
    return bool(settings.REDIS_URL)


@cache
def _client(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
    )


def get_redis() -> redis.Redis:
    """The shared client; raises if REDIS_URL is not set (check redis_configured first)."""
    if not settings.REDIS_URL:
        raise RuntimeError("REDIS_URL is not set")
    return _client(settings.REDIS_URL, settings.REDIS_SOCKET_TIMEOUT)


def redis_key(*parts: object) -> str:
    """`prefix:part:part`, so deployments and test runs sharing a server never collide."""
    return ":".join([settings.REDIS_KEY_PREFIX, *(str(p) for p in parts)])
