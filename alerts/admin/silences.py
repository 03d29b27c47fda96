from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone

from alerts.forms import MaintenanceWindowForm, SilenceForm, parse_pairs
from alerts.models import MaintenanceWindow, Silence
from config import display_time
from config.query_string import query_id


class ActiveFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("upcoming", "Upcoming"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(starts_at__lte=now, ends_at__gt=now)
        if self.value() == "upcoming":
            return queryset.filter(starts_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(ends_at__lte=now)
        return queryset


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    form = SilenceForm
    list_display = [
        "matchers_text",
        "starts_at",
        "ends_at",
        "active_column",
        "comment",
        "created_by",
    ]
    list_filter = [ActiveFilter]
    list_select_related = ["rule", "created_by"]
    actions = ["expire_now"]

    @admin.display(description="active", boolean=True)
    def active_column(self, silence):
        return silence.active_at(timezone.now())

    def get_changeform_initial_data(self, request):
        """Prefilled from the dashboard's Silence button: ?rule=<id>&labels=host=web-1."""
        now = timezone.now().replace(second=0, microsecond=0)
        initial = {"starts_at": now, "ends_at": now + timedelta(hours=2)}
        rule_id = query_id(request.GET.get("rule"))
        if rule_id is not None:
            initial["rule"] = rule_id
        try:
            initial["labels"] = parse_pairs(request.GET.get("labels", ""))
        except ValidationError:  # a malformed link: start from empty labels
            initial["labels"] = {}
        return initial

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="End the selected silences now", permissions=["change"])
    def expire_now(self, request, queryset):
        now = timezone.now()
        count = queryset.filter(ends_at__gt=now).update(ends_at=now)
        self.message_user(request, f"Ended {count} silence(s); notifications resume.")


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    form = MaintenanceWindowForm
    list_display = ["name", "matchers_text", "schedule_text", "enabled", "active_column"]
    list_filter = ["enabled"]

    @admin.display(description="active now", boolean=True)
    def active_column(self, window):
        return window.enabled and window.active_at(timezone.now())

    def get_changeform_initial_data(self, request):
        # Hours are typed by people who think in the display zone, not in UTC.
        initial = super().get_changeform_initial_data(request)
        return {"time_zone": display_time.zone_name(), **initial}
