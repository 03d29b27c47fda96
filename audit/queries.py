"""The audit log as the page and its CSV export read it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from audit.models import AuditEntry

MAX_ROWS = 1000


@dataclass(frozen=True)
class Filters:
    user: str = ""
    model: str = ""
    object: str = ""  # an object id, or part of its name
    action: str = ""

    @classmethod
    def from_query(cls, query) -> Filters:
        return cls(
            *(query.get(name, "").strip()[:200] for name in ("user", "model", "object", "action"))
        )


def entries(start, end, filters: Filters, limit: int = MAX_ROWS):
    rows = AuditEntry.objects.filter(at__gte=start, at__lt=end)
    if filters.user:
        rows = rows.filter(username=filters.user)
    if filters.model:
        rows = rows.filter(model=filters.model)
    if filters.action:
        rows = rows.filter(action=filters.action)
    if filters.object:
        rows = rows.filter(Q(object_id=filters.object) | Q(object_repr__icontains=filters.object))
    return rows.order_by("-at", "-id")[:limit]


def choices(field: str) -> list[str]:
    """The values seen in the trail, for the filter menus."""
    values = AuditEntry.objects.exclude(**{field: ""}).values_list(field, flat=True)
    return sorted(set(values.distinct().order_by()))
