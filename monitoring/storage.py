"""Where each process's sums go: Redis hashes (atomic increments), or the database.

Redis (REDIS_URL set), all keys under `<prefix>:monitoring:`:

- `live:<minute>`: one hash per open minute, summed by every process on every
  host; field `kind␟name␟method␟class␟code` (c count, e errors, s sum µs, m max
  µs, d DB µs, dm DB max µs, q queries, n N+1 requests, b<i>/x<i> latency/DB
  histogram buckets) and `t␟fingerprint` for a statement's text;
- `minutes`: the set of minutes with a live hash; the fold claims closed ones;
- `totals:<host>`: counters since the start for /metrics (never purged);
- `samples`: a capped list of slow / N+1 request samples, as JSON.

Embedded default (no Redis): each flush appends LiveAggregate rows and updates
MetricTotal rows; samples go straight to RequestSample. The same happens with Redis
while it is unreachable (see the breaker in `config.redis_client`): the fold and the
live reader take both.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import transaction

from config.redis_client import FAULTS, get_redis, redis_configured, redis_key, redis_skipped
from lib import sketch
from lib.sketch import bucket_value
from monitoring.recorder import OTHER_STATEMENT, QUERY, Series
from monitoring.sql import fingerprint

log = logging.getLogger(__name__)

SEP = "\x1f"
LIVE_TTL_SECONDS = 8 * 86400
MAX_SAMPLES_QUEUED = 1000
OTHER_FINGERPRINT = "0" * 16
# Prometheus histogram bounds, seconds (kept few: each is a series per route).
LE_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]
HOST = socket.gethostname()

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
_scripts: dict[int, object] = {}


def key(*parts) -> str:
    return redis_key("monitoring", *parts)


def apply_script():
    client = get_redis()
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(APPLY_LUA)
    return script


# Set while this process has put live sums in the database that readers do not look for:
# its next flush that reaches Redis marks them, so readers read the database's live table
# only while it may hold something (until the fold has surely moved it).
_unmarked_database_sums = False
DATABASE_LIVE_MARK_SECONDS = 600


# --- what a flush hands over ----------------------------------------------------
def store(series: dict[tuple, Series], samples: list[dict]) -> None:
    """Store one process's sums and samples (called by the recorder's flush)."""
    global _unmarked_database_sums
    series, texts = fingerprint_statements(series)
    prepared = [prepare_sample(s) for s in samples]
    if redis_configured():
        try:
            _store_redis(series, texts, prepared, mark_database=_unmarked_database_sums)
            _unmarked_database_sums = False
            return
        except FAULTS as exc:
            # Redis hung or gone: the database takes the sums now rather than holding them
            # in this process. (A flush Redis applied but whose reply was lost would count
            # twice, as a retried flush would: rare, and never a loss.)
            log.warning("Redis unreachable (%s): request metrics written to the database", exc)
            _unmarked_database_sums = True
    _store_database(series, texts, prepared)


def fingerprint_statements(series: dict[tuple, Series]) -> tuple[dict[tuple, Series], dict]:
    """Re-key "query" series from the SQL as sent to its normalised fingerprint."""
    out: dict[tuple, Series] = {}
    texts: dict[str, str] = {}
    for (minute, kind, name, method, status), value in series.items():
        if kind == QUERY:
            if name == OTHER_STATEMENT:
                fp, statement = OTHER_FINGERPRINT, OTHER_STATEMENT
            else:
                fp, statement = fingerprint(name)
            texts[fp] = statement
            name = fp
        target_key = (minute, kind, name, method, status)
        target = out.get(target_key)
        if target is None:
            out[target_key] = value
        else:
            target.merge(value)
    return out, texts


def prepare_sample(sample: dict) -> dict:
    """A recorded sample as stored: SQL normalised, values gone, N+1 statements named."""
    queries = []
    for sql, ms in sample["queries"]:
        fp, statement = fingerprint(sql)
        queries.append({"fingerprint": fp, "sql": statement, "ms": round(float(ms), 3)})
    repeated: dict[str, dict] = {}
    for sql, count in sample["repeated"].items():
        fp, statement = fingerprint(sql)
        entry = repeated.setdefault(fp, {"fingerprint": fp, "sql": statement, "count": 0})
        entry["count"] += count
    return {
        "sample_id": sample["id"],
        "time": sample["time"],
        "route": sample["route"][:255],
        "method": sample["method"][:10],
        "status": int(sample["status"]),
        "duration_ms": round(float(sample["duration_ms"]), 3),
        "db_ms": round(float(sample["db_ms"]), 3),
        "query_count": int(sample["query_count"]),
        "slow": bool(sample["slow"]),
        "n_plus_one": bool(repeated),
        "host": HOST,
        "queries": queries,
        "repeated": sorted(repeated.values(), key=lambda r: -r["count"]),
    }


def le_position(index: int) -> int:
    """Which Prometheus bucket a histogram bucket counts toward (len(LE) = +Inf)."""
    position = _le_cache.get(index)
    if position is None:
        value_s = bucket_value(index) / 1000.0
        position = next((i for i, le in enumerate(LE_SECONDS) if value_s <= le), len(LE_SECONDS))
        _le_cache[index] = position
    return position


_le_cache: dict[int, int] = {}


def total_increments(value: Series) -> dict[str, int]:
    """The counters a series adds to /metrics: counts, µs sums and le buckets."""
    fields = {
        "c": value.count,
        "e": value.errors,
        "s": round(value.sum_ms * 1000),
        "d": round(value.db_ms * 1000),
        "q": value.queries,
    }
    for index, count in value.buckets.items():
        name = f"l{le_position(int(index))}"
        fields[name] = fields.get(name, 0) + count
    return {k: v for k, v in fields.items() if v}


# --- Redis ----------------------------------------------------------------------
def series_fields(value: Series) -> tuple[list, list]:
    """(increments, maxima) of one series as Redis field codes and integers."""
    incr = [
        ("c", value.count),
        ("e", value.errors),
        ("s", round(value.sum_ms * 1000)),
        ("d", round(value.db_ms * 1000)),
        ("q", value.queries),
        ("n", value.n_plus_one),
    ]
    incr += [(f"b{k}", v) for k, v in value.buckets.items()]
    incr += [(f"x{k}", v) for k, v in value.db_buckets.items()]
    maxima = [("m", round(value.max_ms * 1000)), ("dm", round(value.db_max_ms * 1000))]
    return [(c, v) for c, v in incr if v], maxima


def _store_redis(
    series: dict[tuple, Series],
    texts: dict[str, str],
    samples: list[dict],
    mark_database: bool = False,
):
    by_minute: dict[int, list] = {}
    totals: dict[str, int] = {}
    for (minute, kind, name, method, status), value in series.items():
        prefix = SEP.join((kind, name, method, status)) + SEP
        args = by_minute.setdefault(minute, [[], [], []])
        incr, maxima = series_fields(value)
        args[0].extend((prefix + code, amount) for code, amount in incr)
        args[1].extend((prefix + code, amount) for code, amount in maxima)
        if kind == QUERY:
            args[2].append((f"t{SEP}{name}", texts[name]))
        else:
            for code, amount in total_increments(value).items():
                totals[prefix + code] = totals.get(prefix + code, 0) + amount
    script = apply_script()
    client = get_redis()
    pipe = client.pipeline(transaction=False)
    for minute, (incr, maxima, sets) in sorted(by_minute.items()):
        args = [LIVE_TTL_SECONDS, len(incr), len(maxima)]
        for pairs in (incr, maxima, sets):
            for field, amount in pairs:
                args += [field, amount]
        script(keys=[key("live", minute)], args=args, client=pipe)
        pipe.sadd(key("minutes"), minute)
    if totals:
        args = [0, len(totals), 0]
        for field, amount in totals.items():
            args += [field, amount]
        script(keys=[key("totals", HOST)], args=args, client=pipe)
    if samples:
        pipe.rpush(key("samples"), *[json.dumps(s) for s in samples])
        pipe.ltrim(key("samples"), -MAX_SAMPLES_QUEUED, -1)
    if mark_database:
        pipe.set(key("database-live"), 1, ex=DATABASE_LIVE_MARK_SECONDS)
    pipe.execute()


def parse_hash(data: dict) -> tuple[dict[tuple, Series], dict[str, str]]:
    """A live (or claimed) minute hash back into series and statement texts."""
    series: dict[tuple, Series] = {}
    texts: dict[str, str] = {}
    for raw_field, raw_value in data.items():
        field = raw_field.decode() if isinstance(raw_field, bytes) else raw_field
        value = raw_value.decode() if isinstance(raw_value, bytes) else raw_value
        if field.startswith("t" + SEP):
            texts[field[2:]] = value
            continue
        head, code = field.rsplit(SEP, 1)
        kind, name, method, status = head.split(SEP)
        target = series.get((kind, name, method, status))
        if target is None:
            target = series[(kind, name, method, status)] = Series()
        _set_field(target, code, int(value))
    return series, texts


def _set_field(target: Series, code: str, value: int) -> None:
    if code == "c":
        target.count += value
    elif code == "e":
        target.errors += value
    elif code == "s":
        target.sum_ms += value / 1000.0
    elif code == "m":
        target.max_ms = max(target.max_ms, value / 1000.0)
    elif code == "d":
        target.db_ms += value / 1000.0
    elif code == "dm":
        target.db_max_ms = max(target.db_max_ms, value / 1000.0)
    elif code == "q":
        target.queries += value
    elif code == "n":
        target.n_plus_one += value
    elif code[0] == "b":
        index = int(code[1:])
        target.buckets[index] = target.buckets.get(index, 0) + value
    elif code[0] == "x":
        index = int(code[1:])
        target.db_buckets[index] = target.db_buckets.get(index, 0) + value


# --- the embedded default: the database -------------------------------------------
def _store_database(series: dict[tuple, Series], texts: dict[str, str], samples: list[dict]):
    from monitoring.models import LiveAggregate, QueryFingerprint

    now = datetime.now(UTC)
    rows = [
        LiveAggregate(
            minute=datetime.fromtimestamp(minute, UTC),
            kind=kind,
            name=name[:255],
            method=method,
            status_class=status,
            **series_values(value),
        )
        for (minute, kind, name, method, status), value in series.items()
    ]
    totals: dict[tuple, dict[str, int]] = {}
    for (_, kind, name, method, status), value in series.items():
        if kind != QUERY:
            target = totals.setdefault((kind, name[:255], method, status), {})
            for code, amount in total_increments(value).items():
                target[code] = target.get(code, 0) + amount
    with transaction.atomic():
        LiveAggregate.objects.bulk_create(rows, batch_size=500)
        if texts:
            QueryFingerprint.objects.bulk_create(
                [
                    QueryFingerprint(fingerprint=fp, statement=text, first_seen=now, last_seen=now)
                    for fp, text in texts.items()
                ],
                ignore_conflicts=True,
            )
        add_totals_to_database(HOST, totals)
        save_samples(samples)


def series_values(value: Series) -> dict:
    """A series as the columns of a Rollup / LiveAggregate row."""
    return {
        "count": value.count,
        "errors": value.errors,
        "sum_ms": value.sum_ms,
        "max_ms": value.max_ms,
        "db_ms": value.db_ms,
        "db_max_ms": value.db_max_ms,
        "queries": value.queries,
        "n_plus_one": value.n_plus_one,
        "buckets": sketch.encode(value.buckets),
        "db_buckets": sketch.encode(value.db_buckets),
    }


def add_totals_to_database(host: str, totals: dict[tuple, dict[str, int]]) -> None:
    from monitoring.models import MetricTotal

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
    from monitoring.models import RequestSample

    rows = [RequestSample(**{**s, "time": datetime.fromtimestamp(s["time"], UTC)}) for s in samples]
    RequestSample.objects.bulk_create(rows, ignore_conflicts=True, batch_size=200)
    return len(rows)


# --- reading what is not folded yet ---------------------------------------------------
def live_series(kinds: set[str], start: int, end: int) -> dict[tuple, Series]:
    """Unfolded sums of minutes in [start, end), keyed (minute, kind, name, method, class).

    With Redis, what the database holds too (flushes made while Redis was unreachable);
    while Redis is unreachable, only that: `live_missing()` then says so.
    """
    if not redis_configured():
        return _live_database(kinds, start, end)
    try:
        from_redis = _live_redis(kinds, start, end)
        # The database's live table is read only when a flush went there (a query saved
        # on every read: alert evaluation reads live minutes for each request source).
        in_database = get_redis().exists(key("database-live"))
    except FAULTS as exc:
        log.warning("Redis unreachable (%s): live minutes read from the database only", exc)
        return _live_database(kinds, start, end)
    found = _live_database(kinds, start, end) if in_database else {}
    for series_key, value in from_redis.items():
        target = found.get(series_key)
        if target is None:
            found[series_key] = value
        else:
            target.merge(value)
    return found


def live_missing() -> bool:
    """Whether live (unfolded) figures kept in Redis are missing from what is read now."""
    return redis_skipped()


def _live_redis(kinds: set[str], start: int, end: int) -> dict[tuple, Series]:
    from monitoring.models import FoldBatch

    client = get_redis()
    minutes = [int(m) for m in client.smembers(key("minutes"))]
    wanted = [(m, key("live", m)) for m in minutes if start <= m < end]
    pending = [p.decode() for p in client.smembers(key("pending"))]
    claimed = {p.rsplit(":", 2)[-2]: p for p in pending if start <= int(p.rsplit(":", 1)[-1]) < end}
    if claimed:
        applied = set(
            FoldBatch.objects.filter(batch_id__in=list(claimed)).values_list("batch_id", flat=True)
        )
        wanted += [(int(p.rsplit(":", 1)[-1]), p) for b, p in claimed.items() if b not in applied]
    if not wanted:
        return {}
    pipe = client.pipeline(transaction=False)
    for _, name in wanted:
        pipe.hgetall(name)
    out: dict[tuple, Series] = {}
    for (minute, _), data in zip(wanted, pipe.execute(), strict=True):
        series, _texts = parse_hash(data)
        for (kind, name, method, status), value in series.items():
            if kind in kinds:
                target = out.get((minute, kind, name, method, status))
                if target is None:
                    out[(minute, kind, name, method, status)] = value
                else:
                    target.merge(value)
    return out


def _live_database(kinds: set[str], start: int, end: int) -> dict[tuple, Series]:
    from monitoring.models import LiveAggregate

    out: dict[tuple, Series] = {}
    rows = LiveAggregate.objects.filter(
        kind__in=kinds,
        minute__gte=datetime.fromtimestamp(start, UTC),
        minute__lt=datetime.fromtimestamp(end, UTC),
    )
    for row in rows:
        series_key = (int(row.minute.timestamp()), row.kind, row.name, row.method, row.status_class)
        target = out.get(series_key)
        if target is None:
            out[series_key] = series_from_row(row)
        else:
            target.merge(series_from_row(row))
    return out


def series_from_row(row) -> Series:
    """A Rollup or LiveAggregate row as a Series (histogram keys as ints)."""
    value = Series()
    value.count, value.errors = row.count, row.errors
    value.sum_ms, value.max_ms = row.sum_ms, row.max_ms
    value.db_ms, value.db_max_ms = row.db_ms, row.db_max_ms
    value.queries, value.n_plus_one = row.queries, row.n_plus_one
    value.buckets = sketch.decode(row.buckets)
    value.db_buckets = sketch.decode(row.db_buckets)
    return value


def read_totals(host: str) -> dict[tuple, dict[str, int]]:
    """Counters since the start for one host: (kind, name, method, class) → {code: n}."""
    from monitoring.models import MetricTotal

    if not redis_configured():
        return {
            (t.kind, t.name, t.method, t.status_class): t.values
            for t in MetricTotal.objects.filter(host=host)
        }
    out: dict[tuple, dict[str, int]] = {}
    # Counters written to the database while Redis was unreachable, then Redis's.
    for t in MetricTotal.objects.filter(host=host):
        target = out.setdefault((t.kind, t.name, t.method, t.status_class), {})
        for code, amount in t.values.items():
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
