"""Hourly rollups rebuilt from raw events, and the purge of old rollups.

An hour is rebuilt whole (delete, then insert, in one transaction) whenever an
insert marked it dirty, so rebuilding is idempotent and resumable: a run that
dies leaves the mark and the next run does it again. A page view belongs to the
hour of its first event; a vital reported twice for one page view counts once,
with its final (largest) value.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lib import sketch
from rum import vitals
from rum.ingest import PAGE_VIEW_SPAN
from rum.models import DirtyHour, Event, Rollup, Site

HOUR = timedelta(hours=1)
# Page paths come from whoever holds a site's public key: past RUM_MAX_PAGES_PER_HOUR
# pages in an hour, the least viewed share this one.
OTHER_PAGES = "(other pages)"


def rebuild_dirty(limit: int = 500) -> int:
    """Rebuild the hours marked dirty; return how many were rebuilt."""
    done = 0
    marks = DirtyHour.objects.order_by("hour").values_list("id", "site_id", "hour", "marked_at")
    retention = _retention_cutoffs()
    for mark_id, site_id, hour, marked_at in marks[:limit]:
        if hour >= retention.get(site_id, hour):
            rebuild_hour(site_id, hour)
            done += 1
        # Kept if an insert marked it again meanwhile: the next run rebuilds it.
        DirtyHour.objects.filter(id=mark_id, marked_at=marked_at).delete()
    return done


def _retention_cutoffs() -> dict[int, datetime]:
    """Per site, the first hour whose raw events are all still kept."""
    now = timezone.now()
    return {
        site.id: (now - timedelta(days=site.retention) + HOUR).replace(
            minute=0, second=0, microsecond=0
        )
        for site in Site.objects.all()
    }


def page_views(site_id: int, hour: datetime) -> list[dict]:
    """The page views that started in the hour: page, device and final vital values."""
    events = Event.objects.filter(
        site_id=site_id,
        kind__in=[Event.PAGEVIEW, Event.VITAL],
        received_at__gte=hour - PAGE_VIEW_SPAN,
        received_at__lt=hour + HOUR + PAGE_VIEW_SPAN,
    ).values_list("page_view_id", "kind", "name", "value", "page", "device", "received_at")
    views: dict[str, dict] = {}
    for view_id, kind, name, value, page, device, moment in events.iterator(chunk_size=5000):
        view = views.get(view_id)
        if view is None:
            view = views[view_id] = {"first": moment, "page": page, "device": device, "values": {}}
        view["first"] = min(view["first"], moment)
        if kind == Event.PAGEVIEW:
            view["page"], view["device"] = page, device
        elif value is not None:
            view["values"][name] = max(value, view["values"].get(name, value))
    return [v for v in views.values() if hour <= v["first"] < hour + HOUR]


def bound_pages(views: list[dict], limit: int) -> list[dict]:
    """The page views with pages past the `limit` busiest (ties by name) as OTHER_PAGES."""
    views_per_page = Counter(view["page"] for view in views)
    if len(views_per_page) <= limit:
        return views
    ranked = sorted(views_per_page.items(), key=lambda item: (-item[1], item[0]))
    kept = {page for page, _ in ranked[:limit]}
    for view in views:
        if view["page"] not in kept:
            view["page"] = OTHER_PAGES
    return views


def summarise(views: list[dict]) -> dict[tuple[str, str, str], dict]:
    """Rollup figures keyed by (page, metric, device)."""
    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    cwv: dict[tuple[str, str], list[bool]] = defaultdict(list)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for view in views:
        page, device = view["page"], view["device"]
        counts[page, device] += 1
        for name, value in view["values"].items():
            values[page, name, device].append(value)
        verdict = vitals.passes_core_web_vitals(view["values"])
        if verdict is not None:
            cwv[page, device].append(verdict)
    figures = {}
    for (page, device), count in counts.items():
        figures[page, vitals.PAGE_VIEWS, device] = {"count": count}
    for (page, device), verdicts in cwv.items():
        passed = sum(verdicts)
        figures[page, vitals.CWV, device] = {
            "count": len(verdicts),
            "good": passed,
            "poor": len(verdicts) - passed,
        }
    for (page, name, device), found in values.items():
        ratings = [vitals.VITALS[name].rate(v) for v in found]
        figures[page, name, device] = {
            "count": len(found),
            "good": ratings.count(vitals.GOOD),
            "needs_improvement": ratings.count(vitals.NEEDS_IMPROVEMENT),
            "poor": ratings.count(vitals.POOR),
            "histogram": sketch.encode(sketch.build(found)),
        }
    return figures


def rebuild_hour(site_id: int, hour: datetime) -> int:
    figures = summarise(bound_pages(page_views(site_id, hour), settings.RUM_MAX_PAGES_PER_HOUR))
    with transaction.atomic():
        Rollup.objects.filter(site_id=site_id, hour=hour).delete()
        Rollup.objects.bulk_create(
            [
                Rollup(site_id=site_id, hour=hour, page=page, metric=metric, device=device, **f)
                for (page, metric, device), f in figures.items()
            ],
            batch_size=1000,
        )
    return len(figures)


def purge_expired(now: datetime) -> dict[str, int]:
    """Delete rollups past their retention, and marks of hours whose events are gone.

    Raw events' retention is rum/retention.py's, which calls this.
    """
    for site in Site.objects.all():
        cutoff = now - timedelta(days=site.retention)
        DirtyHour.objects.filter(site=site, hour__lt=cutoff - HOUR).delete()
    rollup_cutoff = now - timedelta(days=settings.RETENTION_HOURLY_ROLLUPS_DAYS)
    return {"rollups": Rollup.objects.filter(hour__lt=rollup_cutoff).delete()[0]}
