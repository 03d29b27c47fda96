"""GDPR: forgetting a visitor's session."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from config import audit
from rum.ingest import mark_dirty
from rum.models import Event


def forget_sessions(session_ids: Iterable[str]) -> int:
    """Delete every event of these sessions; their hours' rollups are rebuilt without them."""
    sessions = list(session_ids)
    if not sessions:
        return 0
    events = Event.objects.filter(session_id__in=sessions)
    with transaction.atomic():
        touched = list(events.values_list("site_id", "received_at").distinct())
        deleted, _ = events.delete()
        mark_dirty(touched)
        audit.record("gdpr delete", "rum.event", sessions=len(sessions), events=deleted)
    return deleted
