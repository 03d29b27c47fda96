from django.contrib import admin
from django.utils.html import format_html_join

from audit.models import AuditEntry
from audit.text import changes_text, when


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: an audit trail nobody can rewrite."""

    list_display = ["when", "username", "address", "action", "model", "object_repr", "summary"]
    list_filter = ["action", "model"]
    search_fields = ["username", "object_repr", "object_id", "source"]
    date_hierarchy = "at"
    readonly_fields = ["when", "changes_list"]
    fields = [
        "when",
        "username",
        "user_id",
        "address",
        "source",
        "action",
        "model",
        "object_id",
        "object_repr",
        "changes_list",
        "detail",
    ]
    actions = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="when", ordering="at")
    def when(self, entry):
        return when(entry.at)

    @admin.display(description="changes")
    def summary(self, entry):
        return changes_text(entry.changes)[:200]

    @admin.display(description="changes")
    def changes_list(self, entry):
        lines = changes_text(entry.changes, separator="\n").splitlines()
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines)) or "–"
