"""One Redis client per process, the key prefix every app writes under, and the breaker.

The circuit breaker: a Redis that hangs would make every request touching it wait out
the socket timeout. After one timeout or connection error, this process skips Redis for
REDIS_BREAKER_SECONDS (callers get `RedisUnavailable` at once and write directly to, or
read from, the database), then one background thread probes it; Redis is used again as
soon as it answers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from functools import cache

import redis
from django.conf import settings

log = logging.getLogger(__name__)


def redis_configured() -> bool:
    return bool(settings.REDIS_URL)


# What says Redis is hung or gone (a refused command, e.g. a script error, does not).
FAULTS = (redis.ConnectionError, redis.TimeoutError)


class RedisUnavailable(redis.ConnectionError):
    """Redis was skipped without being asked: the breaker is open."""


class Breaker:
    """Per process: closed (use Redis), or open until a probe finds Redis answering."""

    def __init__(self):
        self.lock = threading.Lock()
        self.open_until = 0.0  # time.monotonic(); 0: closed
        self.error = ""
        self.probing = False
        self.trips = 0  # how often a caller found Redis failing (probes not counted)
        self.generation = 0  # one per closing: a probe started before answers for nothing
        self.pid = os.getpid()

    def is_open(self) -> bool:
        if not self.open_until:
            return False
        if time.monotonic() >= self.open_until:
            self._start_probe()
        return True

    def check(self) -> None:
        if self.is_open():
            raise RedisUnavailable(f"Redis skipped for now after {self.error}")

    def trip(self, exc: BaseException, *, probed: bool = False) -> None:
        with self.lock:
            first = not self.open_until
            self.open_until = time.monotonic() + settings.REDIS_BREAKER_SECONDS
            self.error = f"{type(exc).__name__}: {exc}"
            self.trips += not probed
        if first:
            log.warning(
                "Redis failed (%s): skipped for %ss, then probed",
                self.error,
                settings.REDIS_BREAKER_SECONDS,
            )

    def close(self) -> None:
        with self.lock:
            was_open, self.open_until, self.error = bool(self.open_until), 0.0, ""
            self.generation += 1
        if was_open:
            log.warning("Redis answers again: in use")

    def _start_probe(self) -> None:
        with self.lock:
            if self.pid != os.getpid():  # forked: the parent's probe thread did not come along
                self.pid, self.probing = os.getpid(), False
            if self.probing:
                return
            self.probing = True
            generation = self.generation
        # A thread, so that no request waits on a Redis that may still hang.
        threading.Thread(
            target=self._probe, args=(generation,), name="redis-probe", daemon=True
        ).start()

    def _probe(self, generation: int) -> None:
        try:
            timeout = settings.REDIS_SOCKET_TIMEOUT
            probe = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout
            )
            try:
                probe.ping()
            finally:
                probe.close()
        except redis.RedisError as exc:
            outcome = exc
        else:
            outcome = None
        with self.lock:
            self.probing = False
            stale = generation != self.generation  # closed meanwhile: a stale answer
        if stale:
            return
        if outcome is None:
            self.close()
        else:
            self.trip(outcome, probed=True)

    def state(self) -> dict:
        """For /healthz and the pages: is Redis skipped, and why."""
        return {"skipped": self.is_open(), "error": self.error, "trips": self.trips}


breaker = Breaker()


def redis_skipped() -> bool:
    """Configured, but skipped now: the breaker is open."""
    return bool(settings.REDIS_URL) and breaker.is_open()


def redis_available() -> bool:
    """Configured and not skipped by the breaker: worth asking."""
    return bool(settings.REDIS_URL) and not breaker.is_open()


class _Guarded:
    """Every command asks the breaker first, and a hung or lost Redis trips it."""

    def execute_command(self, *args, **options):
        breaker.check()
        try:
            return super().execute_command(*args, **options)
        except FAULTS as exc:
            if not isinstance(exc, RedisUnavailable):
                breaker.trip(exc)
            raise


class GuardedPipeline(redis.client.Pipeline):
    def execute(self, raise_on_error: bool = True):
        breaker.check()
        try:
            return super().execute(raise_on_error)
        except FAULTS as exc:
            breaker.trip(exc)
            raise


class GuardedRedis(_Guarded, redis.Redis):
    """redis.Redis behind the breaker (also used by the cache, see `config.redis_cache`)."""

    def pipeline(self, transaction=True, shard_hint=None):
        return GuardedPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )


@cache
def _client(url: str, timeout: float) -> redis.Redis:
    return GuardedRedis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
    )


def get_redis() -> redis.Redis:
    """The shared client; raises if REDIS_URL is not set (check redis_configured first).

    Its commands raise `RedisUnavailable` (a redis.ConnectionError) while the breaker is open.
    """
    if not settings.REDIS_URL:
        raise RuntimeError("REDIS_URL is not set")
    return _client(settings.REDIS_URL, settings.REDIS_SOCKET_TIMEOUT)


def redis_key(*parts: object) -> str:
    """`prefix:part:part`, so deployments and test runs sharing a server never collide."""
    return ":".join([settings.REDIS_KEY_PREFIX, *(str(p) for p in parts)])


# --- durability ----------------------------------------------------------------------
DURABILITY_HINT = (
    "Set `appendonly yes` with `appendfsync everysec` (or `always`) in redis.conf: "
    "without it a Redis restart loses the queued RUM beacons and the request minutes "
    "not folded yet."
)


def persistence() -> tuple[bool | None, str]:
    """Does Redis keep what it accepted across a restart? (True, False or None: unknown.)

    Only the append-only file with an fsync at least every second keeps the queue and the
    live minutes to within a second; RDB snapshots (`save`) lose everything since the last.
    """
    try:
        config = {}
        for name in ("appendonly", "appendfsync", "save"):
            config.update(
                {
                    k.decode() if isinstance(k, bytes) else k: v
                    for k, v in get_redis().config_get(name).items()
                }
            )
    except redis.ResponseError as exc:  # CONFIG renamed or disabled (managed Redis)
        return None, f"Redis persistence unknown: CONFIG GET is refused ({exc})."
    config = {k: v.decode() if isinstance(v, bytes) else v for k, v in config.items()}
    if config.get("appendonly") == "yes" and config.get("appendfsync") in ("always", "everysec"):
        return True, f"append-only file, fsync {config['appendfsync']}"
    if config.get("appendonly") == "yes":
        return False, (
            "Redis's append-only file is on but fsync is left to the system "
            f"(appendfsync {config.get('appendfsync')}): a machine crash loses ~30 s of data."
        )
    snapshots = config.get("save") or ""
    if snapshots.strip():
        return False, (
            f"Redis keeps only snapshots (save {snapshots}), no append-only file: a restart "
            "loses everything accepted since the last snapshot."
        )
    return False, "Redis keeps nothing on disk (appendonly no, no save): a restart loses it all."
