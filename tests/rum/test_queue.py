"""Nothing accepted is lost, nothing is stored twice: Redis queue, direct writes, dead workers."""

import copy
import json
import os
import signal
import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from config.redis_client import breaker, get_redis
from rum import ingest, queue_redis
from rum.beacon import BeaconSerializer, scrub
from rum.models import Event
from rum.useragent import classify
from tests.rum.conftest import CHROME_DESKTOP, ORIGIN, beacon, post, vital
from tests.support import (
    background,
    celery_worker_command,
    closed_port,
    run_python,
    subprocess_env,
    wait_until,
)


def accepted_beacons(site, n_beacons: int) -> list[ingest.Accepted]:
    """n realistic beacons (six events each) as the endpoint would queue them."""
    validated = BeaconSerializer().run_validation(beacon())
    template = scrub(validated, "testserver")
    client = classify(CHROME_DESKTOP)
    return [
        ingest.Accepted(
            {**copy.deepcopy(template), "session": f"s{n}"}, site.id, client, timezone.now()
        )
        for n in range(n_beacons)
    ]


def enqueue_without_kick(beacons: list[ingest.Accepted]) -> None:
    client = get_redis()
    client.set(queue_redis.kick_key(), 1)  # no drain task: the test decides when to drain
    for accepted in beacons:
        assert ingest.accept(accepted) == "queued"


def stored_keys() -> list[str]:
    return list(Event.objects.values_list("event_key", flat=True))


@pytest.mark.redis
@pytest.mark.django_db
def test_accepted_events_wait_in_redis_until_a_drain_inserts_them(site):
    enqueue_without_kick(accepted_beacons(site, 3))
    assert ingest.backlog() == 3
    assert Event.objects.count() == 0

    assert ingest.drain() == 18
    assert Event.objects.count() == 18
    assert ingest.backlog() == 0


@pytest.mark.django_db
def test_with_redis_unreachable_the_endpoint_writes_directly(client, site):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/1"):
        response = post(client, beacon())
    assert response.status_code == 202
    assert response.json() == {"accepted": 6}
    assert Event.objects.count() == 6


@pytest.mark.redis
@pytest.mark.django_db
def test_a_batch_claimed_and_inserted_but_never_released_is_not_stored_twice(site):
    """A worker that died after its commit but before releasing its claim."""
    enqueue_without_kick(accepted_beacons(site, 4))
    client = get_redis()
    payloads = read_as("dead-worker", 2)
    ingest.insert_rows([dict(zip(ingest.COLUMNS, row, strict=True))
                        for p in payloads for row in ingest.decode(p)])  # fmt: skip
    assert Event.objects.count() == 12

    with override_settings(RUM_CLAIM_LEASE_SECONDS=0):
        ingest.drain()
    keys = stored_keys()
    assert len(keys) == len(set(keys)) == 24
    assert ingest.backlog() == 0
    assert client.xpending(queue_redis.stream_key(), queue_redis.GROUP)["pending"] == 0


@pytest.mark.redis
@pytest.mark.django_db
def test_a_fresh_claim_is_left_to_its_worker(site):
    enqueue_without_kick(accepted_beacons(site, 2))
    read_as("busy", 1)  # read "now" by a live worker
    assert ingest.drain() == 6  # only the unclaimed beacon
    assert ingest.backlog() == 1


def read_as(consumer: str, count: int) -> list[bytes]:
    """Beacons read by a drain of the consumer group, left pending (unacknowledged)."""
    client = get_redis()
    stream = queue_redis.stream_key()
    client.xgroup_create(stream, queue_redis.GROUP, id="0", mkstream=True)
    [(_, entries)] = client.xreadgroup(queue_redis.GROUP, consumer, {stream: ">"}, count=count)
    return [fields[queue_redis.FIELD] for _, fields in entries]


def add_raw(payload) -> None:
    """A payload added to the queue as it is (as earlier versions, or a bug, may have)."""
    get_redis().xadd(queue_redis.stream_key(), {queue_redis.FIELD: payload})


