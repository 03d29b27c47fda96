"""Pages run on a few threads of their own in each web process; light requests never wait.

A worker has many threads (WEB_THREADS) so that every connection is served at
once, but a dashboard costs CPU: a hundred of them at once would make every
answer, /healthz included, wait for all of them. The middleware hands each page
and staff API request to a pool of WEB_PAGE_CONCURRENCY threads (about the
cores a worker may use); the light paths below (/healthz, beacons, metrics,
static files) run on their own thread, twice as many at once: a health check never
queues behind a page, and a flood of light requests cannot take the pages' share
of the CPU (Python runs one thread of a process at a time). Each pool thread
keeps its own database connection, so a process holds a few for pages however
many threads it has (the health checks run on one more).

gunicorn turns the pools on in each worker (config/gunicorn.py); elsewhere (tests,
runserver, management commands) every request runs on its own thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connections

# Answered at once, on the request's thread: cheap, and what must answer under load.
LIGHT_PATHS = ("/healthz", "/metrics", "/static/", "/api/rum/beacon/", "/alerts/sink/")

_pools: dict[str, ThreadPoolExecutor] = {}
_light_slots: threading.BoundedSemaphore | None = None


def enable(page_threads: int) -> None:
    """Start the pools in this process (a gunicorn worker, after the fork); 0 runs none."""
    if page_threads <= 0:
        return
    _pools["pages"] = ThreadPoolExecutor(page_threads, thread_name_prefix="perfmon-page")
    # The light paths run on their own threads, twice as many at once as pages: they never
    # wait behind a page, and however many of them arrive, pages keep a share of the CPU.
    # (No hand-over to another thread: for a request of a millisecond it would cost more.)
    global _light_slots
    _light_slots = threading.BoundedSemaphore(2 * page_threads)
    # Cached figures refreshed after their interval, while requests get the previous ones.
    _pools["refresh"] = ThreadPoolExecutor(1, thread_name_prefix="perfmon-refresh")
    # The health checks: one thread, so one database connection, whoever asks.
    _pools["health"] = ThreadPoolExecutor(1, thread_name_prefix="perfmon-health")


def disable() -> None:
    """Stop the pools (tests); requests run on their own threads again."""
    for executor in _pools.values():
        # Every thread closes its database connections: one task each, held at a barrier.
        size = executor._max_workers
        barrier = threading.Barrier(size)

        for future in [executor.submit(_close_connections, barrier) for _ in range(size)]:
            future.result()
        executor.shutdown(wait=True)
    _pools.clear()


def _close_connections(barrier: threading.Barrier) -> None:
    connections.close_all()
    barrier.wait(timeout=30)


def enabled() -> bool:
    return bool(_pools)


def run(pool: str, fn, *args):
    """fn(*args) on the named pool's threads if it runs, else here; its result or exception."""
    executor = _pools.get(pool)
    if executor is None:
        return fn(*args)
    # The caller's context (the request's metrics, the URLconf) goes along.
    context = contextvars.copy_context()
    return executor.submit(context.run, _with_connections, fn, *args).result()


def submit(pool: str, fn, *args) -> bool:
    """Start fn(*args) on the named pool's threads and return at once; False if it does not run."""
    executor = _pools.get(pool)
    if executor is None:
        return False
    context = contextvars.copy_context()
    executor.submit(context.run, _with_connections, fn, *args)
    return True


def _with_connections(fn, *args):
    # What Django does around each request, for the pool thread's own connections.
    close_old_connections()
    try:
        return fn(*args)
    finally:
        close_old_connections()


class PagePoolMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _pools:
            return self.get_response(request)
        if request.path.startswith(LIGHT_PATHS):
            with _light_slots or contextlib.nullcontext():
                try:
                    return self.get_response(request)
                finally:
                    # A light request runs on any of the server's many threads: a
                    # database connection kept there would idle until CONN_MAX_AGE, one
                    # per thread, past the database's max_connections.
                    for connection in connections.all(initialized_only=True):
                        if not connection.in_atomic_block:
                            connection.close()
        return run("pages", self.get_response, request)
