"""Request metrics: time every request, by route template, in a few microseconds.

Put first in MIDDLEWARE so the whole stack is timed. The per-request work is two
clock reads, a dict update under a lock and a `Server-Timing` header; queries
are timed by `recorder.db_wrapper`, installed on every database connection.
Everything else (storage, percentiles, Prometheus) happens away from requests.

The clock starts when the worker takes the request: time spent before (in the
listen queue, behind busy workers) is invisible from here. A proxy in front can
say when it received the request (`X-Request-Start: t=<epoch>`, as for New Relic
and Scout; believed from TRUSTED_PROXIES only); that queue time is then recorded
as its own figure and added to the request's latency.
"""

from __future__ import annotations

import math
import time
from collections import Counter

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed

from config.client_address import from_trusted_proxy
from monitoring.recorder import QUEUE, REQUEST, Work, current_work, recorder

UNMATCHED = "<unmatched>"
# Static files answered by WhiteNoise before URL resolution.
STATIC = "<static>"
STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
# Any client may send any method: the rest share one label, or each would be a new series.
STANDARD_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
)
OTHER_METHOD = "OTHER"
_routes: dict[str, str] = {}


def route_label(request) -> str:
    """The matched route template ("/api/orders/<int:pk>/"), never the raw path."""
    match = request.resolver_match
    if match is None:
        static = settings.STATIC_URL
        return STATIC if static and request.path.startswith(static) else UNMATCHED
    route = match.route
    label = _routes.get(route)
    if label is None:
        # Regex routes (re_path) keep their pattern, without the anchors.
        label = _routes[route] = ("/" + route.replace("^", "").replace("$", ""))[:255]
    return label


def method_label(method: str | None) -> str:
    return method if method in STANDARD_METHODS else OTHER_METHOD


def status_class(status: int) -> str:
    return STATUS_CLASSES.get(status // 100, "5xx")


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        if not settings.MONITORING_ENABLED:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        queue = None
        started_header = request.META.get("HTTP_X_REQUEST_START")
        if started_header and from_trusted_proxy(request):  # anyone else could make latency up
            queue = queue_seconds(started_header, time.time())
        work = Work()
        token = current_work.set(work)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        except BaseException:
            elapsed = time.perf_counter() - started
            current_work.reset(token)
            _record(request, 500, elapsed, work, queue)
            raise
        elapsed = time.perf_counter() - started
        current_work.reset(token)
        if settings.MONITORING_SERVER_TIMING:
            # Read by the RUM script: keep this exact format (after the view's own, if any).
            timing = f"app;dur={elapsed * 1000:.2f}, db;dur={work.db * 1000:.2f}"
            if queue is not None:
                timing += f", queue;dur={queue * 1000:.2f}"
            headers = response.headers
            own = headers.get("Server-Timing")
            if own and "app;dur=" not in own:  # a response seen twice is timed once
                timing = f"{own}, {timing}"
            headers["Server-Timing"] = timing
        _record(request, response.status_code, elapsed, work, queue)
        return response


# Epoch values by magnitude: seconds (~1.7e9), milliseconds (~1.7e12), microseconds (~1.7e15).
_UNITS = ((1e14, 1e-6), (1e11, 1e-3), (1e8, 1.0))


def queue_seconds(header: str | None, now: float) -> float | None:
    """Seconds between the proxy receiving the request and now, from `X-Request-Start`.

    Accepts `t=<epoch>` or a bare epoch in seconds, milliseconds or microseconds
    (with a fraction or not). A clock a little ahead of ours gives 0; anything
    unreadable, implausible or over MONITORING_MAX_QUEUE_MS is ignored (None).
    """
    if not header:
        return None
    value = header.strip()[:64]
    if value.startswith("t="):
        value = value[2:]
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    for threshold, scale in _UNITS:
        if number >= threshold:
            started = number * scale
            break
    else:
        return None  # not an epoch of this century in any unit
    waited = now - started
    limit = settings.MONITORING_MAX_QUEUE_MS / 1000.0
    if waited > limit or waited < -limit:
        return None  # a clock far off, or a made-up value: no figure rather than a wrong one
    return max(waited, 0.0)


def _record(request, status: int, elapsed: float, work: Work, queue: float | None) -> None:
    route = route_label(request)
    method = method_label(request.method)
    duration_ms = elapsed * 1000.0
    if queue is not None:
        # The time the requester waited includes the queue: the latency says so.
        recorder.record(QUEUE, route, method, "", queue * 1000.0, False)
        duration_ms += queue * 1000.0
    repeated = None
    if work.count >= settings.MONITORING_N_PLUS_ONE_THRESHOLD:
        repeated = repeated_statements(work, settings.MONITORING_N_PLUS_ONE_THRESHOLD)
    recorder.record(
        REQUEST,
        route,
        method,
        STATUS_CLASSES.get(status // 100, "5xx"),
        duration_ms,
        status >= 500,
        work,
        bool(repeated),
    )
    slow = duration_ms >= settings.MONITORING_SLOW_REQUEST_MS
    if slow or repeated:
        recorder.sample(
            {
                "time": time.time(),
                "route": route,
                "method": method,
                "status": status,
                "duration_ms": duration_ms,
                "db_ms": work.db * 1000.0,
                "query_count": work.count,
                "slow": slow,
                "queries": [(sql, seconds * 1000.0) for sql, seconds in work.queries],
                "repeated": repeated or {},
            }
        )


def repeated_statements(work: Work, threshold: int) -> dict[str, int]:
    """SQL run at least `threshold` times in one request: an N+1.

    The ORM sends parameters apart from the SQL text, so a loop of lookups sends
    the very same text each time; the sample's SQL is normalised later.
    """
    counts = Counter(sql for sql, _ in work.queries)
    return {sql: n for sql, n in counts.items() if n >= threshold}
