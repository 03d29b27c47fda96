"""Drive the real middleware with known latencies (a stand-in clock), in any process.

Used by the two-process percentile test and the percentile benchmark: each
process feeds its share of latencies through RequestMetricsMiddleware, whose
clock returns exactly the wanted durations.
"""

from __future__ import annotations

import types

import numpy as np
from django.http import HttpResponse
from django.test import RequestFactory

from monitoring import middleware
from monitoring.recorder import recorder

ROUTE = "/api/orders/<int:pk>/"


def lognormal_latencies(n: int, seed: int) -> np.ndarray:
    """Milliseconds: median ~ 50 ms, a long tail to seconds."""
    return np.random.default_rng(seed).lognormal(mean=np.log(50), sigma=0.9, size=n)


def record_through_middleware(latencies_ms, flush_every: int = 50_000, route: str = ROUTE) -> None:
    request = RequestFactory().get("/api/orders/7/")
    request.resolver_match = types.SimpleNamespace(route=route.lstrip("/"))
    clock = {"now": 0.0}
    ticks = iter(())

    def perf_counter():
        return next(ticks)

    def view(request):
        return HttpResponse("ok")

    middleware.time = types.SimpleNamespace(perf_counter=perf_counter, time=__import__("time").time)
    try:
        handler = middleware.RequestMetricsMiddleware(view)
        for position, latency in enumerate(latencies_ms, 1):
            start = clock["now"]
            ticks = iter((start, start + float(latency) / 1000.0))
            handler(request)
            clock["now"] = start + 1.0
            if position % flush_every == 0:
                assert recorder.flush()
        assert recorder.flush()
    finally:
        middleware.time = __import__("time")
