"""Hourly rollups kept up to date event by event, and the purge of what is past retention.

The rules: a page view belongs to the hour of its first event; a vital reported
several times for one page view counts once, with its final (largest) value; page
views and Core Web Vitals verdicts count each page view once; page and device come
from the page view's pageview event (the first, if several), else from its first
event. Per site and hour, the RUM_MAX_PAGES_PER_HOUR pages seen first (the first
event of their first page view; ties by name) have rollups of their own, the others
share OTHER_PAGES.

How it stays exact at a cost in proportion to the new events, not to the hour's:
- each insert also writes its new pageview and vital events to RollupInbox, in the
  same transaction (duplicates the insert skipped are not written);
- `roll_up` takes inbox rows and, in the same transaction, folds their events into
  each page view's PageView row. Every field of that row is a minimum or a maximum
  over its events, so the row does not depend on the order events come in, and an
  event folded twice changes nothing;
- a page view's contribution to the rollups (its PV and CWV counts, and per vital the
  count, the rating and one histogram bucket) is a function of its row alone: when a
  row changes, its old contribution is subtracted and its new one added. So each
  Rollup row is always the sum over its page views, as a rebuild would count them;
- a page view that a late event moves to an earlier hour moves its contribution along;
  a page that comes into or drops out of an hour's kept pages (one seen earlier came
  late) takes its page views along: only then are that page's page views read;
- a transaction that dies leaves its inbox rows, and the next run does them again.
One run at a time (a lock): two would fold the same page views at once.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from lib import sketch
from rum import vitals
from rum.models import Event, HourPage, PageView, Rollup, RollupInbox, Site

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
# Page paths come from whoever holds a site's public key: past RUM_MAX_PAGES_PER_HOUR
# pages in an hour, the pages seen later share this one.
OTHER_PAGES = "(other pages)"
ROLLED_UP = (Event.PAGEVIEW, Event.VITAL)
# Inbox rows taken per transaction (each is one insert's events for one site).
INBOX_ROWS_PER_TRANSACTION = 50
_LOCK_KEY = 7_424_207


# --- The inbox -------------------------------------------------------------------


def inbox_item(page_view_id, kind, name, value, page, device, received_at) -> bytes:
    """One event as the rollup reads it (received_at: a datetime or its ISO text)."""
    return orjson.dumps([page_view_id, kind, name, value, page, device, received_at])


def queue(items_by_site: dict[int, list[bytes]]) -> None:
    """Write an insert's new events to the inbox; call in the insert's transaction.

    A site with no such events still gets its row: its foreign key is what refuses the
    events of a site deleted meanwhile.
    """
    now = timezone.now()
    RollupInbox.objects.bulk_create(
        [
            RollupInbox(site_id=site_id, created=now, events=(b"[%s]" % b",".join(items)).decode())
            for site_id, items in sorted(items_by_site.items())
        ]
    )


def _claim(rows: int) -> dict[int, list[list]]:
    """Take the inbox's oldest rows: deleted in the caller's transaction, so a run that
    dies gives them back."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM rum_rollupinbox WHERE id IN "
            "(SELECT id FROM rum_rollupinbox ORDER BY id LIMIT %s) RETURNING site_id, events",
            [rows],
        )
        claimed = cursor.fetchall()
    by_site: dict[int, list[list]] = defaultdict(list)
    for site_id, events in claimed:
        try:
            found = orjson.loads(events)
        except orjson.JSONDecodeError:
            # Only `queue` writes these; one altered by hand must not stop every later run.
            log.error("dropped an unreadable rollup inbox row of site %s", site_id)
            continue
        by_site[site_id].extend(found)
    return by_site


