"""Accepted events: validated beacons become rows, inserted once each.

A beacon the endpoint accepted goes to the queue (`rum.queue`): with Redis it waits there
(as `Accepted.payload`) for a worker's drain, without it the request inserts it at once.
Nothing accepted is lost, nothing is stored twice:
- a drain acknowledges a batch only once its rows are committed; a worker killed in
  between leaves the batch to the next drain, after the lease, which inserts it again;
- every row carries an idempotency key (unique per site and arrival time, which a
  beacon keeps however often it is inserted), and the insert skips keys already
  stored, so inserting a batch twice stores it once; a beacon the browser sends
  again (a later arrival) is stored once if it comes within RESEND_WINDOW;
- a beacon the database refuses, or one this version cannot read, is kept aside;
- when the database is unreachable, beacons wait in the queue: the failing drain gives
  its batch back at once and drains pause for a while (see the queue).
"""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.utils.dateparse import parse_datetime

from rum import fold
from rum.beacon import scrubbed_rows
from rum.models import Event
from rum.queue import Batch, Queue, QueueUnavailable, queue
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
_SITE, _KEY, _RECEIVED, _KIND_COLUMN, _DETAIL = (
    COLUMNS.index(c) for c in ("site_id", "event_key", "received_at", "kind", "detail")
)
BATCH_BEACONS = 500
# How long the worker's drain waits for a short batch to fill (see `drain`).
LINGER_SECONDS = 0.5
# A beacon the browser sends again arrives later: its events are stored once if it comes
# within this long (the idempotency key holds the arrival time, see rum.models.Event).
RESEND_WINDOW = timedelta(hours=1)


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
    """Take an accepted beacon; answer how: "queued" (for a drain) or "stored" (directly)."""
    if queue().put(beacon):
        return "queued"
    insert_rows(beacon.rows())
    return "stored"


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
        fold.queue(new_events)
    return count


