"""What the Security page and card show: counts per kind, per time bucket, per who."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Max
from django.db.models.functions import Trunc
from django.utils import timezone

from security import models
from security.models import SecurityEvent

RECENT_LIMIT = 200


def in_range(start, end):
    return SecurityEvent.objects.filter(at__gte=start, at__lt=end)


def counts_by_kind(start, end) -> dict[str, int]:
    rows = in_range(start, end).values("kind").annotate(n=Count("id")).order_by()
    return {row["kind"]: row["n"] for row in rows}


def bucket_size(start, end) -> str:
    span = end - start
    if span <= timedelta(hours=6):
        return "minute"
    if span <= timedelta(days=3):
        return "hour"
    return "day"


def over_time(start, end) -> list[dict]:
    """Events per bucket (minute, hour or day in TIME_ZONE) and kind."""
    size = bucket_size(start, end)
    bucket = Trunc("at", size, tzinfo=timezone.get_current_timezone())
    rows = (
        in_range(start, end)
        .annotate(bucket=bucket)
        .values("bucket", "kind")
        .annotate(n=Count("id"))
        .order_by("bucket", "kind")
    )
    return [{"at": r["bucket"], "kind": r["kind"], "count": r["n"]} for r in rows]


def failed_logins_by(field: str, start, end, limit: int = 50) -> list[dict]:
    """Failed logins grouped by "username" or "address", most first."""
    rows = (
        in_range(start, end)
        .filter(kind=models.LOGIN_FAILED)
        .values(field)
        .annotate(failures=Count("id"), last=Max("at"))
        .order_by("-failures", "-last")[:limit]
    )
    return [{"who": r[field] or "", "failures": r["failures"], "last": r["last"]} for r in rows]


def recent(start, end, limit: int = RECENT_LIMIT) -> list[SecurityEvent]:
    return list(in_range(start, end).select_related("user").order_by("-at", "-pk")[:limit])