def lock() -> None:
    """One rollup run (or page view recomputation) at a time, until the transaction ends.

    SQLite's write lock (immediate transactions) serialises them already.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def roll_up(max_seconds: float = 50.0) -> int:
    """Fold the inbox's events into the rollups; answer how many events were folded."""
    deadline = time.monotonic() + max_seconds
    folded = 0
    while True:
        with transaction.atomic():
            lock()
            by_site = _claim(INBOX_ROWS_PER_TRANSACTION)
            for site_id, events in by_site.items():
                if events:
                    folded += len(events)
                    _fold(site_id, events)
        if not by_site or time.monotonic() >= deadline:
            return folded


def drain_inbox() -> int:
    """roll_up until the inbox is empty (the demo loader, tests, privacy)."""
    return roll_up(max_seconds=float("inf"))


# --- Page views ------------------------------------------------------------------


@dataclass
class View:
    """A PageView row in memory."""

    first_at: datetime
    last_at: datetime
    page: str
    device: str
    from_pageview: bool
    source_at: datetime
    values: dict[str, float] = field(default_factory=dict)

    @property
    def hour(self) -> datetime:
        return self.first_at.replace(minute=0, second=0, microsecond=0)

    def source(self) -> tuple:
        # The least of these over its events gives a page view its page and device.
        return (not self.from_pageview, self.source_at, self.page, self.device)

    def fold(self, kind: str, name: str, value, page: str, device: str, moment: datetime):
        self.first_at = min(self.first_at, moment)
        self.last_at = max(self.last_at, moment)
        candidate = (kind != Event.PAGEVIEW, moment, page, device)
        if candidate < self.source():
            self.from_pageview, self.source_at, self.page, self.device = (
                kind == Event.PAGEVIEW,
                moment,
                page,
                device,
            )
        if kind == Event.VITAL and value is not None and name in vitals.VITALS:
            self.values[name] = max(value, self.values.get(name, value))

    @classmethod
    def first(cls, kind, name, value, page, device, moment) -> View:
        view = cls(moment, moment, page, device, kind == Event.PAGEVIEW, moment)
        view.fold(kind, name, value, page, device, moment)
        return view

    @classmethod
    def of(cls, row: PageView) -> View:
        return cls(
            row.first_at,
            row.last_at,
            row.page,
            row.device,
            row.from_pageview,
            row.source_at,
            dict(row.values),
        )


def _moment(value) -> datetime:
    moment = parse_datetime(value) if isinstance(value, str) else value
    if timezone.is_naive(moment):  # as the database takes it
        moment = timezone.make_aware(moment)
    return moment.astimezone(UTC)


def fold_events(events: Iterable[Iterable], views: dict[str, View] | None = None):
    """Fold [page_view_id, kind, name, value, page, device, received_at] into views."""
    views = {} if views is None else views
    for view_id, kind, name, value, page, device, received_at in events:
        if kind not in ROLLED_UP:
            continue
        moment = _moment(received_at)
        view = views.get(view_id)
        if view is None:
            views[view_id] = View.first(kind, name, value, page, device, moment)
        else:
            view.fold(kind, name, value, page, device, moment)
    return views


def _load_views(site_id: int, view_ids: Iterable[str]) -> dict[str, View]:
    ids, found = list(view_ids), {}
    for start in range(0, len(ids), 500):
        rows = PageView.objects.filter(site_id=site_id, page_view_id__in=ids[start : start + 500])
        found.update({row.page_view_id: View.of(row) for row in rows})
    return found


def _fold(site_id: int, events: list[list]) -> None:
    """Fold new events into their page views and the rollups."""
    view_ids = {event[0] for event in events}
    before = _load_views(site_id, view_ids)
    after = fold_events(events, {k: replace(v, values=dict(v.values)) for k, v in before.items()})
    changed = [k for k in view_ids if k in after and after[k] != before.get(k)]
    apply_changes(site_id, {k: before.get(k) for k in changed}, {k: after[k] for k in changed})


