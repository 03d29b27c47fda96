"""Raw events partitioned by day of received_at on PostgreSQL (see rum/partitions.py).

The idempotency key takes received_at in (a unique key of a partitioned table must
hold the partition key), everywhere so that the model says what the database does.
On PostgreSQL the table is rebuilt as a partitioned one and its rows moved over, with
a partition for each day they cover and for today and the next three days, and a
default partition; received_at gets a BRIN index. SQLite keeps one table.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.db import migrations, models

AHEAD_DAYS = 3
COLUMNS = """id, event_key, received_at, session_id, page_view_id, kind, host, page, route,
    name, value, delta, rating, navigation_type, target, device, browser, os, connection,
    server_ms, db_ms, message, fingerprint, detail, site_id"""


class UnlessPostgres(migrations.operations.base.Operation):
    """An operation whose database change is made everywhere but on PostgreSQL, where
    the partitioning below makes it; its change to the models applies everywhere."""

    def __init__(self, operation):
        self.operation = operation

    def state_forwards(self, app_label, state):
        self.operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"{self.operation.describe()} (PostgreSQL: with the partitioning)"


def _start(day: date) -> str:
    return datetime.combine(day, time.min, tzinfo=UTC).isoformat()


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run("ALTER TABLE rum_event RENAME TO rum_event_unpartitioned")
    run("ALTER TABLE rum_event_unpartitioned DROP CONSTRAINT rum_event_idempotency")
    run("DROP INDEX rum_event_received, rum_event_site_kind, rum_event_session")
    run("ALTER TABLE rum_event_unpartitioned RENAME CONSTRAINT rum_event_pkey TO rum_event_unpartitioned_pkey")  # fmt: skip
    run("ALTER SEQUENCE rum_event_id_seq RENAME TO rum_event_unpartitioned_id_seq")
    run(
        "CREATE TABLE rum_event (LIKE rum_event_unpartitioned INCLUDING DEFAULTS INCLUDING IDENTITY,"
        " PRIMARY KEY (id, received_at)) PARTITION BY RANGE (received_at)"
    )
    run("CREATE TABLE rum_event_default PARTITION OF rum_event DEFAULT")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT (received_at AT TIME ZONE 'UTC')::date FROM rum_event_unpartitioned"
        )
        days = {row[0] for row in cursor.fetchall()}
    today = datetime.now(UTC).date()
    days |= {today + timedelta(days=n) for n in range(AHEAD_DAYS + 1)}
    for day in sorted(days):
        run(
            f"CREATE TABLE rum_event_p{day:%Y%m%d} PARTITION OF rum_event "
            f"FOR VALUES FROM ('{_start(day)}') TO ('{_start(day + timedelta(days=1))}')"
        )
    run(f"INSERT INTO rum_event ({COLUMNS}) SELECT {COLUMNS} FROM rum_event_unpartitioned")  # noqa: S608
    run(
        "SELECT setval(pg_get_serial_sequence('rum_event', 'id'), COALESCE(MAX(id), 0) + 1, false)"
        " FROM rum_event"
    )
    run("DROP TABLE rum_event_unpartitioned")
    # The key first: a resent beacon is looked up by it (ingest._stored_twice).
    _index(run, ["event_key", "site_id", "received_at"])
    # Rows arrive in time order: block ranges summarise them in a fraction of a B-tree.
    run("CREATE INDEX rum_event_received ON rum_event USING brin (received_at)")


def _index(run, idempotency: list[str]) -> None:
    run(
        "ALTER TABLE rum_event ADD CONSTRAINT rum_event_idempotency "
        f"UNIQUE ({', '.join(idempotency)})"
    )
    run("CREATE INDEX rum_event_site_kind ON rum_event (site_id, kind, received_at)")
    run("CREATE INDEX rum_event_session ON rum_event (session_id)")


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run("ALTER TABLE rum_event RENAME TO rum_event_partitioned")
    run("ALTER TABLE rum_event_partitioned DROP CONSTRAINT rum_event_idempotency")
    run("DROP INDEX rum_event_received, rum_event_site_kind, rum_event_session")
    run("ALTER TABLE rum_event_partitioned RENAME CONSTRAINT rum_event_pkey TO rum_event_partitioned_pkey")  # fmt: skip
    run("ALTER SEQUENCE rum_event_id_seq RENAME TO rum_event_partitioned_id_seq")
    run(
        "CREATE TABLE rum_event (LIKE rum_event_partitioned INCLUDING DEFAULTS INCLUDING IDENTITY,"
        " PRIMARY KEY (id))"
    )
    _index(run, ["site_id", "event_key"])
    # Arrival times apart, one event may be there twice: the older key keeps the first.
    run(
        f"INSERT INTO rum_event ({COLUMNS}) SELECT {COLUMNS} FROM rum_event_partitioned "  # noqa: S608
        "ORDER BY id ON CONFLICT (site_id, event_key) DO NOTHING"
    )
    run(
        "SELECT setval(pg_get_serial_sequence('rum_event', 'id'), COALESCE(MAX(id), 0) + 1, false)"
        " FROM rum_event"
    )
    run("DROP TABLE rum_event_partitioned")
    run("CREATE INDEX rum_event_received ON rum_event (received_at)")


class Migration(migrations.Migration):
    dependencies = [
        ("rum", "0004_delete_dirtyhour"),
    ]

    operations = [
        UnlessPostgres(
            migrations.RemoveConstraint(model_name="event", name="rum_event_idempotency")
        ),
        UnlessPostgres(
            migrations.AddConstraint(
                model_name="event",
                constraint=models.UniqueConstraint(
                    fields=("event_key", "site", "received_at"), name="rum_event_idempotency"
                ),
            )
        ),
        migrations.RunPython(partition, unpartition),
    ]
