"""Django's Redis cache behind the breaker of `config.redis_client`.

A cache may miss: while Redis is hung or gone, reads miss and writes are dropped at
once (no request waits for Redis), instead of every request raising or waiting out the
socket timeout.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from config.redis_client import FAULTS, GuardedRedis

_MISSING = object()


class _Client(RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._client = GuardedRedis

    def add(self, key, value, timeout):
        return _or(lambda: super(_Client, self).add(key, value, timeout), False)

    def get(self, key, default):
        return _or(lambda: super(_Client, self).get(key, default), default)

    def set(self, key, value, timeout):
        _or(lambda: super(_Client, self).set(key, value, timeout), None)

    def touch(self, key, timeout):
        return _or(lambda: super(_Client, self).touch(key, timeout), False)

    def delete(self, key):
        return _or(lambda: super(_Client, self).delete(key), False)

    def get_many(self, keys):
        return _or(lambda: super(_Client, self).get_many(keys), {})

    def has_key(self, key):
        return _or(lambda: super(_Client, self).has_key(key), False)

    def incr(self, key, delta):
        found = _or(lambda: super(_Client, self).incr(key, delta), _MISSING)
        if found is _MISSING:
            raise ValueError(f"Key '{key}' not found (Redis unreachable).")
        return found

    def set_many(self, data, timeout):
        _or(lambda: super(_Client, self).set_many(data, timeout), None)

    def delete_many(self, keys):
        _or(lambda: super(_Client, self).delete_many(keys), None)


def _or(call, fallback):
    try:
        return call()
    except FAULTS:  # tripped the breaker (or found it open): a miss
        return fallback


class BreakerRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client
