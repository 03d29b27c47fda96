from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from alerts.deliveries import send_test
from alerts.forms import ChannelForm
from alerts.models import Channel, ChannelKind


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "kind", "target", "status_column", "last_delivery_column"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "target"]
    readonly_fields = ["disabled_reason", "disabled_at", "signing_help"]
    actions = ["send_test_notification"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "target", "enabled"]}),
        ("Webhook", {"fields": ["payload_format", "secret", "signing_help"]}),
        ("Disabled", {"fields": ["disabled_reason", "disabled_at"]}),
    ]

    class Media:
        css = {"all": ["alerts/alerts.css"]}

    @admin.display(description="status", ordering="enabled")
    def status_column(self, channel):
        if channel.enabled:
            return format_html('<span class="alerts-ok">{}</span>', "enabled")
        reason = channel.disabled_reason or "by hand"
        return format_html('<span class="alerts-unavailable">disabled: {}</span>', reason)

    @admin.display(description="last delivery")
    def last_delivery_column(self, channel):
        attempt = channel.attempts.order_by("-started_at").first()
        if attempt is None:
            return "–"
        outcome = "ok" if attempt.ok else attempt.error[:80]
        return f"{attempt.started_at:%Y-%m-%d %H:%M} {outcome}"

    @admin.display(description="verifying the signature")
    def signing_help(self, channel):
        if channel.kind != ChannelKind.WEBHOOK:
            return "Only webhooks are signed."
        return (
            "Each request carries X-Signature: sha256=<hex>, the HMAC-SHA256 of the raw body "
            "with the secret above; X-Timestamp (also in the body as sent_at) and "
            "Idempotency-Key (the same on every retry of one message)."
        )

    @admin.action(description="Send a test notification", permissions=["change"])
    def send_test_notification(self, request, queryset):
        for channel in queryset:
            outcome = send_test(channel)
            if outcome.status == "sent":
                self.message_user(
                    request, f"Test sent to “{channel}”: {outcome.detail}.", messages.SUCCESS
                )
            else:
                self.message_user(
                    request, f"Test to “{channel}” failed: {outcome.detail}", messages.ERROR
                )
