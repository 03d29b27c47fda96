from django.contrib import admin, messages
from django.utils.html import format_html

from rum import vitals
from rum.models import Event, Site


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
    list_filter = ("kind", VitalFilter, "device", "rating", "site")
    search_fields = ("session_id", "page", "message")
    date_hierarchy = "received_at"
    actions = ["forget_sessions"]
    list_per_page = 50

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
