"""The fold: sums not folded yet move from the live store into rollup rows, exactly once.

The live store (monitoring.live_store: Redis, or the database) offers the sums of
closed minutes as batches. Each batch is claimed inside the transaction that adds
it to the minute, hour and day rows; a batch that the store may offer again once
committed (Redis: until it is acknowledged, after the commit) carries a batch id,
recorded in that same transaction so that it is never added twice. A worker
killed at any point loses nothing and counts nothing twice.
"""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import closing
from datetime import UTC, datetime

from django.db import transaction

from monitoring import series
from monitoring.live_store import Batch, live_store
from monitoring.models import ALL, DAY, HOUR, MINUTE, FoldBatch, QueryFingerprint, Rollup
from monitoring.series import REQUEST, Series


def fold_before(now: float | None = None) -> int:
    """Epoch seconds of the first minute not folded: the one after the current minute.

    Open minutes are folded as far as they go; what a later flush adds to them is folded
    into the same rows by the next fold. So Redis, which may lose what it holds when it
    restarts, holds at most one fold interval of request metrics, not minutes of them.
    """
    now = time.time() if now is None else now
    return int(now // 60) * 60 + 60


def fold(now: float | None = None) -> int:
    """Fold every minute up to now into rollups; return how many minute batches were applied."""
    cutoff = fold_before(now)
    store = live_store()
    applied = 0
    with closing(store.claim(cutoff)) as batches:
        while True:
            # Claimed inside the transaction that adds it; acknowledged once that commits.
            with transaction.atomic():
                batch = next(batches, None)
                if batch is None:
                    break
                applied += add_batch(batch)
            store.acknowledge(batch)
    store.save_queued_samples()
    return applied


def add_batch(batch: Batch) -> int:
    """Add a batch's minutes to the rollups unless its batch id says they are there already."""
    if batch.batch_id is not None:
        if FoldBatch.objects.filter(batch_id=batch.batch_id).exists():
            return 0
        FoldBatch.objects.create(batch_id=batch.batch_id)
    rows: dict[tuple, Series] = {}
    for minute, sums in batch.minutes.items():
        for row_key, value in expand(minute, sums).items():
            _add(rows, row_key, value)
        record_fingerprints(minute, sums, batch.texts)
    upsert_rollups(rows)
    return len(batch.minutes)


# --- rows -------------------------------------------------------------------------
def expand(minute: int, sums: dict[tuple, Series]) -> dict[tuple, Series]:
    """The minute, hour and day rows (and all-routes totals) a minute's series add to."""
    rows: dict[tuple, Series] = {}
    total = Series()
    for (kind, name, method, status), value in sums.items():
        for resolution in (MINUTE, HOUR, DAY):
            _add(
                rows, (resolution, minute - minute % resolution, kind, name, method, status), value
            )
        if kind == REQUEST:
            total.merge(value)
    if total.count:
        for resolution in (MINUTE, HOUR, DAY):
            _add(rows, (resolution, minute - minute % resolution, REQUEST, ALL, ALL, ALL), total)
    return rows


def _add(rows: dict[tuple, Series], row_key: tuple, value: Series) -> None:
    target = rows.get(row_key)
    if target is None:
        target = rows[row_key] = Series()
    target.merge(value)


def upsert_rollups(rows: dict[tuple, Series]) -> int:
    """Add each (resolution, epoch, kind, name, method, class) sum to its Rollup row.

    Call inside a transaction; existing rows are locked while they are merged.
    """
    by_resolution: dict[int, dict[tuple, Series]] = defaultdict(dict)
    for (resolution, epoch, *series_key), value in rows.items():
        by_resolution[resolution][(epoch, *series_key)] = value
    written = 0
    for resolution, wanted in by_resolution.items():
        epochs = [k[0] for k in wanted]
        kinds = {k[1] for k in wanted}
        existing_rows = Rollup.objects.select_for_update().filter(
            resolution=resolution,
            kind__in=kinds,
            time__gte=_dt(min(epochs)),
            time__lte=_dt(max(epochs)),
        )
        if len(wanted) < 500:
            existing_rows = existing_rows.filter(name__in={k[2] for k in wanted})
        existing = {
            (int(r.time.timestamp()), r.kind, r.name, r.method, r.status_class): r
            for r in existing_rows
        }
        changed, created = [], []
        for row_key, value in wanted.items():
            row = existing.get(row_key)
            if row is None:
                epoch, kind, name, method, status = row_key
                created.append(
                    Rollup(
                        resolution=resolution,
                        time=_dt(epoch),
                        kind=kind,
                        name=name[:255],
                        method=method,
                        status_class=status,
                        **series.row_values(value),
                    )
                )
            else:
                series.merge_into_row(row, value)
                changed.append(row)
        Rollup.objects.bulk_update(changed, series.NAMES, batch_size=200)
        Rollup.objects.bulk_create(created, batch_size=500)
        written += len(changed) + len(created)
    return written


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def record_fingerprints(minute: int, sums: dict[tuple, Series], texts: dict[str, str]) -> None:
    seen = {name for (kind, name, _, _) in sums if kind == series.QUERY}
    if not seen:
        return
    moment = _dt(minute)
    QueryFingerprint.objects.bulk_create(
        [
            QueryFingerprint(
                fingerprint=fp, statement=texts[fp], first_seen=moment, last_seen=moment
            )
            for fp in seen
            if fp in texts
        ],
        ignore_conflicts=True,
    )
    QueryFingerprint.objects.filter(fingerprint__in=seen, last_seen__lt=moment).update(
        last_seen=moment
    )