def recompute_page_views(views: Iterable[tuple[int, str]]) -> None:
    """After some of their events were deleted: refold these (site, page_view_id) from
    the events left, and take what went out of the rollups. Call in a transaction.

    The inbox is drained first, so that no deleted event is folded in afterwards.
    """
    lock()
    drain_inbox()
    by_site: dict[int, set[str]] = defaultdict(set)
    for site_id, view_id in views:
        by_site[site_id].add(view_id)
    for site_id, view_ids in by_site.items():
        before = _load_views(site_id, view_ids)
        if not before:
            continue
        # A page view's events all lie between its first and last: an indexed range.
        events = Event.objects.filter(
            site_id=site_id,
            kind__in=ROLLED_UP,
            received_at__gte=min(v.first_at for v in before.values()),
            received_at__lte=max(v.last_at for v in before.values()),
            page_view_id__in=list(before),
        ).values_list("page_view_id", "kind", "name", "value", "page", "device", "received_at")
        after = fold_events(events.iterator(chunk_size=2000))
        apply_changes(site_id, before, {k: after.get(k) for k in before})


# --- From page views to rollups --------------------------------------------------


@dataclass
class Figures:
    """A change to one Rollup row."""

    count: int = 0
    good: int = 0
    needs_improvement: int = 0
    poor: int = 0
    buckets: Counter = field(default_factory=Counter)


def contribute(figures: dict[tuple, Figures], view: View | None, page: str, sign: int = 1) -> None:
    """Add (sign 1) or take (-1) one page view's part of its hour's rollups, under `page`."""
    if view is None:
        return
    hour, device = view.hour, view.device

    def at(metric: str) -> Figures:
        key = (hour, page, metric, device)
        if key not in figures:
            figures[key] = Figures()
        return figures[key]

    at(vitals.PAGE_VIEWS).count += sign
    verdict = vitals.passes_core_web_vitals(view.values)
    if verdict is not None:
        cwv = at(vitals.CWV)
        cwv.count += sign
        if verdict:
            cwv.good += sign
        else:
            cwv.poor += sign
    for name, value in view.values.items():
        row = at(name)
        row.count += sign
        rating = vitals.VITALS[name].rate(value)
        if rating == vitals.GOOD:
            row.good += sign
        elif rating == vitals.NEEDS_IMPROVEMENT:
            row.needs_improvement += sign
        else:
            row.poor += sign
        row.buckets[sketch.bucket_index(value)] += sign


def apply_changes(
    site_id: int, before: dict[str, View | None], after: dict[str, View | None]
) -> None:
    """Page views changed from `before` to `after` (None: none): store them, keep the
    hours' pages ranked, and move the difference into the rollups."""
    _store_views(site_id, after)
    gained: dict[tuple[datetime, str], datetime] = {}
    lost: set[tuple[datetime, str]] = set()
    for view_id, new in after.items():
        old = before.get(view_id)
        if new is not None:
            key = (new.hour, new.page)
            gained[key] = min(new.first_at, gained.get(key, new.first_at))
        # Its page may have lost its first page view in the hour, or its only one.
        if old is not None and (
            new is None
            or (old.hour, old.page) != (new.hour, new.page)
            or new.first_at > old.first_at
        ):
            lost.add((old.hour, old.page))
    was_kept, is_kept, flipped = _rank_pages(site_id, gained, lost)

    def page(view: View, kept: dict) -> str:
        return view.page if kept.get((view.hour, view.page), False) else OTHER_PAGES

    figures: dict[tuple, Figures] = {}
    for view_id, new in after.items():
        old = before.get(view_id)
        if old is not None:
            contribute(figures, old, page(old, was_kept), -1)
        if new is not None:
            contribute(figures, new, page(new, is_kept), 1)
    # A page that got or lost rollups of its own takes its other page views along.
    for hour, page_name in flipped:
        rows = PageView.objects.filter(site_id=site_id, hour=hour, page=page_name).exclude(
            page_view_id__in=list(after)
        )
        for row in rows.iterator(chunk_size=2000):
            view = View.of(row)
            contribute(figures, view, page(view, was_kept), -1)
            contribute(figures, view, page(view, is_kept), 1)
    _apply_figures(site_id, figures)


