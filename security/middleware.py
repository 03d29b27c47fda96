"""Binds the request for event receivers, and records 403s on admin and API pages."""

from __future__ import annotations

from security import events
from security.models import PERMISSION_DENIED

# Where a 403 means someone reached for something they may not have.
WATCHED_PREFIXES = ("/admin/", "/api/")
# The public RUM beacon endpoint answers 403 to an unknown key or origin: misconfigured
# pages, not someone reaching for what they may not have.
UNWATCHED_PREFIXES = ("/api/rum/beacon/",)


class SecurityEventsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = events.bind(request)
        try:
            response = self.get_response(request)
            if response.status_code == 403 and _watched(request.path):
                events.record(PERMISSION_DENIED, request, detail=f"{request.method} answered 403")
            return response
        finally:
            events.unbind(token)


def _watched(path: str) -> bool:
    return path.startswith(WATCHED_PREFIXES) and not path.startswith(UNWATCHED_PREFIXES)
