"""The fold: closed minutes move from the live store into rollup rows, exactly once.

Redis: a closed minute's hash is claimed by renaming it to a processing key
named after a fresh batch id (and listing that key as pending), in one script.
Its sums are added to the minute, hour and day rows in one transaction that also
records the batch id; the key is deleted after the commit. A worker killed at
any point leaves either an unclaimed minute, a pending key whose batch is not
recorded (applied by the next fold), or one whose batch is recorded (deleted by
the next fold): nothing lost, nothing counted twice.

Embedded default: LiveAggregate rows are merged and deleted in one transaction.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime

from django.db import transaction

from config.redis_client import FAULTS, get_redis, redis_configured
from lib import sketch
from monitoring import storage
from monitoring.models import ALL, DAY, HOUR, MINUTE, FoldBatch, QueryFingerprint, Rollup
from monitoring.recorder import REQUEST, Series

log = logging.getLogger(__name__)

MINUTES_PER_TRANSACTION = 30
# A fold killed while holding the lock delays the next one by at most this.
LOCK_SECONDS = 120

CLAIM_LUA = """
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('SADD', KEYS[4], KEYS[2])
  return 1
end
return 0
"""
CLAIM_SAMPLES_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('SADD', KEYS[3], KEYS[2])
  return 1
end
return 0
"""


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
    applied = 0
    if redis_configured():
        try:
            applied += _fold_redis(cutoff)
        except FAULTS as exc:
            log.warning("Redis unreachable (%s): folding what the database holds", exc)
    # With Redis too: flushes made while it was unreachable went to the database.
    return applied + _fold_database(cutoff)


# --- rows -------------------------------------------------------------------------
def expand(minute: int, series: dict[tuple, Series]) -> dict[tuple, Series]:
    """The minute, hour and day rows (and all-routes totals) a minute's series add to."""
    rows: dict[tuple, Series] = {}
    total = Series()
    for (kind, name, method, status), value in series.items():
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
                        **storage.series_values(value),
                    )
                )
            else:
                merge_into_row(row, value)
                changed.append(row)
        Rollup.objects.bulk_update(changed, ROW_FIELDS, batch_size=200)
        Rollup.objects.bulk_create(created, batch_size=500)
        written += len(changed) + len(created)
    return written


ROW_FIELDS = [
    "count",
    "errors",
    "sum_ms",
    "max_ms",
    "db_ms",
    "db_max_ms",
    "queries",
    "n_plus_one",
    "buckets",
    "db_buckets",
]


def merge_into_row(row, value: Series) -> None:
    row.count += value.count
    row.errors += value.errors
    row.sum_ms += value.sum_ms
    row.max_ms = max(row.max_ms, value.max_ms)
    row.db_ms += value.db_ms
    row.db_max_ms = max(row.db_max_ms, value.db_max_ms)
    row.queries += value.queries
    row.n_plus_one += value.n_plus_one
    row.buckets = sketch.encode(sketch.add(sketch.decode(row.buckets), value.buckets))
    row.db_buckets = sketch.encode(sketch.add(sketch.decode(row.db_buckets), value.db_buckets))


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def record_fingerprints(minute: int, series: dict[tuple, Series], texts: dict[str, str]) -> None:
    seen = {name for (kind, name, _, _) in series if kind == "query"}
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


# --- Redis ------------------------------------------------------------------------
def _fold_redis(cutoff: int) -> int:
    client = get_redis()
    lock = client.lock(storage.key("fold-lock"), timeout=LOCK_SECONDS, blocking=False)
    if not lock.acquire(blocking=False):
        log.info("another fold is running")
        return 0
    try:
        applied = 0
        for pending in sorted(client.smembers(storage.key("pending"))):
            applied += apply_claimed(pending.decode())
        minutes = sorted(int(m) for m in client.smembers(storage.key("minutes")))
        claim = client.register_script(CLAIM_LUA)
        for minute in (m for m in minutes if m < cutoff):
            processing = storage.key("proc", uuid.uuid4().hex, minute)
            keys = [
                storage.key("live", minute),
                processing,
                storage.key("minutes"),
                storage.key("pending"),
            ]
            if claim(keys=keys, args=[minute]):
                applied += apply_claimed(processing)
            lock.reacquire()  # a long backlog keeps the lock
        fold_samples_redis()
        return applied
    finally:
        lock.release()


def apply_claimed(processing: str) -> int:
    """Add a claimed minute to the rollups unless its batch is already there; then drop it."""
    client = get_redis()
    batch_id, minute = processing.rsplit(":", 2)[-2:]
    data = client.hgetall(processing)
    applied = 0
    if data:
        series, texts = storage.parse_hash(data)
        with transaction.atomic():
            if not FoldBatch.objects.filter(batch_id=batch_id).exists():
                FoldBatch.objects.create(batch_id=batch_id)
                upsert_rollups(expand(int(minute), series))
                record_fingerprints(int(minute), series, texts)
                applied = 1
    client.delete(processing)
    client.srem(storage.key("pending"), processing)
    return applied


def fold_samples_redis() -> int:
    """Move queued samples into the database (idempotent: samples carry their own id)."""
    client = get_redis()
    saved = 0
    pending_key = storage.key("samples-pending")
    processing = storage.key("samples-proc", uuid.uuid4().hex)
    client.register_script(CLAIM_SAMPLES_LUA)(
        keys=[storage.key("samples"), processing, pending_key]
    )
    for claimed in sorted(client.smembers(pending_key)):
        claimed = claimed.decode()
        samples = [json.loads(raw) for raw in client.lrange(claimed, 0, -1)]
        with transaction.atomic():
            saved += storage.save_samples(samples)
        client.delete(claimed)
        client.srem(pending_key, claimed)
    return saved


# --- the embedded default -----------------------------------------------------------
def _fold_database(cutoff: int) -> int:
    from monitoring.models import LiveAggregate

    applied = 0
    while True:
        with transaction.atomic():
            minutes = list(
                LiveAggregate.objects.filter(minute__lt=_dt(cutoff))
                .order_by("minute")
                .values_list("minute", flat=True)
                .distinct()[:MINUTES_PER_TRANSACTION]
            )
            if not minutes:
                return applied
            rows = list(LiveAggregate.objects.select_for_update().filter(minute__in=minutes))
            by_minute: dict[int, dict[tuple, Series]] = defaultdict(dict)
            for row in rows:
                series = by_minute[int(row.minute.timestamp())]
                key = (row.kind, row.name, row.method, row.status_class)
                target = series.get(key)
                if target is None:
                    target = series[key] = Series()
                target.merge(storage.series_from_row(row))
            merged: dict[tuple, Series] = {}
            for minute, series in by_minute.items():
                for row_key, value in expand(minute, series).items():
                    _add(merged, row_key, value)
                record_fingerprints(minute, series, {})
            upsert_rollups(merged)
            LiveAggregate.objects.filter(id__in=[r.id for r in rows]).delete()
            applied += len(by_minute)
