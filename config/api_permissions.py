"""Who may call a staff API: the same permission as the dashboard page it serves.

    permission_classes = [staff_with("rum.view_rum")]

Every staff API view names its permissions this way, so an API never answers
someone its dashboard refuses; one that changes things names a change-level one.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission


def staff_with(*permissions: str) -> type[BasePermission]:
    """A DRF permission class: an active staff user holding every one of `permissions`."""

    class StaffWith(BasePermission):
        message = f"Staff with the permission {' and '.join(permissions)} only."

        def has_permission(self, request, view):
            user = request.user
            return bool(user and user.is_active and user.is_staff and user.has_perms(permissions))

    StaffWith.__name__ = StaffWith.__qualname__ = f"StaffWith({', '.join(permissions)})"
    return StaffWith
