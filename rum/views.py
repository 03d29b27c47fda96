"""The demo page: served by this site, it loads the RUM script like any customer page.

Only when RUM_DEMO_PAGE is on (`make demo`), and only for the demo site: it never looks
up, nor names, the site of a key it is given.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import Http404
from django.shortcuts import render

from rum.models import Site

DEMO_SITE_NAME = "perfmon demo shop"


def _site() -> Site:
    site = Site.objects.filter(name=DEMO_SITE_NAME).first()
    if site is None:
        raise Http404("No demo site: run `manage.py load_demo_data`.")
    return site


class _DatabaseTimer:
    def __init__(self):
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def demo_page(request, product_id: int | None = None):
    if not settings.RUM_DEMO_PAGE:
        raise Http404("The demo page is served by `make demo` only.")
    started = time.perf_counter()
    timer = _DatabaseTimer()
    with connection.execute_wrapper(timer):
        site = _site()
    context = {"site": site, "product_id": product_id, "debug": settings.DEBUG}
    response = render(request, "rum/demo.html", context)
    if "Server-Timing" not in response:
        # The monitoring middleware sets this on every page; without it, say it here.
        elapsed = (time.perf_counter() - started) * 1000
        response["Server-Timing"] = f"app;dur={elapsed:.1f}, db;dur={timer.seconds * 1000:.1f}"
    return response