def _store_views(site_id: int, after: dict[str, View | None]) -> None:
    gone = [view_id for view_id, view in after.items() if view is None]
    PageView.objects.filter(site_id=site_id, page_view_id__in=gone).delete()
    PageView.objects.bulk_create(
        [
            PageView(site_id=site_id, page_view_id=view_id, hour=view.hour, **vars(view))
            for view_id, view in after.items()
            if view is not None
        ],
        batch_size=500,
        update_conflicts=True,
        unique_fields=["site", "page_view_id"],
        update_fields=[
            "hour",
            "first_at",
            "last_at",
            "page",
            "device",
            "from_pageview",
            "source_at",
            "values",
        ],  # fmt: skip
    )


def _rank_pages(site_id: int, gained: dict, lost: set) -> tuple[dict, dict, set]:
    """Update the hours' pages; answer which (hour, page) had rollups of their own before,
    which have now, and those that changed.

    An hour is ranked again (its first RUM_MAX_PAGES_PER_HOUR pages read, one index
    range) only when a page came, went or was seen earlier: not for each page view.
    """
    keys = set(gained) | lost
    rows: dict[tuple, HourPage] = {}
    for hour in {h for h, _ in keys}:
        pages = [p for h, p in keys if h == hour]
        for row in HourPage.objects.filter(site_id=site_id, hour=hour, page__in=pages):
            rows[row.hour, row.page] = row
    was_kept = {key: row.kept for key, row in rows.items()}
    to_rank: set[datetime] = set()
    for hour, page in keys:
        row = rows.get((hour, page))
        if (hour, page) in lost:
            # The page views are stored already: the page's first one is read back.
            first_at = PageView.objects.filter(site_id=site_id, hour=hour, page=page).aggregate(
                first=Min("first_at")
            )["first"]
        else:
            first_at = min(gained[hour, page], row.first_at) if row else gained[hour, page]
        if row is None:
            if first_at is not None:
                HourPage.objects.create(site_id=site_id, hour=hour, page=page, first_at=first_at)
                to_rank.add(hour)
        elif first_at is None:
            row.delete()
            to_rank.add(hour)
        elif first_at != row.first_at:
            HourPage.objects.filter(id=row.id).update(first_at=first_at)
            to_rank.add(hour)
    is_kept = dict(was_kept)
    flipped: set[tuple[datetime, str]] = set()
    for hour in to_rank:
        in_hour = HourPage.objects.filter(site_id=site_id, hour=hour)
        wanted = set(
            in_hour.order_by("first_at", "page").values_list("page", flat=True)[
                : settings.RUM_MAX_PAGES_PER_HOUR
            ]
        )
        kept = set(in_hour.filter(kept=True).values_list("page", flat=True))
        if wanted != kept:
            in_hour.filter(page__in=list(wanted - kept)).update(kept=True)
            in_hour.filter(page__in=list(kept - wanted)).update(kept=False)
        for page in wanted | kept:
            is_kept[hour, page] = page in wanted
            was_kept.setdefault((hour, page), page in kept)
        flipped |= {(hour, page) for page in wanted ^ kept}
    # Pages new to the hour were not kept before; pages now gone are not kept after.
    for key in keys:
        is_kept.setdefault(key, False)
    return was_kept, is_kept, flipped


def _add_to_histogram(stored, change: Counter) -> bytes:
    """The one place that knows how Rollup.histogram is stored: decode, add, encode.

    Stored in lib.sketch's encoding; `change` counts per sketch.bucket_index(value).
    """
    counts = Counter(sketch.decode(stored))
    counts.update(change)
    return sketch.encode(counts)


