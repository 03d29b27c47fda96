"""RUM storage: sites that send beacons, raw events, and hourly rollups."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from config import display_time


def new_public_key() -> str:
    return secrets.token_urlsafe(18)


def validate_origin(value: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValidationError(f"{value!r} is not an origin like https://shop.example.com")


class Site(models.Model):
    """A website that loads the RUM script with this site's public key."""

    name = models.CharField(max_length=100, unique=True)
    public_key = models.CharField(
        max_length=64,
        unique=True,
        default=new_public_key,
        help_text="Goes into the script tag as data-site-key. Public: it only allows sending.",
    )
    allowed_origins = models.TextField(
        blank=True,
        help_text="Origins allowed to send beacons, one per line, e.g. https://shop.example.com",
    )
    sample_rate = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of sessions kept, 0 to 1 (put the same value in data-sample-rate).",
    )
    consent_required = models.BooleanField(
        default=False,
        help_text="Refuse beacons until the page calls rum.consent(true) "
        "(add data-require-consent to the script tag).",
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Days raw events are kept; empty means RETENTION_RUM_EVENTS_DAYS.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        for origin in self.origin_list():
            validate_origin(origin)

    def origin_list(self) -> list[str]:
        return [
            line.strip().rstrip("/") for line in self.allowed_origins.splitlines() if line.strip()
        ]

    @property
    def retention(self) -> int:
        return self.retention_days or settings.RETENTION_RUM_EVENTS_DAYS


class Event(models.Model):
    """One thing a browser reported: a page view, a vital, a JS error or a custom event.

    No raw IP and no query string are stored; `page` is the normalised path
    (`/orders/:id`). `(event_key, site, received_at)` is unique: the idempotency key
    that makes re-inserting a batch harmless (a batch keeps the arrival time the
    endpoint gave it, however often it is inserted).

    On PostgreSQL the table is partitioned by day of `received_at` (see
    rum/partitions.py): the primary key there is (id, received_at), the unique key
    has to include received_at, and `rum_event_received` is a BRIN index.
    """

    PAGEVIEW, VITAL, ERROR, CUSTOM = "pageview", "vital", "error", "custom"
    KINDS = [(k, k) for k in (PAGEVIEW, VITAL, ERROR, CUSTOM)]

    # No foreign key in the database, no index of its own: checking the key for every row
    # was a quarter of the insert's cost, and (site, ...) indexes below serve lookups. A
    # deleted site's beacons are still refused: their insert writes a RollupInbox row,
    # whose foreign key fails, in the same transaction. Deleting a site deletes its events.
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, related_name="events", db_constraint=False, db_index=False
    )
    event_key = models.CharField(max_length=140)
    received_at = models.DateTimeField()
    session_id = models.CharField(max_length=64)
    page_view_id = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=KINDS)
    host = models.CharField(max_length=255, blank=True)
    page = models.CharField(max_length=500)
    route = models.CharField(max_length=300, blank=True)
    name = models.CharField(max_length=100, blank=True)  # LCP ... or a custom event's name
    value = models.FloatField(null=True)
    delta = models.FloatField(null=True)
    rating = models.CharField(max_length=20, blank=True)
    navigation_type = models.CharField(max_length=24, blank=True)
    target = models.CharField(max_length=300, blank=True)  # LCP element, INP/CLS target
    device = models.CharField(max_length=10)
    browser = models.CharField(max_length=60, blank=True)
    os = models.CharField(max_length=60, blank=True)
    connection = models.CharField(max_length=10, blank=True)
    server_ms = models.FloatField(null=True)
    db_ms = models.FloatField(null=True)
    message = models.TextField(blank=True)
    fingerprint = models.CharField(max_length=40, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event_key", "site", "received_at"], name="rum_event_idempotency"
            )
        ]
        indexes = [
            models.Index(fields=["received_at"], name="rum_event_received"),
            models.Index(fields=["site", "kind", "received_at"], name="rum_event_site_kind"),
            models.Index(fields=["session_id"], name="rum_event_session"),
        ]

    def __str__(self):
        return f"{self.kind} {self.name} {self.page}"


class Rollup(models.Model):
    """Per site, page, metric, device class and hour: counts, ratings and a log histogram.

    `metric` is a vital (LCP, INP, CLS, FCP, TTFB), PV (page views) or CWV
    (page views assessed on Core Web Vitals; `good` = those passing all).
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="rollups")
    hour = models.DateTimeField()
    page = models.CharField(max_length=500)
    metric = models.CharField(max_length=8)
    device = models.CharField(max_length=10)
    count = models.PositiveIntegerField(default=0)
    good = models.PositiveIntegerField(default=0)
    needs_improvement = models.PositiveIntegerField(default=0)
    poor = models.PositiveIntegerField(default=0)
    # The values' sketch in lib.sketch's binary encoding (b"" for PV and CWV rows).
    histogram = models.BinaryField(default=bytes, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "hour", "page", "metric", "device"], name="rum_rollup_unique"
            )
        ]
        indexes = [models.Index(fields=["hour", "metric"], name="rum_rollup_hour_metric")]

    def __str__(self):
        return f"{self.site} {display_time.text(self.hour)} {self.page} {self.metric} {self.device}"


class RollupInbox(models.Model):
    """One insert's new page views and vitals for one site, waiting for the rollup.

    Written in the insert's transaction, so a row is there exactly when its events are.
    `events` is a JSON array of [page_view_id, kind, name, value, page, device,
    received_at] (see `rum.fold.inbox_item`): the rollup reads these, not rum_event.
    The site's foreign key, checked at commit, also refuses a deleted site's beacons.
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, db_index=False)
    created = models.DateTimeField()
    events = models.TextField()

    def __str__(self):
        return f"{self.site} {display_time.text(self.created)}"


class PageView(models.Model):
    """What the rollups know of one page view: folded from its events, in any order.

    Every field is a minimum or a maximum over the page view's events, so folding an
    event twice, or events in any order, gives the same row (see `rum.fold`).
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, db_index=False)
    page_view_id = models.CharField(max_length=80)
    hour = models.DateTimeField()  # of `first_at`
    first_at = models.DateTimeField()  # its first event
    last_at = models.DateTimeField()  # its last event
    # Page and device come from the first pageview event, else from the first event.
    page = models.CharField(max_length=500)
    device = models.CharField(max_length=10)
    from_pageview = models.BooleanField()
    source_at = models.DateTimeField()
    values = models.JSONField(default=dict)  # vital name -> final (largest) value

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "page_view_id"], name="rum_pageview_unique")
        ]
        indexes = [
            models.Index(fields=["site", "hour", "page", "first_at"], name="rum_pageview_hour"),
        ]

    def __str__(self):
        return f"{self.site} {self.page_view_id}"


class HourPage(models.Model):
    """A page with page views in an hour: since when, and whether it has rollups of its own.

    `kept`: among the RUM_MAX_PAGES_PER_HOUR pages seen first in the hour; the others'
    page views are rolled up as "(other pages)".
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, db_index=False)
    hour = models.DateTimeField()
    page = models.CharField(max_length=500)
    first_at = models.DateTimeField()  # the first event of its first page view in the hour
    kept = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "hour", "page"], name="rum_hourpage_unique")
        ]
        indexes = [
            models.Index(fields=["site", "hour", "first_at", "page"], name="rum_hourpage_rank"),
        ]

    def __str__(self):
        return f"{self.site} {display_time.text(self.hour)} {self.page}"


class RumDashboard(models.Model):
    """No table: carries the permission to see the RUM dashboards and API."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_rum", "Can view the Real User Monitoring dashboards")]

    def __str__(self):
        return "Real user monitoring"
