"""Raw events' daily partitions on PostgreSQL: created ahead, dropped by retention.

On PostgreSQL rum_event is partitioned by range of received_at, one partition per
UTC day (rum_event_pYYYYMMDD), plus a DEFAULT partition: a row whose day has no
partition yet lands there, so an insert never fails (nor drops a row) for want of
one. `ensure` creates the coming days' partitions and gives each day found in the
default its own partition, moving its rows there. Elsewhere (SQLite) the table is
one table and everything here does nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.utils import timezone

PARENT = "rum_event"
DEFAULT = "rum_event_default"
AHEAD_DAYS = 3
_DAY_NAME = re.compile(r"^rum_event_p(\d{8})$")


def partitioned() -> bool:
    return connection.vendor == "postgresql"


def name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def days() -> list[date]:
    """The days that have a partition, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    return sorted(
        date(int(m[1][:4]), int(m[1][4:6]), int(m[1][6:]))
        for m in map(_DAY_NAME.match, names)
        if m is not None
    )


def ensure(today: date | None = None) -> list[date]:
    """Create today's and the next AHEAD_DAYS days' partitions, and one for each day with
    rows in the default partition; return the days created."""
    if not partitioned():
        return []
    today = today or timezone.now().astimezone(UTC).date()
    wanted = {today + timedelta(days=n) for n in range(AHEAD_DAYS + 1)} | _days_in_default()
    missing = sorted(wanted - set(days()))
    for day in missing:
        create(day)
    return missing


def _days_in_default() -> set[date]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT (received_at AT TIME ZONE 'UTC')::date FROM {DEFAULT}"  # noqa: S608
        )
        return {row[0] for row in cursor.fetchall()}


def create(day: date) -> None:
    """Create the day's partition, moving the day's rows out of the default partition.

    PostgreSQL refuses a partition for a range the default holds rows of: the rows
    go to a new table first, which is then attached as the day's partition, all in
    one transaction. The default is locked throughout, so that no row of the day
    arrives there in between (inserts for that day wait for the commit).
    """
    low, high = start(day), start(day + timedelta(days=1))
    table = name(day)
    bounds = f"FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
    within = f"received_at >= '{low.isoformat()}' AND received_at < '{high.isoformat()}'"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {DEFAULT} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("SELECT to_regclass(%s)", [table])
        if cursor.fetchone()[0] is not None:  # another run made it meanwhile
            return
        cursor.execute(f"CREATE TABLE {table} (LIKE {PARENT} INCLUDING DEFAULTS)")
        moved = f"DELETE FROM {DEFAULT} WHERE {within} RETURNING *"  # noqa: S608 (fixed names)
        cursor.execute(f"WITH moved AS ({moved}) INSERT INTO {table} SELECT * FROM moved")  # noqa: S608
        cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {table} FOR VALUES {bounds}")


def drop(day: date) -> None:
    """Drop a whole day of raw events: no row by row delete, no vacuum after it."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name(day)}")
