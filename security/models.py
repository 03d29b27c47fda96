"""Security events: who did what, from where, with what kind of client."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
LOCKOUT = "lockout"
PERMISSION_DENIED = "permission_denied"
TOKEN_USED = "token_used"  # noqa: S105  (an event kind, not a secret)
TOKEN_REJECTED = "token_rejected"  # noqa: S105
USER_CREATED = "user_created"
USER_CHANGED = "user_changed"
USER_DELETED = "user_deleted"
SUPERUSER_GRANTED = "superuser_granted"
SUPERUSER_REVOKED = "superuser_revoked"
PASSWORD_CHANGED = "password_changed"  # noqa: S105
GROUPS_CHANGED = "groups_changed"
PERMISSIONS_CHANGED = "permissions_changed"
GROUP_CHANGED = "group_changed"

KINDS = [
    (LOGIN, "Login"),
    (LOGIN_FAILED, "Failed login"),
    (LOGOUT, "Logout"),
    (LOCKOUT, "Lockout"),
    (PERMISSION_DENIED, "Permission denied"),
    (TOKEN_USED, "API token used"),
    (TOKEN_REJECTED, "API token rejected"),
    (USER_CREATED, "User created"),
    (USER_CHANGED, "User changed"),
    (USER_DELETED, "User deleted"),
    (SUPERUSER_GRANTED, "Made superuser"),
    (SUPERUSER_REVOKED, "No longer superuser"),
    (PASSWORD_CHANGED, "Password changed"),
    (GROUPS_CHANGED, "Groups changed"),
    (PERMISSIONS_CHANGED, "Permissions changed"),
    (GROUP_CHANGED, "Group changed"),
]

BROWSER, BOT, SCRIPT, UNKNOWN = "browser", "bot", "script", "unknown"
USER_AGENT_CLASSES = [
    (BROWSER, "Browser"),
    (BOT, "Bot"),
    (SCRIPT, "Script / CLI"),
    (UNKNOWN, "Unknown"),
]


class SecurityEvent(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=32, choices=KINDS, db_index=True)
    # Who was signed in (or signed in / out); None for anonymous requests.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The attempted username of a login, else the signed-in user's name (kept when the
    # user is deleted).
    username = models.CharField(max_length=150, blank=True)
    # The user or group a change was made to.
    subject = models.CharField(max_length=160, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    user_agent_class = models.CharField(max_length=10, choices=USER_AGENT_CLASSES, default=UNKNOWN)
    path = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["kind", "at"])]
        permissions = [("view_dashboard", "Can view the security dashboard")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.username or self.subject}".strip()
