"""The embedded live store: sums not folded yet kept in the database (no Redis).

Each flush appends LiveAggregate rows, adds to this host's MetricTotal rows
(counters for /metrics), and saves its samples and statement texts directly.
The fold claims the rows of up to MINUTES_PER_TRANSACTION closed minutes at a
time inside the transaction that adds their sums: they are locked, read and
deleted there, so a rollback puts them back. Nothing lost, nothing counted twice.

With Redis, the same rows take the flushes made while Redis is unreachable
(see monitoring.live_redis). Also here: `Flush` and `Batch`, what every live
store takes from a flush and gives to the fold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction

from monitoring import series
from monitoring.models import LiveAggregate, MetricTotal, QueryFingerprint, RequestSample
from monitoring.series import Series

MINUTES_PER_TRANSACTION = 30


@dataclass
class Flush:
    """What one process's flush hands to a live store."""

    # (minute, kind, name, method, status class) → sums; "query" names are fingerprints.
    series: dict[tuple, Series]
    # Fingerprint → normalised statement.
    texts: dict[str, str]
    # (kind, name, method, status class) → increments of the /metrics counters, by code.
    totals: dict[tuple, dict[str, int]]
    # RequestSample fields.
    samples: list[dict]
    host: str


@dataclass
class Batch:
    """Sums of closed minutes claimed for the fold."""

    # Minute (epoch seconds) → (kind, name, method, status class) → sums.
    minutes: dict[int, dict[tuple, Series]]
    texts: dict[str, str]
    # Recorded by the fold with the sums it adds, when the batch may be offered again after
    # they were committed (a store that forgets it after the commit); else None.
    batch_id: str | None = None
    # What the store needs to forget the batch.
    receipt: object = None


class DatabaseLiveStore:
    def store(self, flush: Flush) -> None:
        now = datetime.now(UTC)
        rows = [
            LiveAggregate(
                minute=_dt(minute),
                kind=kind,
                name=name[:255],
                method=method,
                status_class=status,
                **series.row_values(value),
            )
            for (minute, kind, name, method, status), value in flush.series.items()
        ]
        totals: dict[tuple, dict[str, int]] = {}
        for (kind, name, method, status), increments in flush.totals.items():
            target = totals.setdefault((kind, name[:255], method, status), {})
            for code, amount in increments.items():
                target[code] = target.get(code, 0) + amount
        with transaction.atomic():
            LiveAggregate.objects.bulk_create(rows, batch_size=500)
            if flush.texts:
                QueryFingerprint.objects.bulk_create(
                    [
                        QueryFingerprint(
                            fingerprint=fp, statement=text, first_seen=now, last_seen=now
                        )
                        for fp, text in flush.texts.items()
                    ],
                    ignore_conflicts=True,
                )
            add_totals(flush.host, totals)
            save_samples(flush.samples)

    def live_series(self, kinds: set[str], start: int, end: int) -> dict[tuple, Series]:
        out: dict[tuple, Series] = {}
        rows = LiveAggregate.objects.filter(
            kind__in=kinds, minute__gte=_dt(start), minute__lt=_dt(end)
        )
        for row in rows:
            series_key = (
                int(row.minute.timestamp()),
                row.kind,
                row.name,
                row.method,
                row.status_class,
            )
            target = out.get(series_key)
            if target is None:
                out[series_key] = series.from_row(row)
            else:
                target.merge(series.from_row(row))
        return out

    def live_missing(self) -> bool:
        return False

    def read_totals(self, host: str) -> dict[tuple, dict[str, int]]:
        return {
            (t.kind, t.name, t.method, t.status_class): t.values
            for t in MetricTotal.objects.filter(host=host)
        }

    def claim(self, cutoff: int) -> Iterator[Batch]:
        """Each batch's rows are locked and deleted in the transaction it is asked for in."""
        while True:
            minutes = list(
                LiveAggregate.objects.filter(minute__lt=_dt(cutoff))
                .order_by("minute")
                .values_list("minute", flat=True)
                .distinct()[:MINUTES_PER_TRANSACTION]
            )
            if not minutes:
                return
            rows = list(LiveAggregate.objects.select_for_update().filter(minute__in=minutes))
            by_minute: dict[int, dict[tuple, Series]] = defaultdict(dict)
            for row in rows:
                sums = by_minute[int(row.minute.timestamp())]
                key = (row.kind, row.name, row.method, row.status_class)
                target = sums.get(key)
                if target is None:
                    target = sums[key] = Series()
                target.merge(series.from_row(row))
            LiveAggregate.objects.filter(id__in=[row.id for row in rows]).delete()
            yield Batch(dict(by_minute), {})

    def acknowledge(self, batch: Batch) -> None:
        pass  # the rows went with the transaction that added them

    def save_queued_samples(self) -> int:
        return 0  # saved by each flush


def add_totals(host: str, totals: dict[tuple, dict[str, int]]) -> None:
    """Add to this host's MetricTotal rows (call inside a transaction: they are locked)."""
    if not totals:
        return
    existing = {
        (t.kind, t.name, t.method, t.status_class): t
        for t in MetricTotal.objects.select_for_update().filter(host=host)
    }
    changed, created = [], []
    for series_key, increments in totals.items():
        row = existing.get(series_key)
        if row is None:
            kind, name, method, status = series_key
            row = MetricTotal(host=host, kind=kind, name=name, method=method, status_class=status)
            created.append(row)
        else:
            changed.append(row)
        for code, amount in increments.items():
            row.values[code] = row.values.get(code, 0) + amount
    MetricTotal.objects.bulk_update(changed, ["values"], batch_size=500)
    MetricTotal.objects.bulk_create(created, batch_size=500)


def save_samples(samples: Iterable[dict]) -> int:
    """Samples as RequestSample rows (a sample already saved is left as it is)."""
    rows = [RequestSample(**{**s, "time": _dt(s["time"])}) for s in samples]
    RequestSample.objects.bulk_create(rows, ignore_conflicts=True, batch_size=200)
    return len(rows)


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
