"""Who is locked out now: the failure records of django-axes past the limit."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone

from config.client_address import client_address


def lockout_address(request) -> str | None:
    """The client address by the one rule; None (lock by username only) when unknown."""
    return client_address(request) or None


def current_lockouts(now=None) -> list[dict]:
    """One row per locked username and per locked address, with when the lock ends.

    Axes counts failures by username and by address separately (either locks), over
    the attempts younger than the cool-off; the lock lasts the cool-off after the last.
    """
    now = now or timezone.now()
    cooloff = settings.AXES_COOLOFF_TIME
    recent = AccessAttempt.objects.filter(attempt_time__gte=now - cooloff)
    limit = settings.AXES_FAILURE_LIMIT
    rows = []
    for field, label in (("username", "username"), ("ip_address", "address")):
        grouped = (
            recent.exclude(**{f"{field}__isnull": True})
            .values(field)
            .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            .filter(failures__gte=limit)
            .order_by("-last")
        )
        for row in grouped:
            rows.append(
                {
                    "by": label,
                    "who": row[field],
                    "failures": row["failures"],
                    "last": row["last"],
                    "until": row["last"] + cooloff,
                }
            )
    return rows


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login: one page, whatever username was tried."""
    from django.contrib import admin
    from django.template.response import TemplateResponse

    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "minutes": settings.LOGIN_LOCKOUT_MINUTES,
    }
    response = TemplateResponse(request, "security/locked_out.html", context, status=429)
    return response.render()