def _apply_figures(site_id: int, figures: dict[tuple, Figures]) -> None:
    """Add the changes to the Rollup rows; a row that counts nothing any more is deleted."""
    figures = {
        key: f
        for key, f in figures.items()
        if f.count or f.good or f.needs_improvement or f.poor or any(f.buckets.values())
    }
    if not figures:
        return
    existing: dict[tuple, Rollup] = {}
    for hour in {k[0] for k in figures}:
        pages = {k[1] for k in figures if k[0] == hour}
        for row in Rollup.objects.filter(site_id=site_id, hour=hour, page__in=pages):
            existing[row.hour, row.page, row.metric, row.device] = row
    changed, created, gone = [], [], []
    for key, change in figures.items():
        row = existing.get(key)
        if row is None:
            hour, page, metric, device = key
            row = Rollup(site_id=site_id, hour=hour, page=page, metric=metric, device=device)
        row.count += change.count
        row.good += change.good
        row.needs_improvement += change.needs_improvement
        row.poor += change.poor
        row.histogram = _add_to_histogram(row.histogram, change.buckets)
        if row.count < 0 or min(row.good, row.needs_improvement, row.poor) < 0:
            raise ValueError(f"rollup {key} would count below zero")
        if row.count == 0:
            if row.pk:
                gone.append(row.pk)
        else:
            (changed if row.pk else created).append(row)
    Rollup.objects.filter(pk__in=gone).delete()
    Rollup.objects.bulk_create(created, batch_size=500)
    # One statement per row, pipelined: a bulk update would quote every histogram into one
    # array literal, which cost more than the rest of the run.
    histogram = Rollup._meta.get_field("histogram")
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE rum_rollup SET count = %s, good = %s, needs_improvement = %s, poor = %s, "
            "histogram = %s WHERE id = %s",
            [
                (
                    row.count, row.good, row.needs_improvement, row.poor,
                    histogram.get_db_prep_save(row.histogram, connection), row.pk,
                )
                for row in changed
            ],
        )  # fmt: skip


def rebuild_hour(site_id: int, hour: datetime) -> int:
    """Repair: an hour's pages and rollups counted again from its page views (delete,
    then insert). Answers how many rollup rows it has."""
    with transaction.atomic():
        lock()
        views = [View.of(row) for row in PageView.objects.filter(site_id=site_id, hour=hour)]
        first: dict[str, datetime] = {}
        for view in views:
            first[view.page] = min(view.first_at, first.get(view.page, view.first_at))
        ranked = sorted(first, key=lambda page: (first[page], page))
        kept = set(ranked[: settings.RUM_MAX_PAGES_PER_HOUR])
        HourPage.objects.filter(site_id=site_id, hour=hour).delete()
        HourPage.objects.bulk_create(
            [
                HourPage(site_id=site_id, hour=hour, page=p, first_at=t, kept=p in kept)
                for p, t in first.items()
            ],
            batch_size=500,
        )
        figures: dict[tuple, Figures] = {}
        for view in views:
            contribute(figures, view, view.page if view.page in kept else OTHER_PAGES)
        Rollup.objects.filter(site_id=site_id, hour=hour).delete()
        _apply_figures(site_id, figures)
    return len(figures)


# --- Retention -------------------------------------------------------------------


def purge_expired(now: datetime) -> dict[str, int]:
    """Delete rollups past their retention, and what counted the hours whose events are gone.

    Raw events' retention is rum/retention.py's, which calls this.
    """
    for site in Site.objects.all():
        purge_page_views(site, now - timedelta(days=site.retention))
    rollup_cutoff = now - timedelta(days=settings.RETENTION_HOURLY_ROLLUPS_DAYS)
    return {"rollups": Rollup.objects.filter(hour__lt=rollup_cutoff).delete()[0]}


def purge_page_views(site: Site, cutoff: datetime) -> None:
    """Page views, hours' pages and inbox rows kept as long as the raw events.

    Hours ending before the cutoff: their rollups stay, what counted them goes.
    """
    PageView.objects.filter(site=site, hour__lt=cutoff - HOUR).delete()
    HourPage.objects.filter(site=site, hour__lt=cutoff - HOUR).delete()
    RollupInbox.objects.filter(site=site, created__lt=cutoff).delete()
