"""Retention: purge old samples, downsample old minute rollups, forget old batches.

The fold writes every minute's sums into its hour and day rows as well, so
downsampling minute rollups past RETENTION_MINUTE_ROLLUPS_DAYS is deleting
them: the hour rows already hold the same counts and histogram buckets.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from monitoring.live_redis import LIVE_TTL_SECONDS
from monitoring.models import (
    DAY,
    HOUR,
    MINUTE,
    FoldBatch,
    QueryFingerprint,
    RequestSample,
    Rollup,
    SystemSample,
)

CHUNK = 5000


def purge(now: datetime | None = None) -> dict[str, int]:
    """Apply every retention setting; return how many rows each step removed."""
    now = now or timezone.now()
    days = timedelta(days=1)
    hourly_cutoff = now - settings.RETENTION_HOURLY_ROLLUPS_DAYS * days
    return {
        "slow samples": _delete(
            RequestSample.objects.filter(time__lt=now - settings.RETENTION_SLOW_SAMPLES_DAYS * days)
        ),
        "system samples": _delete(
            SystemSample.objects.filter(
                time__lt=now - settings.RETENTION_SYSTEM_SAMPLES_DAYS * days
            )
        ),
        "minute rollups": _delete(
            Rollup.objects.filter(
                resolution=MINUTE,
                time__lt=now - settings.RETENTION_MINUTE_ROLLUPS_DAYS * days,
            )
        ),
        "hour and day rollups": _delete(
            Rollup.objects.filter(resolution__in=[HOUR, DAY], time__lt=hourly_cutoff)
        ),
        "query fingerprints": _delete(QueryFingerprint.objects.filter(last_seen__lt=hourly_cutoff)),
        # Kept longer than a claimed Redis minute can live, so none is applied twice.
        "fold batches": _delete(
            FoldBatch.objects.filter(
                applied_at__lt=now - timedelta(seconds=LIVE_TTL_SECONDS) - days
            )
        ),
    }


def _delete(queryset) -> int:
    """Delete in chunks, so a first purge of a large backlog holds no lock for long."""
    removed = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:CHUNK])
        if not ids:
            return removed
        removed += queryset.model.objects.filter(pk__in=ids).delete()[0]
