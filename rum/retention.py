"""Retention of raw RUM events (per site), and of the rollups and rollup marks.

On PostgreSQL raw events are kept in one partition per day (rum/partitions.py):
a day is dropped whole once it is past every site's retention, which takes a
moment whatever its size. Sites keep events for different numbers of days, so the
partitions still kept can hold events of a site with a shorter retention that are
past it: those are deleted row by row, which is a day's worth of one site's events
at a time once the purge runs hourly. The sites with the longest retention lose
their events with the day's partition, up to a day after their retention (not row
by row for the sake of that day). Without partitions (SQLite) every site's events
are deleted row by row at its own cutoff.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from rum import fold, partitions
from rum.models import Event, Site

CHUNK = 10_000


def purge(now: datetime | None = None) -> dict[str, int]:
    """Apply the RUM retention settings; return what each step removed."""
    now = now or timezone.now()
    return {**purge_events(now), **fold.purge_expired(now)}


def purge_events(now: datetime) -> dict[str, int]:
    """Drop the days past every site's retention, then delete what else is past a site's."""
    days_kept = dict(Site.objects.values_list("id", "retention_days"))
    default = timedelta(days=settings.RETENTION_RUM_EVENTS_DAYS)
    cutoffs = {
        site_id: now - (timedelta(days=days) if days else default)
        for site_id, days in days_kept.items()
    }
    dropped = 0
    if partitions.partitioned():
        # Every site keeps what is past the earliest cutoff: days before it go whole.
        earliest = min(cutoffs.values(), default=now - default)
        first_kept = earliest.astimezone(UTC).date()
        for day in partitions.days():
            if day < first_kept:
                partitions.drop(day)
                dropped += 1
        # The longest-kept sites lose the rest of their expired events with the next
        # day's partition: before it, only what the default partition holds.
        kept_from = partitions.start(first_kept)
        cutoffs = {site_id: kept_from if c == earliest else c for site_id, c in cutoffs.items()}
    deleted = sum(_delete_before(site_id, cutoff) for site_id, cutoff in cutoffs.items())
    return {"event partitions dropped": dropped, "raw events deleted": deleted}


def _delete_before(site_id: int, cutoff: datetime) -> int:
    """Delete the site's events before `cutoff` in chunks, so no lock is held for long."""
    events = Event.objects.filter(site_id=site_id, received_at__lt=cutoff)
    deleted = 0
    while True:
        chunk = list(events.values_list("id", "received_at")[:CHUNK])
        if not chunk:
            return deleted
        moments = [moment for _, moment in chunk]
        # The chunk's time span lets PostgreSQL look in the chunk's partitions only.
        deleted += Event.objects.filter(
            id__in=[pk for pk, _ in chunk],
            received_at__gte=min(moments),
            received_at__lte=max(moments),
        ).delete()[0]
