"""Accepted events: queued in Redis and bulk-inserted by a worker, or written directly.

Nothing accepted is lost:
- with Redis, each beacon is one list element (JSON: the beacon as `beacon.scrub` left
  it, with its site, client and arrival time); the worker moves a batch into a claim
  list (atomically, in Redis), builds the rows and inserts them, then deletes the claim.
  A worker killed in between leaves the claim behind; the next drain takes over
  claims older than the lease and inserts them again;
- every row carries an idempotency key (unique per site), and the insert skips
  keys already stored, so inserting a batch twice stores it once;
- when Redis is not configured or not reachable, the request writes directly;
- when the database is unreachable, beacons wait in Redis: a failing drain hands its
  claim back at once (no waiting for the lease) and drains pause, doubling the pause
  up to BACKOFF_MAX_MS, so that an outage costs a few failed attempts, not one per
  beacon, and the queue is taken within a pause of the database's return.
"""

from __future__ import annotations

import logging
import operator
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
import redis
from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.utils.dateparse import parse_datetime

from config.redis_client import Sent, get_redis, redis_configured, redis_key, send_commands
from rum import rollups
from rum.beacon import scrubbed_rows
from rum.models import Event
from rum.useragent import Client

log = logging.getLogger(__name__)

COLUMNS = (
    "site_id", "event_key", "received_at", "session_id", "page_view_id", "kind", "host",
    "page", "route", "name", "value", "delta", "rating", "navigation_type", "target",
    "device", "browser", "os", "connection", "server_ms", "db_ms", "message",
    "fingerprint", "detail",
)  # fmt: skip
_values = operator.itemgetter(*COLUMNS)
_COLUMN_LIST = ", ".join(COLUMNS)
_SITE, _KIND_COLUMN, _DETAIL = (COLUMNS.index(c) for c in ("site_id", "kind", "detail"))
BATCH_BEACONS = 500
# How long the worker's drain waits for a short batch to fill (see `drain`).
LINGER_SECONDS = 0.5
KICK_TTL_MS = 10_000
BACKOFF_FIRST_MS = 500
BACKOFF_MAX_MS = 5_000

