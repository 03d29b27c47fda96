"""One Redis client per process, and the key prefix every app writes under."""

from __future__ import annotations

import logging
import os
import threading
from functools import cache

import redis
from django.conf import settings

log = logging.getLogger(__name__)


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


_own = threading.local()


class Sent:
    """Commands written to Redis whose replies are read later, by `replies()`.

    A round trip costs the caller a sleep and a wake-up; work done between sending and
    reading overlaps it. The replies are read once, and before any later command on the
    same connection, so they can never be taken for that command's. Read them on the
    thread that sent the commands.
    """

    def __init__(self, connection, commands: tuple[tuple, ...], retry: bool):
        self.connection = connection
        self.commands = commands
        self.retry = retry  # the connection had worked: a failure means Redis restarted
        self._replies: list | None = None

    def replies(self) -> list:
        if self._replies is None:
            _own.unread = None
            try:
                self._replies = _read(self.connection, len(self.commands))
            except redis.ConnectionError:
                if not self.retry:
                    raise
                _own.worked = False  # sent again once, on a new connection, and waited for
                self._replies = _read(_send(self.connection, self.commands), len(self.commands))
            _own.worked = True
        return self._replies


def send_commands(*commands: tuple) -> Sent:
    """Commands sent together (a pipeline, not a transaction) on this thread's own connection;
    `.replies()` waits for their answers.

    Past the client's pool: a third of its per-call cost, for a hot path (each RUM beacon).
    A connection that worked and is found closed (Redis restarted) is reopened and the
    commands sent again, once; other errors raise as the client's would.
    """
    client = get_redis()
    if getattr(_own, "owner", None) != (os.getpid(), client):  # new thread, fork or URL
        pool = client.connection_pool
        _own.connection = pool.connection_class(**pool.connection_kwargs)
        _own.owner, _own.worked, _own.unread = (os.getpid(), client), False, None
    if _own.unread is not None:  # a caller that never asked for its replies
        try:
            _own.unread.replies()
        except redis.RedisError:
            log.exception("unread Redis replies failed")
    retry = _own.worked
    try:
        _send(_own.connection, commands)
    except redis.ConnectionError:
        if not retry:  # Redis is down: one wait for it is enough
            raise
        _own.worked, retry = False, False
        _send(_own.connection, commands)
    _own.unread = Sent(_own.connection, commands, retry)
    return _own.unread


def _send(connection, commands):
    try:
        connection.send_packed_command(connection.pack_commands(commands))
    except redis.RedisError:
        connection.disconnect()
        raise
    return connection


def _read(connection, count: int) -> list:
    try:
        return [connection.read_response() for _ in range(count)]
    except redis.RedisError:
        connection.disconnect()  # replies left unread must never be read as the next ones
        raise


def redis_key(*parts: object) -> str:
    """`prefix:part:part`, so deployments and test runs sharing a server never collide."""
    return ":".join([settings.REDIS_KEY_PREFIX, *(str(p) for p in parts)])
