"""The audit trail's API, importable by every app: who is acting now, and `record()`.

Who and from where: a request (the `audit` app's middleware), a management
command ("command <name>") or a Celery task ("task <name>") sets the actor for
the code it runs, so a model saved anywhere below knows who changed it.

    from config import audit
    audit.record("export", "performance-endpoints", rows=120)

The `audit` app registers the writer; without it, `record()` does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    """Who acts: a request's user (read when something is written: an API view
    authenticates after the middleware) or a fixed user, and where from."""

    source: str  # "POST /admin/alerts/rule/3/change/", "command import_statements", ...
    address: str = ""
    request: Any = None
    user: Any = None

    @property
    def who(self):
        user = self.user
        if user is None and self.request is not None:
            user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None


_actor: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)
_writer: Callable | None = None


def current_actor() -> Actor | None:
    return _actor.get()


def request_actor(request) -> Actor:
    from config.client_address import client_address

    return Actor(f"{request.method} {request.path}"[:300], client_address(request), request)


@contextmanager
def acting(actor: Actor, *, replace: bool = True):
    """Attribute what happens inside to `actor` (an outer actor wins unless `replace`)."""
    if not replace and _actor.get() is not None:
        yield
        return
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def begin(actor: Actor):
    """Like `acting`, for code that starts and ends in two callbacks (Celery's signals)."""
    return _actor.set(actor)


def end(token) -> None:
    _actor.reset(token)


def set_writer(writer: Callable | None) -> None:
    """The audit app's `write(action, obj_or_label, changes, detail, actor)`."""
    global _writer
    _writer = writer


def record(action: str, obj_or_label, *, changes=None, request=None, **detail) -> None:
    """Write one audit row, in the current transaction: it rolls back with the change."""
    if _writer is None:
        return
    actor = request_actor(request) if request is not None else _actor.get()
    _writer(action, obj_or_label, changes=changes or {}, detail=detail, actor=actor)
