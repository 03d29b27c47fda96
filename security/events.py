"""Recording security events. Never raises: a failed record is logged, the request goes on.

The request being answered is bound for the duration of each request (the
middleware), so a receiver that gets no request (a user saved in the admin)
still knows who did it and from where.
"""

from __future__ import annotations

import contextvars
import logging

from django.db import transaction

from config.client_address import client_address
from security.models import SecurityEvent
from security.useragent import classify

log = logging.getLogger(__name__)

_current_request: contextvars.ContextVar = contextvars.ContextVar("security_request", default=None)


def bind(request):
    """Make `request` the one events are attributed to; returns a token for `unbind`."""
    return _current_request.set(request)


def unbind(token) -> None:
    _current_request.reset(token)


def current_request():
    return _current_request.get()


# `user` not given: whoever is signed in on the request.
SIGNED_IN = object()


def record(kind: str, request=None, *, user=SIGNED_IN, username: str = "", **fields) -> None:
    """Store one event; `request` defaults to the request being answered, if any."""
    try:
        request = request if request is not None else current_request()
        row = SecurityEvent(kind=kind, **fields)
        if user is SIGNED_IN:
            user = _signed_in(request) if request is not None else None
        if request is not None:
            row.address = client_address(request) or None
            row.user_agent_class = classify(request.META.get("HTTP_USER_AGENT"))
            row.path = request.path[:200]
        row.user = user
        row.username = (username or (user.get_username() if user is not None else ""))[:150]
        row.subject = row.subject[:160]
        row.detail = row.detail[:300]
        # A savepoint: a failed insert must not spoil the transaction around it.
        with transaction.atomic():
            row.save()
    except Exception:
        log.exception("could not record security event %s", kind)


def _signed_in(request):
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None
