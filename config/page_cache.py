"""A few seconds of memory for costly answers: dashboards' figures, the staff API, /healthz.

Per process, in memory: the values are Python objects (figures, tables), and a
few seconds old is fresh enough for a dashboard. Concurrent requests for the
same key wait for the one computing it instead of all computing it, and while a
value is refreshed the others get the previous one: under load the cost of a
page is paid once per interval, not once per user, and only by one of them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings

from config import page_pool

log = logging.getLogger(__name__)

MAX_ENTRIES = 500  # ranges x filters x permission sets in use at once, with room to spare

_values: dict[Hashable, tuple[float, Any]] = {}
_locks: dict[Hashable, threading.Lock] = {}
_guard = threading.Lock()


def get_or_compute(key: Hashable, seconds: float, compute: Callable[[], Any]) -> Any:
    """compute()'s value, reused for `seconds`; a None result is not kept.

    Once a value is past its interval (by less than another), requests get it while
    it is computed anew: in the background under the web server (config.page_pool),
    else by the first of them. Nobody else waits for a refresh.
    """
    if seconds <= 0:
        return compute()
    now = time.monotonic()
    found = _values.get(key)
    if found is not None and found[0] > now:
        return found[1]
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    if found is not None and found[0] + seconds > now:
        if not lock.acquire(blocking=False):
            return found[1]  # being refreshed
        if page_pool.submit("refresh", _refresh, key, seconds, compute, lock):
            return found[1]  # the refresh releases the lock
    else:
        lock.acquire()
    try:
        found = _values.get(key)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        return _store(key, seconds, compute())
    finally:
        lock.release()


def _refresh(key: Hashable, seconds: float, compute: Callable[[], Any], lock) -> None:
    try:
        _store(key, seconds, compute())
    except Exception:  # the next request past two intervals computes it and sees the error
        log.exception("refreshing a cached page failed")
    finally:
        lock.release()


def _store(key: Hashable, seconds: float, value: Any) -> Any:
    if value is not None:
        with _guard:
            if len(_values) >= MAX_ENTRIES:
                _forget_expired()
            _values[key] = (time.monotonic() + seconds, value)
    return value


def _forget_expired() -> None:
    now = time.monotonic()
    for key in [k for k, (expires, _) in _values.items() if expires <= now]:
        del _values[key]
        _locks.pop(key, None)
    if len(_values) >= MAX_ENTRIES:  # all fresh: keep memory bounded anyway
        _values.clear()


def clear() -> None:
    with _guard:
        _values.clear()


class Fragment:
    """The rendered part of a cached page, kept with its context (see `page_fragment`)."""

    __slots__ = ("html",)

    def __init__(self):
        self.html = None


def request_key(request, *parts: Hashable, ignore_path: bool = False) -> tuple:
    """What makes two requests' answers the same: the path, the query and what the user may see."""
    user = request.user
    permissions = "*" if user.is_superuser else tuple(sorted(user.get_all_permissions()))
    where = (
        ()
        if ignore_path
        else (request.path, tuple(sorted((k, tuple(v)) for k, v in request.GET.lists())))
    )
    return (*parts, *where, user.is_active and user.is_staff, permissions)


def for_request(
    request, compute: Callable[[], Any], *parts: Hashable, ignore_path: bool = False
) -> Any:
    """compute()'s value shared for DASHBOARD_CACHE_SECONDS by requests with the same key."""
    key = request_key(request, *parts, ignore_path=ignore_path)
    return get_or_compute(key, settings.DASHBOARD_CACHE_SECONDS, compute)
