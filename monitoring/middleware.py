"""Request metrics: time every request, by route template, in a few microseconds.

Put first in MIDDLEWARE so the whole stack is timed. The per-request work is two
clock reads, a dict update under a lock and a `Server-Timing` header; queries
are timed by `recorder.db_wrapper`, installed on every database connection.
Everything else (storage, percentiles, Prometheus) happens away from requests.
"""

from __future__ import annotations

import time
from collections import Counter

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed

from monitoring.recorder import REQUEST, Work, current_work, recorder

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
        work = Work()
        token = current_work.set(work)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        except BaseException:
            elapsed = time.perf_counter() - started
            current_work.reset(token)
            _record(request, 500, elapsed, work)
            raise
        elapsed = time.perf_counter() - started
        current_work.reset(token)
        if settings.MONITORING_SERVER_TIMING:
            # Read by the RUM script: keep this exact format (after the view's own, if any).
            timing = f"app;dur={elapsed * 1000:.2f}, db;dur={work.db * 1000:.2f}"
            headers = response.headers
            own = headers.get("Server-Timing")
            if own and "app;dur=" not in own:  # a response seen twice is timed once
                timing = f"{own}, {timing}"
            headers["Server-Timing"] = timing
        _record(request, response.status_code, elapsed, work)
        return response


def _record(request, status: int, elapsed: float, work: Work) -> None:
    route = route_label(request)
    method = method_label(request.method)
    duration_ms = elapsed * 1000.0
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
