"""Raw events' daily partitions: no row lost for want of one, none stored twice."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from rum import ingest, partitions
from rum.models import Event
from tests.rum.conftest import beacon, post
from tests.rum.test_queue import accepted_beacons

pytestmark = pytest.mark.django_db


def copies(events, moment: datetime, prefix: str) -> list[dict]:
    """Store copies of the events received at `moment`, their keys prefixed; return the rows."""
    rows = [
        {**row, "event_key": f"{prefix}{row['event_key']}", "received_at": moment.isoformat()}
        for row in Event.objects.filter(pk__in=[e.pk for e in events]).values(*ingest.COLUMNS)
    ]
    ingest.insert_rows(rows)
    return rows


def where(event_key: str) -> str:
    """The partition holding the event."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM rum_event WHERE event_key = %s", [event_key]
        )
        return cursor.fetchone()[0]


def test_reinserting_a_batch_stores_nothing_twice(site):
    (accepted,) = accepted_beacons(site, 1)
    ingest.insert_rows(accepted.rows())
    ingest.insert_rows(accepted.rows())  # as a batch taken over from a dead worker is
    for payload in [accepted.payload()] * 2:  # or decoded again from the queue
        ingest._insert(ingest.decode(payload))
    keys = list(Event.objects.values_list("event_key", flat=True))
    assert len(keys) == len(set(keys)) == 6


def test_a_beacon_sent_again_is_stored_once_even_within_one_batch(site):
    (first,) = accepted_beacons(site, 1)
    again = ingest.Accepted(
        first.beacon, site.id, first.client, first.received_at + timedelta(seconds=3)
    )
    ingest.insert_rows(first.rows() + again.rows())  # both in the queue, drained together
    ingest.insert_rows(again.rows())
    stored = list(Event.objects.values_list("event_key", "received_at"))
    assert len(stored) == 6
    assert {moment for _, moment in stored} == {first.received_at}


def test_a_resent_beacon_is_looked_up_by_its_key_not_among_the_sites_events(client, site):
    """Statistics older than the rows (a new table, a burst) made the planner read every
    recent event of the site for each key: seconds per batch of 500 beacons."""
    if connection.vendor != "postgresql":
        pytest.skip("the lookup is PostgreSQL's")
    for _ in range(3):
        post(client, beacon())
    moment = datetime.now(UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN " + ingest.STORED_TWICE_SQL,
            [[site.id], ["k1"], moment - timedelta(hours=1), moment + timedelta(hours=1)],
        )
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "site_id_kind" not in plan, plan
    conditions = [line for line in plan.splitlines() if "Index Cond" in line]
    assert conditions and all("event_key" in line for line in conditions), plan


@pytest.mark.parametrize(
    "moment", [datetime(2101, 3, 4, 5, tzinfo=UTC), datetime(2001, 2, 3, tzinfo=UTC)]
)
def test_an_event_of_a_day_without_partition_is_stored_and_then_moved_once(client, site, moment):
    post(client, beacon())
    rows = copies(Event.objects.all(), moment, "far")
    stored = Event.objects.filter(received_at=moment)
    assert stored.count() == 6
    if partitions.partitioned():
        assert where(rows[0]["event_key"]) == partitions.DEFAULT

    created = partitions.ensure()
    ingest.insert_rows(rows)  # and once more, after the move

    assert sorted(stored.values_list("event_key", flat=True)) == sorted(
        r["event_key"] for r in rows
    )
    assert Event.objects.count() == 12
    if partitions.partitioned():
        assert moment.date() in created
        assert where(rows[0]["event_key"]) == partitions.name(moment.date())
        assert _default_rows() == 0


def test_the_job_creates_today_and_the_next_days_once():
    today = date(2099, 1, 1)
    expected = [today + timedelta(days=n) for n in range(partitions.AHEAD_DAYS + 1)]
    if not partitions.partitioned():  # one table: nothing to create
        assert partitions.ensure(today) == []
        return
    assert partitions.ensure(today) == expected
    assert partitions.ensure(today) == []
    assert set(expected) <= set(partitions.days())


def _default_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partitions.DEFAULT}")  # noqa: S608
        return cursor.fetchone()[0]


MIGRATION = ("rum", "0005_event_partitioned_by_day")


@pytest.mark.django_db(transaction=True)
def test_partitioning_keeps_the_events_already_stored(site):
    """Migrated back to before the partitioning, events stored, and forwards again."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    before = list(executor.loader.graph.node_map[MIGRATION].parents)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([parent.key for parent in before])
    moments = [datetime(2026, 1, 2, 3, tzinfo=UTC), datetime(2026, 5, 6, 7, tzinfo=UTC)]
    with connection.cursor() as cursor:
        for n, moment in enumerate(moments * 3):
            cursor.execute(
                "INSERT INTO rum_event (site_id, event_key, received_at, session_id, page_view_id,"
                " kind, host, page, route, name, rating, navigation_type, target, device,"
                " browser, os, connection, message, fingerprint, detail)"
                " VALUES (%s, %s, %s, 's', 'v', 'pageview', '', '/', '', '', '', '', '',"
                " 'desktop', '', '', '', '', '', '{}')",
                [site.id, f"old{n}", moment],
            )
    stored = sorted(Event.objects.values_list("id", "event_key", "received_at"))

    executor = MigrationExecutor(connection)
    executor.migrate(latest)

    assert sorted(Event.objects.values_list("id", "event_key", "received_at")) == stored
    if partitions.partitioned():
        assert {m.date() for m in moments} <= set(partitions.days())
        assert _default_rows() == 0
    copies(Event.objects.all()[:1], moments[0], "new")  # ids go on from the last one
    assert Event.objects.latest("id").id == max(pk for pk, _, _ in stored) + 1
    for day in {m.date() for m in moments} if partitions.partitioned() else ():
        partitions.drop(day)  # this test's tables outlive it: other tests count partitions