def _not_stored(events: list[Event]) -> list[Event]:
    """The events whose key is not stored within RESEND_WINDOW, each key once."""
    if not events:
        return events
    moments = [event.received_at for event in events]
    stored = set(
        Event.objects.filter(
            site_id__in={event.site_id for event in events},
            event_key__in={event.event_key for event in events},
            received_at__gte=min(moments) - RESEND_WINDOW,
            received_at__lte=max(moments) + RESEND_WINDOW,
        ).values_list("site_id", "event_key")
    )
    fresh = {}
    for event in sorted(events, key=lambda event: event.received_at):
        fresh.setdefault((event.site_id, event.event_key), event)
    return [event for key, event in fresh.items() if key not in stored]


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

    Only a batch taken over from a dead worker (same arrival times: the COPY is refused)
    or a beacon the browser sent again (a later arrival: the check after the COPY finds
    a key twice) can hold stored keys, so the common case pays for one COPY and an
    index lookup per beacon; the other skips the stored rows, and only the rows it
    did insert go to the rollup.
    """
    try:
        with transaction.atomic():  # a savepoint: a refused COPY leaves the rest intact
            keys: set[tuple[int, str]] = set()
            count, moments, items = _copy_into("rum_event", rows, keys)
            if _stored_twice(keys, moments):
                raise _Resent
            return count, items
    except (IntegrityError, _Resent):
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE rum_event_load ON COMMIT DROP AS "  # noqa: S608 (fixed names)
                f"SELECT {_COLUMN_LIST} FROM rum_event WITH NO DATA"
            )
            count, _, _ = _copy_into("rum_event_load", rows)
            # Once per key: not if stored with an arrival time within RESEND_WINDOW, nor
            # twice from this batch (the earliest arrival stays). Looked up by the key, as
            # in _stored_twice.
            cursor.execute(
                f"INSERT INTO rum_event ({_COLUMN_LIST}) "  # noqa: S608
                f"SELECT DISTINCT ON (site_id, event_key) {_COLUMN_LIST} FROM rum_event_load l "
                "WHERE NOT EXISTS (SELECT 1 FROM rum_event e WHERE e.event_key = l.event_key "
                "AND e.site_id + 0 = l.site_id AND e.received_at >= l.received_at - %s "
                "AND e.received_at <= l.received_at + %s) "
                "ORDER BY site_id, event_key, received_at "
                "ON CONFLICT (site_id, event_key, received_at) DO NOTHING "
                f"RETURNING site_id, {', '.join(_ROLLUP_COLUMNS)}",
                [RESEND_WINDOW, RESEND_WINDOW],
            )
            inserted = _new_events((row[0], row[1:]) for row in cursor.fetchall())
            # Dropped now too, in case the caller's transaction goes on (nested atomic blocks).
            cursor.execute("DROP TABLE rum_event_load")
    return count, inserted


class _Resent(Exception):
    """A batch holds events stored already under another arrival time."""


STORED_TWICE_SQL = (
    "SELECT 1 FROM unnest(%s::bigint[], %s::text[]) AS k(site_id, event_key) "
    "CROSS JOIN LATERAL (SELECT count(*) AS found FROM (SELECT FROM rum_event e "
    "WHERE e.event_key = k.event_key AND e.site_id + 0 = k.site_id "
    "AND e.received_at >= %s AND e.received_at <= %s LIMIT 2) AS two) AS c "
    "WHERE c.found > 1 LIMIT 1"
)


def _stored_twice(keys: set[tuple[int, str]], moments: set) -> bool:
    """Whether some of the keys are stored twice within RESEND_WINDOW of the moments.

    One lookup per key in the idempotency index, which leads with the key: `site_id + 0`
    is no index condition, so the planner cannot take the (site, kind, time) index
    instead and read every recent event of the site for each key (it did, on a table
    whose statistics were older than its rows: seconds per batch).
    """
    if not keys:
        return False
    instants = [parse_datetime(m) if isinstance(m, str) else m for _, m in moments]
    sites, event_keys = zip(*keys, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            STORED_TWICE_SQL,
            [
                list(sites),
                list(event_keys),
                min(instants) - RESEND_WINDOW,
                max(instants) + RESEND_WINDOW,
            ],
        )
        return cursor.fetchone() is not None


# What the rollup reads of an event (fold.inbox_item's arguments).
_ROLLUP_COLUMNS = ("page_view_id", "kind", "name", "value", "page", "device", "received_at")
_rollup_values = operator.itemgetter(*(COLUMNS.index(c) for c in _ROLLUP_COLUMNS))
_KIND = _ROLLUP_COLUMNS.index("kind")


def _new_events(rows: Iterable[tuple[int, Sequence]]) -> dict[int, list[bytes]]:
    """Per site, the inbox items of the (site, rollup values) of inserted rows."""
    items: dict[int, list[bytes]] = {}
    for site_id, values in rows:
        site_items = items.setdefault(site_id, [])
        if values[_KIND] in fold.ROLLED_UP:
            site_items.append(fold.inbox_item(*values))
    return items


def _copy_into(
    table: str, rows: Iterable[Sequence], keys: set | None = None
) -> tuple[int, set, dict[int, list[bytes]]]:
    """COPY the rows; answer how many, their (site, received_at) pairs, and their inbox
    items per site (what the rollup reads of them).

    With `keys`, the (site, event_key) of each beacon's first row is added to it (a
    beacon's rows share their site and arrival time, and the browser sends a beacon
    again whole: one of its keys tells whether it is stored already).
    """
    count, moments, items = 0, set(), {}
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
            moment = (row[_SITE], row[_RECEIVED])
            if moment not in moments:
                if keys is not None:
                    keys.add((row[_SITE], row[_KEY]))
                moments.add(moment)
            site_items = items.setdefault(row[_SITE], [])
            if row[_KIND_COLUMN] in fold.ROLLED_UP:
                site_items.append(fold.inbox_item(*_rollup_values(row)))
            count += 1
    return count, moments, items


def _create_rows(rows: Iterable[Sequence]) -> tuple[int, dict[int, list[bytes]]]:
    """Without COPY (SQLite): the rows whose keys are not stored within RESEND_WINDOW.

    Immediate transactions (see config.databases) keep the keys read from changing
    before the insert, so exactly the rows created go to the rollup.
    """
    events = [Event(**_model_fields(dict(zip(COLUMNS, row, strict=True)))) for row in rows]
    fresh = _not_stored(events)
    Event.objects.bulk_create(fresh, batch_size=500)
    new = ((e.site_id, [getattr(e, c) for c in _ROLLUP_COLUMNS]) for e in fresh)
    return len(events), _new_events(new)


def drain(max_seconds: float = 50.0, linger: float = 0.0) -> int:
    """Insert everything queued (a dead worker's batches first); return the events inserted.

    With `linger`, a short batch is followed by that long a wait for more beacons before
    the next one: under steady traffic, fewer and bigger inserts, which cost a third as
    much per event as a handful of beacons at a time.
    """
    waiting = queue()
    deadline = time.monotonic() + max_seconds
    inserted = 0
    try:
        while time.monotonic() < deadline:
            batch = waiting.take(BATCH_BEACONS)
            if batch is None:
                break
            inserted += _insert_batch(waiting, batch)
            if len(batch) < BATCH_BEACONS and not batch.stale:
                time.sleep(max(0.0, min(linger, deadline - time.monotonic())))
    except _Unreachable as exc:  # the beacons wait in the queue
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()  # the next attempt connects afresh
        try:
            waiting.give_back(exc.batch, exc.__cause__)
        except QueueUnavailable:  # then it is taken over after the lease
            log.warning("Redis unreachable: a RUM batch the database failed waits for its lease")
        return 0
    except QueueUnavailable as exc:
        # Requests write directly while Redis is away; the next drain takes the rest.
        log.warning("Redis unreachable (%s): RUM drain skipped", exc)
        return 0
    return inserted


# A beacon the database refuses, or one this version cannot read.
_REFUSED = (DataError, IntegrityError, UnicodeError, ValueError, KeyError, TypeError)


class _Unreachable(Exception):
    """The database failed a batch's insert (not refused it)."""

    def __init__(self, batch: Batch):
        self.batch = batch


def _insert_batch(waiting: Queue, batch: Batch) -> int:
    """Insert a batch and acknowledge it once committed; answer the events inserted."""
    refused = []
    try:
        try:
            inserted = _insert(_Decoded(batch.payloads))
        except _REFUSED:
            # One beacon the database refuses must not block the others: insert them one
            # by one and keep the refused ones aside (never dropped) for someone to look at.
            log.exception("a RUM batch was refused; inserting its %d one by one", len(batch))
            inserted = 0
            for payload in batch.payloads:
                try:
                    inserted += _insert(decode(payload))
                except _REFUSED:
                    log.exception("a RUM beacon refused or unreadable: kept aside")
                    refused.append(payload)
    except DatabaseError as exc:
        raise _Unreachable(batch) from exc
    waiting.acknowledge(batch, refused)
    return inserted


def backlog() -> int:
    """Beacons accepted and not yet stored (0 when nothing waits), for tests and the worker."""
    return queue().backlog() or 0