_CLAIM = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return items end
redis.call('LTRIM', KEYS[1], #items, -1)
redis.call('RPUSH', KEYS[2], unpack(items))
redis.call('ZADD', KEYS[3], ARGV[2], KEYS[2])
return items
"""
# Take over a claim only if it is still the stale one we saw (two drains may race).
_TAKE_OVER = """
local score = redis.call('ZSCORE', KEYS[2], KEYS[1])
if not score or tonumber(score) > tonumber(ARGV[1]) then return false end
redis.call('ZADD', KEYS[2], ARGV[2], KEYS[1])
return redis.call('LRANGE', KEYS[1], 0, -1)
"""

# Claim lists are named in the claims set, so they cannot all be declared as KEYS.
_BACKLOG = """
local waiting = redis.call('LLEN', KEYS[1])
for _, claim in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  waiting = waiting + redis.call('LLEN', claim)
end
return waiting
"""


def queue_key() -> str:
    return redis_key("rum", "events")


def claims_key() -> str:
    return redis_key("rum", "claims")


def kick_key() -> str:
    return redis_key("rum", "drain-requested")


def backoff_key() -> str:
    return redis_key("rum", "drain-paused")


def failures_key() -> str:
    return redis_key("rum", "drain-failures")


@dataclass(frozen=True)
class Accepted:
    """A beacon the endpoint accepted, scrubbed (`beacon.scrub`), and what it knew of it.

    Queued as it is: the worker turns it into rows, so requests don't spend their time
    on it.
    """

    beacon: dict
    site_id: int
    client: Client
    received_at: datetime

    def payload(self) -> bytes:
        return orjson.dumps(
            {
                "site_id": self.site_id,
                "received_at": self.received_at.isoformat(),
                "client": [self.client.browser, self.client.os, self.client.device],
                "beacon": self.beacon,
            }
        )

    def rows(self) -> list[dict]:
        return scrubbed_rows(self.beacon, self.site_id, self.client, self.received_at.isoformat())


def accept(beacon: Accepted) -> str:
    """Take an accepted beacon; answer how: "queued" (Redis) or "stored" (written directly)."""
    return deliver(beacon).settle()


def deliver(beacon: Accepted) -> Delivery:
    """Start taking an accepted beacon; `settle()` the answer before telling the client.

    The beacon is sent to Redis at once, and its reply read at `settle()`: what the
    caller does in between (the response middleware, for a request) overlaps the round
    trip.
    """
    delivery = Delivery(beacon)
    if not redis_configured():
        delivery.store()
    else:
        try:
            # Push the beacon and ask for a drain unless one is already pending, in one
            # round trip. A drain clears the flag before it starts: beacons pushed before
            # the flag is found set are taken by the pending drain, beacons pushed after it
            # cleared the flag ask for the next one. The flag expires in case its task is
            # lost; beat drains every few seconds.
            delivery.sent = send_commands(
                ("RPUSH", queue_key(), beacon.payload()),
                ("SET", kick_key(), 1, "NX", "PX", KICK_TTL_MS),
            )
        except redis.RedisError as exc:
            delivery.store(because=exc)
    return delivery


class Delivery:
    """A beacon sent to Redis, or written directly when Redis does not take it."""

    def __init__(self, beacon: Accepted):
        self.beacon = beacon
        self.sent: Sent | None = None
        self.how: str | None = None  # "queued" or "stored", once settled

    def store(self, because: Exception | None = None) -> None:
        rows = self.beacon.rows()
        if because is not None:
            log.warning("Redis unreachable (%s): writing %d events directly", because, len(rows))
        insert_rows(rows)
        self.how = "stored"

    def settle(self) -> str:
        """Wait until the events are safe; answer "queued" (in Redis) or "stored" (directly)."""
        if self.how is None:
            try:
                _, kicked = self.sent.replies()
            except redis.RedisError as exc:
                self.store(because=exc)
            else:
                self.how = "queued"
                if kicked:
                    _request_drain()
        return self.how


def _request_drain() -> None:
    from rum.tasks import drain_events

    try:
        drain_events.delay()
    except Exception:  # the rows are safe in Redis; beat's drain will take them
        log.exception("could not send the RUM drain task")


def decode(payload: bytes | str) -> list[Sequence]:
    """A queued beacon's rows, as sequences of values in COLUMNS order."""
    table = orjson.loads(payload)
    if "beacon" in table:  # as the endpoint queues it: the worker builds the rows
        client = Client(*table["client"])
        rows = scrubbed_rows(table["beacon"], table["site_id"], client, table["received_at"])
        return [_values(row) for row in rows]
    # Rows, as earlier versions queued them.
    if isinstance(table, list):  # a list of objects
        return [_values(row) for row in table]
    if table["columns"] == list(COLUMNS):
        return table["rows"]
    return [_values(dict(zip(table["columns"], row, strict=True))) for row in table["rows"]]


def insert_rows(rows: list[dict]) -> None:
    """Store rows once each (idempotent), and queue the new ones for the rollup, atomically."""
    _insert([_values(row) for row in rows])


def _insert(rows: Iterable[Sequence]) -> int:
    """insert_rows, for rows as sequences of values in COLUMNS order; answers how many.

    `rows` is read again if the insert has to be retried, so it must be re-iterable.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            count, new_events = _copy_rows(rows)
        else:
            count, new_events = _create_rows(rows)
        rollups.queue(new_events)
    return count


class _Decoded:
    """Queued beacons' rows, decoded as they are read, each time they are read.

    Holding a whole batch's rows at once would make every garbage collection during
    the insert walk through them: that was a third of the drain's time.
    """

    def __init__(self, payloads: list[bytes]):
        self.payloads = payloads

    def __iter__(self):
        for payload in self.payloads:
            yield from decode(payload)


def _model_fields(row: dict) -> dict:
    fields = dict(row)
    if isinstance(fields["received_at"], str):
        fields["received_at"] = parse_datetime(fields["received_at"])
    return fields


def _copy_rows(rows: Iterable[Sequence]) -> tuple[int, dict[int, list[bytes]]]:
    """COPY straight into rum_event; a batch partly stored already goes through a temp table.

    Only a batch taken over from a dead worker can hold stored keys, so the common case
    pays for one COPY; the other skips the stored rows with ON CONFLICT DO NOTHING, and
    only the rows it did insert go to the rollup.
    """
    try:
        with transaction.atomic():  # a savepoint: a refused COPY leaves the rest intact
            return _copy_into("rum_event", rows)
    except IntegrityError:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE rum_event_load ON COMMIT DROP AS "  # noqa: S608 (fixed names)
                f"SELECT {_COLUMN_LIST} FROM rum_event WITH NO DATA"
            )
            copied, _ = _copy_into("rum_event_load", rows)
            cursor.execute(
                f"INSERT INTO rum_event ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} "  # noqa: S608
                "FROM rum_event_load ON CONFLICT (site_id, event_key) DO NOTHING "
                f"RETURNING site_id, {', '.join(_ROLLUP_COLUMNS)}"
            )
            inserted = _new_events((row[0], row[1:]) for row in cursor.fetchall())
            # Dropped now too, in case the caller's transaction goes on (nested atomic blocks).
            cursor.execute("DROP TABLE rum_event_load")
    return copied, inserted


# What the rollup reads of an event (rollups.inbox_item's arguments).
_ROLLUP_COLUMNS = ("page_view_id", "kind", "name", "value", "page", "device", "received_at")
_rollup_values = operator.itemgetter(*(COLUMNS.index(c) for c in _ROLLUP_COLUMNS))
_KIND = _ROLLUP_COLUMNS.index("kind")


def _new_events(rows: Iterable[tuple[int, Sequence]]) -> dict[int, list[bytes]]:
    """Per site, the inbox items of the (site, rollup values) of inserted rows."""
    items: dict[int, list[bytes]] = {}
    for site_id, values in rows:
        site_items = items.setdefault(site_id, [])
        if values[_KIND] in rollups.ROLLED_UP:
            site_items.append(rollups.inbox_item(*values))
    return items


def _copy_into(table: str, rows: Iterable[Sequence]) -> tuple[int, dict[int, list[bytes]]]:
    """COPY the rows; answer how many, and their inbox items per site."""
    count, items = 0, {}
    # Django does not wrap COPY's errors: this makes them django.db errors like the rest.
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.copy(f"COPY {table} ({_COLUMN_LIST}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = list(row)
            values[_DETAIL] = orjson.dumps(values[_DETAIL]).decode()
            copy.write_row(values)
            site_items = items.setdefault(row[_SITE], [])
            if row[_KIND_COLUMN] in rollups.ROLLED_UP:
                site_items.append(rollups.inbox_item(*_rollup_values(row)))
            count += 1
    return count, items


def _create_rows(rows: Iterable[Sequence]) -> tuple[int, dict[int, list[bytes]]]:
    """Without COPY (SQLite): the rows whose keys are not stored yet, with the ORM.

    Immediate transactions (see config.databases) keep the keys read from changing
    before the insert.
    """
    count, fresh = 0, {}
    for row in rows:
        fields = _model_fields(dict(zip(COLUMNS, row, strict=True)))
        fresh.setdefault((fields["site_id"], fields["event_key"]), fields)
        count += 1
    keys_by_site: dict[int, list[str]] = {}
    for site_id, key in fresh:
        keys_by_site.setdefault(site_id, []).append(key)
    for site_id, keys in keys_by_site.items():
        for start in range(0, len(keys), 500):
            stored = Event.objects.filter(site_id=site_id, event_key__in=keys[start : start + 500])
            for key in stored.values_list("event_key", flat=True):
                del fresh[site_id, key]
    Event.objects.bulk_create([Event(**fields) for fields in fresh.values()], batch_size=500)
    new = ((f["site_id"], [f[c] for c in _ROLLUP_COLUMNS]) for f in fresh.values())
    return count, _new_events(new)


def lease_seconds() -> float:
    return settings.RUM_CLAIM_LEASE_SECONDS


def drain(max_seconds: float = 50.0, linger: float = 0.0) -> int:
    """Insert everything queued in Redis (stale claims first); return the events inserted.

    With `linger`, a short batch is followed by that long a wait for more beacons before
    the next claim: under steady traffic, fewer and bigger inserts, which cost a third
    as much per event as a handful of beacons at a time.
    """
    if not redis_configured():
        return 0
    try:
        client = get_redis()
        if client.exists(backoff_key()):  # the database failed a moment ago
            return 0
        try:
            inserted = _drain(client, max_seconds, linger)
        except (DataError, IntegrityError):
            raise
        except DatabaseError as exc:  # unreachable: the beacons wait in Redis
            _back_off(client, exc)
            return 0
        client.delete(failures_key())
        return inserted
    except redis.RedisError as exc:
        # Requests write directly while Redis is away; the next drain takes the rest.
        log.warning("Redis unreachable (%s): RUM drain skipped", exc)
        return 0


def _back_off(client: redis.Redis, exc: Exception) -> None:
    """Pause drains, and beacons' requests for drains, for a while that doubles."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()  # the next attempt connects afresh
    failures = client.incr(failures_key())
    pause_ms = min(BACKOFF_FIRST_MS * 2 ** (failures - 1), BACKOFF_MAX_MS)
    pipe = client.pipeline(transaction=False)
    pipe.expire(failures_key(), 3600)
    pipe.set(backoff_key(), 1, px=pause_ms)
    pipe.set(kick_key(), 1, px=pause_ms)  # beacons ask for the drain once the pause ends
    pipe.execute()
    log.warning("database unreachable (%s): RUM drains paused for %d ms", exc, pause_ms)


def _drain(client: redis.Redis, max_seconds: float, linger: float) -> int:
    client.delete(kick_key())
    inserted = recover_claims(client)
    deadline = time.monotonic() + max_seconds
    claim = client.register_script(_CLAIM)
    while time.monotonic() < deadline:
        claim_key = redis_key("rum", "claim", uuid.uuid4().hex)
        payloads = claim(
            keys=[queue_key(), claim_key, claims_key()], args=[BATCH_BEACONS, time.time()]
        )
        if not payloads:
            break
        inserted += _insert_claim(client, claim_key, payloads)
        if len(payloads) < BATCH_BEACONS:
            time.sleep(max(0.0, min(linger, deadline - time.monotonic())))
    return inserted


def recover_claims(client: redis.Redis) -> int:
    """Insert the batches of workers that died between claiming and finishing."""
    stale_before = time.time() - lease_seconds()
    take_over = client.register_script(_TAKE_OVER)
    inserted = 0
    for claim_key in client.zrangebyscore(claims_key(), "-inf", stale_before):
        claim_key = claim_key.decode()
        payloads = take_over(keys=[claim_key, claims_key()], args=[stale_before, time.time()])
        if payloads:
            log.warning("taking over a stale RUM claim of %d beacons", len(payloads))
            inserted += _insert_claim(client, claim_key, payloads)
        elif payloads is not None and not client.exists(claim_key):
            client.zrem(claims_key(), claim_key)  # an empty leftover
    return inserted


# A beacon the database refuses, or one this version cannot read.
_REFUSED = (DataError, IntegrityError, UnicodeError, ValueError, KeyError, TypeError)


def _insert_claim(client: redis.Redis, claim_key: str, payloads: list[bytes]) -> int:
    try:
        inserted = _insert(_Decoded(payloads))
    except _REFUSED:
        # One beacon the database refuses must not block the others: insert them one by
        # one and keep the refused ones aside (never dropped) for someone to look at.
        log.exception("a RUM batch was refused; inserting its %d beacons one by one", len(payloads))
        inserted = _insert_one_by_one(client, payloads)
    except DatabaseError:
        # The database is unreachable: the claim is the next drain's at once, not after
        # the lease (which is for workers that died, not for ones that could not insert).
        client.zadd(claims_key(), {claim_key: 0})
        raise
    pipe = client.pipeline(transaction=True)
    pipe.delete(claim_key)
    pipe.zrem(claims_key(), claim_key)
    pipe.execute()
    return inserted


def queued() -> int:
    """Beacons waiting in the queue (0 when Redis is unreachable)."""
    try:
        return get_redis().llen(queue_key())
    except redis.RedisError:
        return 0


def dead_key() -> str:
    return redis_key("rum", "refused")


def _insert_one_by_one(client: redis.Redis, payloads: list[bytes]) -> int:
    inserted = 0
    for payload in payloads:
        try:
            inserted += _insert(decode(payload))
        except _REFUSED:
            log.exception("a RUM beacon refused or unreadable: kept under %s", dead_key())
            client.rpush(dead_key(), payload)
    return inserted


def backlog() -> int:
    """Beacons waiting in Redis (queued plus claimed), for /metrics and tests.

    Read in one script: read one after the other, a batch claimed between the two
    reads would be in neither, and an unfinished backlog would read 0.
    """
    client = get_redis()
    return client.register_script(_BACKLOG)(keys=[queue_key(), claims_key()])
