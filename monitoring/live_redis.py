"""The Redis live store: every key, script and field layout of monitoring's Redis data.

All keys are under `<prefix>:monitoring:`:

- `live:<minute>`: one hash per open minute, summed by every process on every
  host; field `kind␟name␟method␟class␟code` (codes: monitoring.series, e.g. c
  count, s sum µs, m max µs, b<i> latency histogram bucket) and `t␟fingerprint`
  for a statement's text;
- `minutes`: the set of minutes with a live hash; the fold claims them;
- `proc:<batch>:<minute>`: a minute claimed by a fold (renamed from its live
  hash in one script), listed in `pending` until its sums are committed;
- `fold-lock`: one fold at a time;
- `totals:<host>`: counters since the start for /metrics (never purged);
- `samples`: a capped list of slow / N+1 request samples, as JSON, moved to the
  database by the fold through `samples-proc:<id>` keys listed in `samples-pending`;
- `database-live`: set for a while when a flush went to the database.

The fold adds a claimed minute's sums in one transaction that also records its
batch id, and the key is deleted after the commit. A worker killed at any point
leaves an unclaimed minute, a pending key whose batch is not recorded (added by
the next fold) or one whose batch is recorded (deleted by the next fold).

While Redis is unreachable (see the breaker in `config.redis_client`) flushes go
to the database store; readers and the fold then take both.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

from django.db import transaction

from config.redis_client import FAULTS, get_redis, redis_key, redis_skipped
from monitoring import series
from monitoring.live_database import Batch, DatabaseLiveStore, Flush, save_samples
from monitoring.models import FoldBatch
from monitoring.series import QUERY, Series

log = logging.getLogger(__name__)

SEP = "\x1f"
LIVE_TTL_SECONDS = 8 * 86400
MAX_SAMPLES_QUEUED = 1000
# A fold killed while holding the lock delays the next one by at most this.
LOCK_SECONDS = 120
DATABASE_LIVE_MARK_SECONDS = 600

# KEYS[1] a hash; ARGV: ttl, number of increments, number of maxima, then
# field/value pairs: the increments, the maxima, then values set if absent.
APPLY_LUA = """
local ttl = tonumber(ARGV[1])
local n_incr = tonumber(ARGV[2])
local n_max = tonumber(ARGV[3])
local i = 4
for _ = 1, n_incr do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
for _ = 1, n_max do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 1]) > current then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  i = i + 2
end
while i < #ARGV do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
end
return 1
"""
# KEYS: the live hash, the processing key, `minutes`, `pending`; ARGV: the minute.
CLAIM_LUA = """
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('SADD', KEYS[4], KEYS[2])
  return 1
end
return 0
"""
# KEYS: `samples`, the processing key, `samples-pending`.
CLAIM_SAMPLES_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('SADD', KEYS[3], KEYS[2])
  return 1
end
return 0
"""
_scripts: dict[tuple, object] = {}


def key(*parts) -> str:
    return redis_key("monitoring", *parts)


def _script(source: str):
    client = get_redis()
    script = _scripts.get((id(client), source))
    if script is None:
        script = _scripts[(id(client), source)] = client.register_script(source)
    return script


