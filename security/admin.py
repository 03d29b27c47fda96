"""Security events in the admin: read only, for everyone (a record nobody may rewrite)."""

from axes import admin as axes_admin
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.utils import timezone

from config import display_time
from security.models import SecurityEvent


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    list_display = ("when", "kind", "username", "subject", "address", "user_agent_class", "path")
    list_filter = ("kind", "user_agent_class")
    search_fields = ("username", "subject", "address", "detail")
    date_hierarchy = "at"
    list_select_related = ("user",)
    fields = ("at", "kind", "user", "username", "subject", "address", "user_agent_class", "path",
              "detail")  # fmt: skip
    readonly_fields = fields

    @admin.display(description="Time", ordering="at")
    def when(self, event):
        return display_time.text(event.at, seconds=True)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """django-axes's attempts, whose clean-up action declares no permission of its own
    (and fails on a request the lockout did not see)."""

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        threshold = timezone.now() - settings.AXES_COOLOFF_TIME
        count, _ = AccessAttempt.objects.filter(attempt_time__lte=threshold).delete()
        self.message_user(request, f"Cleaned up {count} expired access attempts.")


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, AccessAttemptAdmin)
