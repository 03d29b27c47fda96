"""The Redis stream under the queue: leases, acknowledgement after commit, trimming, keys."""

import time

import pytest
from django.db import connection
from django.test import override_settings
from redis.crc import key_slot

from config.redis_client import get_redis
from rum import ingest, queue_redis
from rum.models import Event
from tests.rum.test_queue import (
    _database_url,
    accepted_beacons,
    add_raw,
    enqueue_without_kick,
    read_as,
    stored_keys,
)
from tests.support import run_python, subprocess_env

pytestmark = pytest.mark.redis


def pending_by_consumer() -> dict[str, int]:
    consumers = get_redis().xinfo_consumers(queue_redis.stream_key(), queue_redis.GROUP)
    return {c["name"].decode(): c["pending"] for c in consumers if c["pending"]}


@pytest.mark.django_db
def test_a_dead_consumers_pending_beacons_are_taken_over_after_the_lease(site):
    beacons = accepted_beacons(site, 3)
    expected = {row["event_key"] for accepted in beacons for row in accepted.rows()}
    enqueue_without_kick(beacons)
    read_as("dead-worker", 2)  # read, then the worker died: never acknowledged

    with override_settings(RUM_CLAIM_LEASE_SECONDS=1):
        assert ingest.drain() == 6  # within the lease: only the beacon nobody read
        assert ingest.backlog() == 2
        assert pending_by_consumer() == {"dead-worker": 2}
        time.sleep(1.1)
        assert ingest.drain() == 12  # past it: another consumer takes the two over
    assert pending_by_consumer() == {}
    assert ingest.backlog() == 0
    keys = stored_keys()
    assert len(keys) == len(set(keys)) == 18
    assert set(keys) == expected


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_drain_killed_between_commit_and_acknowledgement_stores_nothing_twice(site, tmp_path):
    beacons = accepted_beacons(site, 4)
    expected = {row["event_key"] for accepted in beacons for row in accepted.rows()}
    enqueue_without_kick(beacons)
    # A drain process killed (SIGKILL) right after its insert committed, before its XACK.
    env = subprocess_env(DATABASE_URL=_database_url(), VAR_DIR=str(tmp_path))
    killed = run_python(
        "import os, signal\n"
        "from rum import ingest, queue_redis\n"
        "def die(*args, **kwargs): os.kill(os.getpid(), signal.SIGKILL)\n"
        "queue_redis.RedisQueue.acknowledge = die\n"
        "ingest.drain()\n",
        env,
    )
    assert killed.returncode == -9, killed.stderr
    assert Event.objects.count() == 24  # committed...
    assert ingest.backlog() == 4  # ...but still in the stream, pending

    with override_settings(RUM_CLAIM_LEASE_SECONDS=0):
        assert ingest.drain() == 24  # delivered again, inserted again: skipped as stored
    assert ingest.backlog() == 0
    keys = stored_keys()
    assert len(keys) == len(expected)
    assert set(keys) == expected
    connection.close()


@pytest.mark.django_db
def test_acknowledged_beacons_leave_the_stream_and_pending_ones_stay(site):
    enqueue_without_kick(accepted_beacons(site, 4))
    [held] = read_as("live-worker", 1)
    add_raw(b"not json")  # refused: kept aside, not in the stream
    assert get_redis().xlen(queue_redis.stream_key()) == 5

    assert ingest.drain() == 18
    [(_, fields)] = get_redis().xrange(queue_redis.stream_key())
    assert fields[queue_redis.FIELD] == held  # only the unacknowledged one is left
    assert get_redis().lrange(queue_redis.dead_key(), 0, -1) == [b"not json"]

    enqueue_without_kick(accepted_beacons(site, 600))  # more than one batch
    assert ingest.drain() == 3600
    [(_, fields)] = get_redis().xrange(queue_redis.stream_key())
    assert fields[queue_redis.FIELD] == held


@pytest.mark.django_db
def test_every_queue_key_shares_one_hash_tag(site):
    enqueue_without_kick(accepted_beacons(site, 2))
    add_raw(b"not json")
    ingest.drain()
    keys = queue_redis.queue_keys()
    assert all("{rum}" in key for key in keys)
    assert len({key_slot(key.encode()) for key in keys}) == 1
    written = {key.decode() for key in get_redis().scan_iter("*rum*")}
    assert written and written <= set(keys)


@pytest.mark.django_db
def test_consumers_holding_nothing_are_forgotten_and_holders_kept(site, monkeypatch):
    enqueue_without_kick(accepted_beacons(site, 1))
    read_as("holder", 1)
    get_redis().xreadgroup(
        queue_redis.GROUP, "gone", {queue_redis.stream_key(): ">"}, count=1
    )  # read nothing: holds nothing
    monkeypatch.setattr(queue_redis, "CONSUMER_IDLE_MS", 0)
    monkeypatch.setattr(queue_redis.redis_queue, "_tidied_at", 0.0)
    time.sleep(0.01)
    ingest.drain()
    names = {c["name"].decode() for c in get_redis().xinfo_consumers(
        queue_redis.stream_key(), queue_redis.GROUP)}  # fmt: skip
    assert "gone" not in names
    assert "holder" in names
    assert ingest.backlog() == 1


@pytest.mark.django_db
def test_beacons_an_earlier_version_queued_in_lists_are_stored(site, monkeypatch):
    """Queued, or claimed by a worker, before an upgrade: taken into the stream, stored once."""
    queued, claimed = accepted_beacons(site, 2)
    client = get_redis()
    old_claim = queue_redis.redis_key("rum", "claim", "old-worker")
    client.rpush(queue_redis.redis_key("rum", "events"), queued.payload())
    client.rpush(old_claim, claimed.payload())
    client.zadd(queue_redis.redis_key("rum", "claims"), {old_claim: 0})
    monkeypatch.setattr(queue_redis.redis_queue, "_tidied_at", 0.0)

    assert ingest.drain() == 12
    assert Event.objects.count() == 12
    assert ingest.backlog() == 0
    assert not list(client.scan_iter(queue_redis.redis_key("rum", "*")))
