"""Read-only history: alerts with their timelines, notifications with their attempts."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from alerts.acks import PERMISSION as ACKNOWLEDGE_PERMISSION
from alerts.acks import acknowledge
from alerts.models import Alert, AlertEvent, DeliveryAttempt, Notification, ReceivedWebhook


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventInline(ReadOnlyMixin, admin.TabularInline):
    model = AlertEvent
    fields = ["at", "previous", "state", "value", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "timeline"


class NotificationInline(ReadOnlyMixin, admin.TabularInline):
    model = Notification
    fields = ["created_at", "kind", "channel", "status", "attempts", "sent_at", "last_error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Alert)
class AlertAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "state",
        "severity_column",
        "value",
        "started_at",
        "fired_at",
        "resolved_at",
        "acknowledged_at",
        "silenced",
    ]
    list_filter = ["state", "rule__severity", "silenced", "rule"]
    search_fields = ["rule__name", "labels_key"]
    date_hierarchy = "started_at"
    list_select_related = ["rule"]
    inlines = [EventInline, NotificationInline]
    actions = ["acknowledge_selected"]
    fields = [
        "rule",
        "labels",
        "state",
        "value",
        "started_at",
        "fired_at",
        "resolved_at",
        "evaluated_at",
        "no_data_since",
        "silenced",
        "acknowledged_at",
        "acknowledged_by",
        "notified_at",
        "last_notified_at",
        "repeats",
        "escalated_at",
    ]

    @admin.display(description="severity", ordering="rule__severity")
    def severity_column(self, alert):
        return alert.rule.get_severity_display()

    def has_acknowledge_permission(self, request):
        return request.user.has_perm(ACKNOWLEDGE_PERMISSION)

    @admin.action(description="Acknowledge the selected alerts", permissions=["acknowledge"])
    def acknowledge_selected(self, request, queryset):
        done = sum(acknowledge(alert, by=request.user.get_username()) for alert in queryset)
        self.message_user(request, f"Acknowledged {done} alert(s).")

    def get_urls(self):
        return [
            path(
                "<int:alert_id>/acknowledge/",
                self.admin_site.admin_view(require_POST(self.acknowledge_view)),
                name="alerts_alert_acknowledge",
            ),
            *super().get_urls(),
        ]

    def acknowledge_view(self, request, alert_id):
        if not self.has_acknowledge_permission(request):
            raise PermissionDenied
        alert = get_object_or_404(Alert, pk=alert_id)
        if acknowledge(alert, by=request.user.get_username()):
            messages.success(request, f"Acknowledged “{alert}”.")
        else:
            messages.info(request, f"“{alert}” is closed or was already acknowledged.")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
            back = reverse("admin:dashboard", args=["alerts"])
        return redirect(back)


class AttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = DeliveryAttempt
    fields = ["started_at", "ok", "status_code", "duration_ms", "permanent", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "kind", "channel", "alert", "status", "attempts", "last_error"]
    list_filter = ["status", "kind", "channel"]
    list_select_related = ["channel", "alert__rule"]
    date_hierarchy = "created_at"
    inlines = [AttemptInline]
    fields = [
        "alert",
        "channel",
        "kind",
        "status",
        "idempotency_key",
        "created_at",
        "sent_at",
        "attempts",
        "next_attempt_at",
        "last_error",
        "message",
    ]
    readonly_fields = ["message"]

    @admin.display(description="message")
    def message(self, notification):
        return format_html("<pre>{}</pre>", json.dumps(notification.context, indent=2))


@admin.register(ReceivedWebhook)
class ReceivedWebhookAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The built-in receiver's inbox: what webhook channels pointed at it have sent."""

    list_display = ["received_at", "channel", "title"]
    list_filter = ["channel"]
    fields = ["channel", "received_at", "idempotency_key", "headers_text", "body_text"]
    readonly_fields = ["headers_text", "body_text"]

    @admin.display(description="title")
    def title(self, received):
        body = received.body if isinstance(received.body, dict) else {}
        alerts = body.get("alerts") or [{}]
        return body.get("title") or alerts[0].get("annotations", {}).get("summary", "–")

    @admin.display(description="headers")
    def headers_text(self, received):
        return format_html("<pre>{}</pre>", json.dumps(received.headers, indent=2))

    @admin.display(description="body")
    def body_text(self, received):
        return format_html("<pre>{}</pre>", json.dumps(received.body, indent=2))