class RedisLiveStore:
    def __init__(self, database: DatabaseLiveStore):
        self.database = database
        # Set while this process has put live sums in the database that readers do not
        # look for: its next flush that reaches Redis marks them, so readers read the
        # database's live table only while it may hold something (until the fold has
        # surely moved it).
        self.unmarked_database_sums = False

    # --- a flush ------------------------------------------------------------------
    def store(self, flush: Flush) -> None:
        try:
            self._store(flush, mark_database=self.unmarked_database_sums)
            self.unmarked_database_sums = False
            return
        except FAULTS as exc:
            # Redis hung or gone: the database takes the sums now rather than holding them
            # in this process. (A flush Redis applied but whose reply was lost would count
            # twice, as a retried flush would: rare, and never a loss.)
            log.warning("Redis unreachable (%s): request metrics written to the database", exc)
            self.unmarked_database_sums = True
        self.database.store(flush)

    def _store(self, flush: Flush, mark_database: bool) -> None:
        by_minute: dict[int, list] = {}
        for (minute, kind, name, method, status), value in flush.series.items():
            prefix = SEP.join((kind, name, method, status)) + SEP
            args = by_minute.setdefault(minute, [[], [], []])
            increments, maxima = series.coded(value)
            args[0].extend((prefix + code, amount) for code, amount in increments)
            args[1].extend((prefix + code, amount) for code, amount in maxima)
            if kind == QUERY:
                args[2].append((f"t{SEP}{name}", flush.texts[name]))
        totals = {
            SEP.join(series_key) + SEP + code: amount
            for series_key, increments in flush.totals.items()
            for code, amount in increments.items()
        }
        script = _script(APPLY_LUA)
        pipe = get_redis().pipeline(transaction=False)
        for minute, (increments, maxima, sets) in sorted(by_minute.items()):
            args = [LIVE_TTL_SECONDS, len(increments), len(maxima)]
            for pairs in (increments, maxima, sets):
                for field, amount in pairs:
                    args += [field, amount]
            script(keys=[key("live", minute)], args=args, client=pipe)
            pipe.sadd(key("minutes"), minute)
        if totals:
            args = [0, len(totals), 0]
            for field, amount in totals.items():
                args += [field, amount]
            script(keys=[key("totals", flush.host)], args=args, client=pipe)
        if flush.samples:
            pipe.rpush(key("samples"), *[json.dumps(s) for s in flush.samples])
            pipe.ltrim(key("samples"), -MAX_SAMPLES_QUEUED, -1)
        if mark_database:
            pipe.set(key("database-live"), 1, ex=DATABASE_LIVE_MARK_SECONDS)
        pipe.execute()

    # --- reading ------------------------------------------------------------------
    def live_series(self, kinds: set[str], start: int, end: int) -> dict[tuple, Series]:
        """Redis's sums, and the database's when flushes went there while Redis was away;
        only the database's while Redis is unreachable (`live_missing()` then says so)."""
        try:
            from_redis = self._live_redis(kinds, start, end)
            # The database's live table is read only when a flush went there (a query saved
            # on every read: alert evaluation reads live minutes for each request source).
            in_database = get_redis().exists(key("database-live"))
        except FAULTS as exc:
            log.warning("Redis unreachable (%s): live minutes read from the database only", exc)
            return self.database.live_series(kinds, start, end)
        found = self.database.live_series(kinds, start, end) if in_database else {}
        for series_key, value in from_redis.items():
            target = found.get(series_key)
            if target is None:
                found[series_key] = value
            else:
                target.merge(value)
        return found

    def _live_redis(self, kinds: set[str], start: int, end: int) -> dict[tuple, Series]:
        client = get_redis()
        minutes = [int(m) for m in client.smembers(key("minutes"))]
        wanted = [(m, key("live", m)) for m in minutes if start <= m < end]
        # Claimed minutes stay visible until their batch is committed.
        claimed = {}
        for raw in client.smembers(key("pending")):
            batch_id, minute = _claimed(raw.decode())
            if start <= minute < end:
                claimed[batch_id] = (minute, raw.decode())
        if claimed:
            applied = set(
                FoldBatch.objects.filter(batch_id__in=list(claimed)).values_list(
                    "batch_id", flat=True
                )
            )
            wanted += [found for batch_id, found in claimed.items() if batch_id not in applied]
        if not wanted:
            return {}
        pipe = client.pipeline(transaction=False)
        for _, name in wanted:
            pipe.hgetall(name)
        out: dict[tuple, Series] = {}
        for (minute, _), data in zip(wanted, pipe.execute(), strict=True):
            sums, _texts = parse_hash(data)
            for (kind, name, method, status), value in sums.items():
                if kind in kinds:
                    target = out.get((minute, kind, name, method, status))
                    if target is None:
                        out[(minute, kind, name, method, status)] = value
                    else:
                        target.merge(value)
        return out

    def live_missing(self) -> bool:
        """Whether sums kept in Redis are missing from what is read now (it is skipped)."""
        return redis_skipped()

    def read_totals(self, host: str) -> dict[tuple, dict[str, int]]:
        out: dict[tuple, dict[str, int]] = {}
        # Counters written to the database while Redis was unreachable, then Redis's.
        for series_key, values in self.database.read_totals(host).items():
            target = out.setdefault(series_key, {})
            for code, amount in values.items():
                target[code] = target.get(code, 0) + amount
        try:
            redis_totals = get_redis().hgetall(key("totals", host))
        except FAULTS as exc:
            log.warning("Redis unreachable (%s): /metrics counters from the database only", exc)
            return out
        for raw_field, raw_value in redis_totals.items():
            head, code = raw_field.decode().rsplit(SEP, 1)
            target = out.setdefault(tuple(head.split(SEP)), {})
            target[code] = target.get(code, 0) + int(raw_value)
        return out

    # --- the fold -------------------------------------------------------------------
    def claim(self, cutoff: int) -> Iterator[Batch]:
        """Claimed minutes, one batch each; then what the database holds (flushes made
        while Redis was unreachable)."""
        try:
            yield from self._claim(cutoff)
        except FAULTS as exc:
            log.warning("Redis unreachable (%s): folding what the database holds", exc)
        yield from self.database.claim(cutoff)

    def _claim(self, cutoff: int) -> Iterator[Batch]:
        client = get_redis()
        lock = client.lock(key("fold-lock"), timeout=LOCK_SECONDS, blocking=False)
        if not lock.acquire(blocking=False):
            log.info("another fold is running")
            return
        try:
            # First what a fold that died left claimed.
            for pending in sorted(client.smembers(key("pending"))):
                yield from self._offer(pending.decode())
            minutes = sorted(int(m) for m in client.smembers(key("minutes")))
            claim = _script(CLAIM_LUA)
            for minute in (m for m in minutes if m < cutoff):
                processing = key("proc", uuid.uuid4().hex, minute)
                keys = [key("live", minute), processing, key("minutes"), key("pending")]
                if claim(keys=keys, args=[minute]):
                    yield from self._offer(processing)
                lock.reacquire()  # a long backlog keeps the lock
        finally:
            lock.release()

    def _offer(self, processing: str) -> Iterator[Batch]:
        data = get_redis().hgetall(processing)
        if not data:
            self._forget(processing)
            return
        batch_id, minute = _claimed(processing)
        sums, texts = parse_hash(data)
        yield Batch({minute: sums}, texts, batch_id, processing)

    def acknowledge(self, batch: Batch) -> None:
        if batch.receipt is None:  # a batch of the database's
            self.database.acknowledge(batch)
        else:
            self._forget(batch.receipt)

    def _forget(self, processing: str) -> None:
        try:
            client = get_redis()
            client.delete(processing)
            client.srem(key("pending"), processing)
        except FAULTS as exc:  # its batch is recorded: the next fold deletes it
            log.warning("Redis unreachable (%s): folded minute %s kept for now", exc, processing)

    def save_queued_samples(self) -> int:
        """Move queued samples into the database (idempotent: samples carry their own id)."""
        try:
            return self._save_queued_samples()
        except FAULTS as exc:
            log.warning("Redis unreachable (%s): samples left queued", exc)
            return 0

    def _save_queued_samples(self) -> int:
        client = get_redis()
        saved = 0
        pending_key = key("samples-pending")
        processing = key("samples-proc", uuid.uuid4().hex)
        _script(CLAIM_SAMPLES_LUA)(keys=[key("samples"), processing, pending_key])
        for claimed in sorted(client.smembers(pending_key)):
            claimed = claimed.decode()
            samples = [json.loads(raw) for raw in client.lrange(claimed, 0, -1)]
            with transaction.atomic():
                saved += save_samples(samples)
            client.delete(claimed)
            client.srem(pending_key, claimed)
        return saved


def _claimed(processing: str) -> tuple[str, int]:
    """(batch id, minute) of a `proc:<batch>:<minute>` key."""
    batch_id, minute = processing.rsplit(":", 2)[-2:]
    return batch_id, int(minute)


def parse_hash(data: dict) -> tuple[dict[tuple, Series], dict[str, str]]:
    """A live (or claimed) minute hash back into series and statement texts."""
    found: dict[tuple, Series] = {}
    texts: dict[str, str] = {}
    for raw_field, raw_value in data.items():
        field = raw_field.decode() if isinstance(raw_field, bytes) else raw_field
        value = raw_value.decode() if isinstance(raw_value, bytes) else raw_value
        if field.startswith("t" + SEP):
            texts[field[2:]] = value
            continue
        head, code = field.rsplit(SEP, 1)
        kind, name, method, status = head.split(SEP)
        target = found.get((kind, name, method, status))
        if target is None:
            target = found[(kind, name, method, status)] = Series()
        series.add_coded(target, code, int(value))
    return found, texts
