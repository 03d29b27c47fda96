"""GDPR: forgetting a visitor's session."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from config import audit
from rum import fold
from rum.models import Event


def forget_sessions(session_ids: Iterable[str]) -> int:
    """Delete every event of these sessions; their page views are counted again without them."""
    sessions = list(session_ids)
    if not sessions:
        return 0
    events = Event.objects.filter(session_id__in=sessions)
    with transaction.atomic():
        fold.lock()
        touched = list(
            events.filter(kind__in=fold.ROLLED_UP).values_list("site_id", "page_view_id").distinct()
        )
        deleted, _ = events.delete()
        fold.recompute_page_views(touched)
        audit.record("gdpr delete", "rum.event", sessions=len(sessions), events=deleted)
    return deleted