def _database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _waiting_inserts(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND (query LIKE 'COPY rum_event %%' OR query LIKE 'INSERT INTO rum_event %%')"
        ).fetchone()[0]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_insert_loses_nothing_and_duplicates_nothing(site, tmp_path):
    batches = accepted_beacons(site, 1200)  # three claims of 500, 500 and 200 beacons
    expected = {row["event_key"] for accepted in batches for row in accepted.rows()}
    enqueue_without_kick(batches)
    dsn = _database_url()
    env = subprocess_env(
        DATABASE_URL=dsn,
        VAR_DIR=str(tmp_path),
        CELERY_TASK_ALWAYS_EAGER="false",
        RUM_CLAIM_LEASE_SECONDS="1",
    )
    send_drain = "from rum.tasks import drain_events; drain_events.delay()"

    # Hold a lock that blocks inserts into rum_event: the worker stops inside its insert.
    locker = psycopg.connect(dsn)
    locker.execute("LOCK TABLE rum_event IN SHARE MODE")
    log = tmp_path / "worker1.log"
    try:
        with background(celery_worker_command(), env, log) as worker:
            assert run_python(send_drain, env).returncode == 0
            wait_until(lambda: _waiting_inserts(dsn) == 1, timeout=60, message=log.read_text())
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    finally:
        locker.rollback()
        locker.close()

    assert Event.objects.count() == 0
    assert ingest.backlog() == 1200  # the dead worker's claim is still in Redis

    log = tmp_path / "worker2.log"
    with background(celery_worker_command(), env, log):
        assert run_python(send_drain, env).returncode == 0
        wait_until(lambda: ingest.backlog() == 0, timeout=60, message=log.read_text())
    keys = stored_keys()
    assert len(keys) == len(expected)
    assert set(keys) == expected
    connection.close()


@pytest.mark.redis
@pytest.mark.django_db
def test_rows_queued_after_a_drain_ask_for_the_next_one(site):
    enqueue_without_kick(accepted_beacons(site, 1))
    ingest.drain()  # clears the "drain requested" flag first
    [later] = accepted_beacons(site, 2)[1:]
    assert ingest.accept(later) == "queued"  # asks for a drain: run inline by the test settings
    assert Event.objects.count() == 12
    assert ingest.backlog() == 0


@pytest.mark.redis
@pytest.mark.django_db
def test_a_lingering_drain_takes_the_beacons_that_arrive_while_it_waits(site):
    first, second = accepted_beacons(site, 2)
    enqueue_without_kick([first])
    later = threading.Timer(0.2, enqueue_without_kick, [[second]])
    later.start()
    assert ingest.drain(linger=1.0) == 12  # one drain: the second beacon came in its wait
    later.join()
    assert ingest.backlog() == 0


def as_queued(accepted):
    return accepted.payload()


# Earlier versions queued the rows themselves.
def as_objects(accepted):
    return json.dumps(accepted.rows())


def as_columns(accepted, columns=ingest.COLUMNS):
    rows = accepted.rows()
    return json.dumps({"columns": columns, "rows": [[r[c] for c in columns] for r in rows]})


def with_columns_reversed(accepted):
    return as_columns(accepted, list(reversed(ingest.COLUMNS)))


@pytest.mark.redis
@pytest.mark.django_db
@pytest.mark.parametrize("encode", [as_queued, as_objects, as_columns, with_columns_reversed])
def test_a_queued_beacon_is_stored_as_sent_whichever_way_it_was_written(site, encode):
    [accepted] = accepted_beacons(site, 1)
    get_redis().set(queue_redis.kick_key(), 1)
    add_raw(encode(accepted))
    assert ingest.drain() == 6
    stored = {e["event_key"]: e for e in Event.objects.values(*ingest.COLUMNS)}
    for row in accepted.rows():
        event = stored[row["event_key"]]
        assert event["received_at"].isoformat() == row["received_at"]
        assert event == {**row, "received_at": event["received_at"]}


@pytest.mark.redis
@pytest.mark.django_db
def test_a_queued_beacon_that_cannot_be_read_is_kept_aside_and_blocks_nothing(site):
    first, later = accepted_beacons(site, 2)
    enqueue_without_kick([first])
    add_raw(b'{"beacon": {"events": "not a list"}}')
    enqueue_without_kick([later])
    assert ingest.drain() == 12
    assert Event.objects.count() == 12
    assert ingest.backlog() == 0
    assert get_redis().llen(queue_redis.dead_key()) == 1


@pytest.mark.redis
@pytest.mark.django_db
def test_a_beacon_is_queued_when_redis_closed_the_connection_in_between(site):
    enqueue_without_kick(accepted_beacons(site, 1))
    get_redis().client_kill_filter(_type="normal", skipme=True)  # as a Redis restart would
    enqueue_without_kick(accepted_beacons(site, 1))
    assert ingest.backlog() == 2


