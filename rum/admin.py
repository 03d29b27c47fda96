"""Admin of RUM sites and raw events (a list of millions of rows: no full count nor scan)."""

import json
from functools import cached_property

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.utils.html import format_html

from rum import useragent, vitals
from rum.models import Event, Site


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to EXACT_UP_TO rows; past that, says PostgreSQL's estimate.

    An exact count of millions of rows reads them all, for every page of the list.
    """

    EXACT_UP_TO = 10_000

    @cached_property
    def count(self) -> int:
        # Counting a slice stops at its LIMIT.
        counted = self.object_list.order_by()[: self.EXACT_UP_TO + 1].count()
        if counted <= self.EXACT_UP_TO:
            return counted
        if connection.vendor != "postgresql":  # SQLite cannot estimate; its tables are small
            return super().count
        # The planner's row estimate (table statistics: reltuples, the filters' selectivity).
        plan = json.loads(self.object_list.order_by().explain(format="json"))
        return max(int(plan[0]["Plan"]["Plan Rows"]), counted)


class ChoicesFilter(admin.SimpleListFilter):
    """By one of a column's known values: no DISTINCT over the table to list them."""

    values: tuple[str, ...] = ()

    def lookups(self, request, model_admin):
        return [(value, value) for value in self.values]

    def queryset(self, request, queryset):
        if self.value() in self.values:
            return queryset.filter(**{self.parameter_name: self.value()})
        return queryset


class DeviceFilter(ChoicesFilter):
    title = parameter_name = "device"
    values = (useragent.DESKTOP, useragent.MOBILE, useragent.TABLET, useragent.BOT, useragent.OTHER)


class RatingFilter(ChoicesFilter):
    title = parameter_name = "rating"
    values = vitals.RATINGS


class VitalFilter(admin.SimpleListFilter):
    """By vital: custom event names are a client's to choose, so they get no list of choices."""

    title = "vital"
    parameter_name = "vital"

    def lookups(self, request, model_admin):
        return [(name, name) for name in vitals.NAMES]

    def queryset(self, request, queryset):
        if self.value() in vitals.NAMES:
            return queryset.filter(kind=Event.VITAL, name=self.value())
        return queryset


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("name", "public_key", "sample_rate", "consent_required", "retention_days")
    search_fields = ("name", "public_key")
    readonly_fields = ("snippet", "created")
    fields = (
        "name",
        "public_key",
        "allowed_origins",
        "sample_rate",
        "consent_required",
        "retention_days",
        "snippet",
        "created",
    )

    @admin.display(description="Script tag")
    def snippet(self, site):
        if not site.pk:
            return "Save the site to get its script tag."
        from django.conf import settings

        consent = " data-require-consent" if site.consent_required else ""
        rate = f' data-sample-rate="{site.sample_rate:g}"' if site.sample_rate < 1 else ""
        tag = (
            f'<script src="{settings.SITE_URL}/static/rum/rum.js" '
            f'data-site-key="{site.public_key}"{rate}{consent} defer></script>'
        )
        return format_html("<code>{}</code>", tag)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "site", "kind", "name", "value", "rating", "page", "device")
    # A date filter, not date_hierarchy: that lists the years present, over every row.
    list_filter = ("received_at", "kind", VitalFilter, DeviceFilter, RatingFilter, "site")
    # An exact session id (see get_search_results): its index answers; a substring, or
    # "=session_id" (a case-insensitive match), would read every row.
    search_fields = ("session_id",)
    search_help_text = "An exact session id: to find a visitor's events (GDPR requests)."
    actions = ["forget_sessions"]
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # Newest first by the primary key's index; no column sorts: none has an index to
    # sort millions of rows by.
    ordering = ("-id",)
    sortable_by = ()

    def get_search_results(self, request, queryset, search_term):
        session = search_term.strip()
        return (queryset.filter(session_id=session) if session else queryset), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(
        description="GDPR: delete every event of the selected events' sessions",
        permissions=["delete"],
    )
    def forget_sessions(self, request, queryset):
        from rum.privacy import forget_sessions

        sessions = set(queryset.values_list("session_id", flat=True))
        deleted = forget_sessions(sessions)
        self.message_user(
            request,
            f"Deleted {deleted} events of {len(sessions)} session(s).",
            messages.SUCCESS,
        )
