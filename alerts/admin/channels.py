from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from alerts.deliveries import send_test
from alerts.forms import ChannelForm
from alerts.models import Channel, ChannelKind
from alerts.models.channels import masked
from config import display_time


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "kind", "target_column", "status_column", "last_delivery_column"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
    readonly_fields = [
        "disabled_reason",
        "disabled_at",
        "signing_help",
        "target_column",
        "secret_column",
    ]
    actions = ["send_test_notification"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "target", "enabled"]}),
        ("Webhook", {"fields": ["payload_format", "new_secret", "rotate_secret", "signing_help"]}),
        ("Disabled", {"fields": ["disabled_reason", "disabled_at"]}),
    ]
    # Who may only view a channel sees its secrets masked, never the fields holding them.
    view_only_fields = {
        "target": "target_column",
        "new_secret": "secret_column",
        "rotate_secret": None,
    }

    class Media:
        css = {"all": ["alerts/alerts.css"]}

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        swap = self.view_only_fields
        return [
            (
                title,
                {
                    **options,
                    "fields": [swap.get(f, f) for f in options["fields"] if swap.get(f, f)],
                },
            )
            for title, options in fieldsets
        ]

    def get_search_results(self, request, queryset, search_term):
        """Names, and the URLs and addresses that are no secret (never a Slack URL: searching
        it letter by letter would read it back)."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        if search_term:
            visible = queryset.exclude(kind=ChannelKind.SLACK)
            found |= visible.filter(target__icontains=search_term)
        return found, duplicates

    @admin.display(description="target")
    def target_column(self, channel):
        return channel.target_shown

    @admin.display(description="signing secret")
    def secret_column(self, channel):
        return masked(channel.secret) if channel.kind == ChannelKind.WEBHOOK else "–"

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
        return f"{display_time.text(attempt.started_at)} {outcome}"

    @admin.display(description="verifying the signature")
    def signing_help(self, channel):
        if channel.kind != ChannelKind.WEBHOOK:
            return "Only webhooks are signed."
        return (
            "Each request carries X-Timestamp (Unix seconds), Idempotency-Key (the same on "
            "every retry of one message) and X-Signature: sha256=<hex>, the HMAC-SHA256 with "
            "the secret of the timestamp, a newline, the key, a newline and the raw body. "
            "Refuse a message older than 5 minutes or whose key you have seen."
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