@pytest.mark.redis
@pytest.mark.django_db
def test_a_beacon_redis_is_too_slow_to_take_is_written_directly_and_stored_once(client, site):
    """The push reaches Redis but its reply is late: the request cannot wait for it."""
    with override_settings(REDIS_SOCKET_TIMEOUT=0.2, RUM_THROTTLE_RATE=""):
        get_redis().client_pause(700, all=False)  # writes wait 0.7 s
        response = post(client, beacon())
        assert response.status_code == 202
        assert response.json() == {"accepted": 6}
        assert Event.objects.count() == 6  # written by the request itself
        # Had Redis run the push after all, the drain must not store it twice.
        time.sleep(0.7)
        breaker.close()  # as the breaker's probe does once Redis answers again
        ingest.drain()
    assert Event.objects.count() == 6
    assert ingest.backlog() == 0


@pytest.mark.redis
@pytest.mark.django_db
def test_metrics_show_the_beacons_waiting_for_the_worker(site, client, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    enqueue_without_kick(accepted_beacons(site, 3))
    body = client.get("/metrics").content.decode()
    assert "perfmon_rum_queued_beacons 3.0" in body
    ingest.drain()
    assert "perfmon_rum_queued_beacons 0.0" in client.get("/metrics").content.decode()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db
def test_a_beacon_the_database_refuses_does_not_block_the_others(site):
    good, bad, later = accepted_beacons(site, 3)
    lcp = next(e for e in bad.beacon["events"] if e.get("name") == "LCP")
    lcp["attribution"]["target"] = "nul \x00 in text"  # PostgreSQL refuses it (as the endpoint)
    enqueue_without_kick([good, bad, later])
    assert ingest.drain() == 12
    assert Event.objects.count() == 12
    assert ingest.backlog() == 0
    assert get_redis().llen(queue_redis.dead_key()) == 1  # kept aside, not dropped


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_backlog_reads_zero_only_once_every_claimed_beacon_is_stored(site, monkeypatch):
    # One beacon per claim: hundreds of moments where one claim ends and the next begins.
    monkeypatch.setattr(ingest, "BATCH_BEACONS", 1)
    enqueue_without_kick(accepted_beacons(site, 300))

    def drain():
        try:
            ingest.drain()
        finally:
            connection.close()  # the thread's own connection

    drainer = threading.Thread(target=drain)
    drainer.start()
    try:
        while ingest.backlog():
            pass
        assert Event.objects.count() == 300 * 6
    finally:
        drainer.join()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_beacons_of_a_site_deleted_while_they_wait_are_kept_aside_not_stored(site):
    enqueue_without_kick(accepted_beacons(site, 1))
    site.delete()
    assert ingest.drain() == 0
    assert Event.objects.count() == 0
    assert ingest.backlog() == 0
    assert get_redis().llen(queue_redis.dead_key()) == 1


@pytest.mark.redis
@pytest.mark.django_db
def test_nothing_private_waits_in_redis(client, site):
    get_redis().set(queue_redis.kick_key(), 1)  # no drain yet: look at what is queued
    events = [
        {"id": "p1", "type": "pageview", "title": "Order",
         "referrer": "https://mail.example.org/inbox/bob@example.com?token=REFSECRET"},
        vital("LCP", 2100.0, attribution={"url": "https://cdn.example.com/a.jpg?sig=LCPSECRET"}),
        {"id": "x1", "type": "error", "message": "boom", "line": 1,
         "source": "https://shop.example.com/app.js?auth=SRCSECRET",
         "stack": "Error: boom\n    at f (https://shop.example.com/app.js?auth=STACKSECRET:1:2)"},
        {"id": "p2", "type": "pageview", "page_view": "spa2",
         "url": "https://shop.example.com/users/alice@example.com/orders/98765?q=SPASECRET#tab"},
    ]  # fmt: skip
    response = client.post(
        "/api/rum/beacon/", data=json.dumps(beacon(events)), content_type="text/plain",
        HTTP_ORIGIN=ORIGIN, HTTP_USER_AGENT=CHROME_DESKTOP,
    )  # fmt: skip
    assert response.status_code == 202
    [(_, fields)] = get_redis().xrange(queue_redis.stream_key())
    queued = fields[queue_redis.FIELD]
    for private in (b"SECRET", b"12345", b"98765", b"alice", b"bob", b"inbox", b"#", b"Win64"):
        assert private not in queued
    assert ingest.drain() == 4
    pages = set(Event.objects.values_list("page", flat=True))
    assert pages == {"/orders/:id", "/users/:email/orders/:id"}
    referrer = Event.objects.get(kind="pageview", page="/orders/:id").detail["referrer"]
    assert referrer == "mail.example.org"
