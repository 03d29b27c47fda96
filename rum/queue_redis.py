"""The beacon queue in a Redis stream: every RUM queue key and command is here.

- A request adds its beacon to the stream (XADD) and asks for a drain unless one is
  pending, in one round trip;
- drains read new beacons as one consumer group (XREADGROUP): a beacon read stays in its
  reader's pending list until acknowledged, and is acknowledged and deleted (XACK, XDEL,
  one transaction) only after its rows are committed. The stream thus holds exactly the
  beacons not yet stored: its length is the backlog, and it never keeps stored ones;
- a worker that died holding a batch leaves it pending: after the lease
  (`RUM_CLAIM_LEASE_SECONDS`) the next drain takes it over (XAUTOCLAIM) and inserts it
  again, which the idempotent insert makes harmless;
- a drain the database failed hands its batch back at once (its idle time set past the
  lease) and pauses drains, doubling the pause up to BACKOFF_MAX_MS;
- when Redis does not answer, the request inserts its beacon itself (`queue_database`).

Every key shares the hash tag `{rum}`: in a Redis Cluster they live on one node, so a
transaction or script may touch several, and each script declares the keys it touches.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable

import redis
from celery import current_app
from django.conf import settings

from config.redis_client import get_redis, redis_key
from rum.queue_database import Batch, QueueUnavailable

log = logging.getLogger(__name__)

GROUP = "drains"
FIELD = b"beacon"
KICK_TTL_MS = 10_000
BACKOFF_FIRST_MS = 500
BACKOFF_MAX_MS = 5_000
# Consumers that hold nothing and have not read for this long (workers gone) are forgotten.
CONSUMER_IDLE_MS = 3_600_000


def _key(name: str) -> str:
    return redis_key("{rum}", name)


def stream_key() -> str:
    return _key("beacons")


def kick_key() -> str:
    return _key("drain-requested")


def backoff_key() -> str:
    return _key("drain-paused")


def failures_key() -> str:
    return _key("drain-failures")


def dead_key() -> str:
    return _key("refused")


def queue_keys() -> list[str]:
    return [stream_key(), kick_key(), backoff_key(), failures_key(), dead_key()]


def lease_ms() -> int:
    return int(settings.RUM_CLAIM_LEASE_SECONDS * 1000)


# Atomic, so that a consumer that reads between the look and the delete loses nothing:
# deleting a consumer forgets its pending entries.
_FORGET_IDLE_CONSUMERS = """
local forgotten = 0
for _, fields in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local consumer = {}
  for i = 1, #fields, 2 do consumer[fields[i]] = fields[i + 1] end
  if consumer['pending'] == 0 and consumer['idle'] > tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], consumer['name'])
    forgotten = forgotten + 1
  end
end
return forgotten
"""


# Beacons an earlier version queued in lists (its queue, and its workers' claims), moved
# into the stream atomically. Those versions ran on a single Redis only, so the keys
# (declared) never straddle Cluster nodes.
_ADOPT_LIST = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
for _, item in ipairs(items) do redis.call('XADD', KEYS[2], '*', ARGV[2], item) end
redis.call('LTRIM', KEYS[1], #items, -1)
return #items
"""


def _legacy_lists(client: redis.Redis) -> list[str]:
    claims = redis_key("rum", "claims")
    lists = [redis_key("rum", "events"), *(k.decode() for k in client.zrange(claims, 0, -1))]
    return [key for key in lists if client.exists(key)]


def _unavailable_on_redis_error(method):
    @functools.wraps(method)
    def guarded(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except redis.RedisError as exc:
            raise QueueUnavailable(str(exc)) from exc

    return guarded


class RedisQueue:
    def __init__(self):
        self._tidied_at = 0.0  # time.monotonic() of the last `_tidy`

    def put(self, beacon) -> bool:
        try:
            # A drain clears the flag before each batch: beacons added before the flag is
            # found set are taken by the pending drain, later ones ask for the next. The flag
            # expires in case its task is lost; beat drains every few seconds.
            pipe = get_redis().pipeline(transaction=False)
            pipe.xadd(stream_key(), {FIELD: beacon.payload()})
            pipe.set(kick_key(), 1, nx=True, px=KICK_TTL_MS)
            _, kicked = pipe.execute()
        except redis.RedisError as exc:
            log.warning("Redis unreachable (%s): writing a beacon's events directly", exc)
            return False
        if kicked:
            _request_drain()
        return True

    @_unavailable_on_redis_error
    def take(self, count: int) -> Batch | None:
        client = get_redis()
        if client.exists(backoff_key()):  # the database failed a moment ago
            return None
        client.delete(kick_key())
        return self._take_over(client, count) or self._read(client, count)

    def _take_over(self, client: redis.Redis, count: int) -> Batch | None:
        """A batch whose reader has held it past the lease: a worker that died."""
        _, entries, *_ = self._in_group(
            client.xautoclaim, stream_key(), GROUP, consumer(), lease_ms(), "0-0", count=count
        )
        batch = _batch(entries, stale=True)
        if batch:
            log.warning("taking over %d RUM beacons a worker left unfinished", len(batch))
            return batch
        self._tidy(client)
        return None

    def _read(self, client: redis.Redis, count: int) -> Batch | None:
        answer = self._in_group(
            client.xreadgroup, GROUP, consumer(), {stream_key(): ">"}, count=count
        )
        return _batch(answer[0][1] if answer else [])

    def _in_group(self, command, *args, **kwargs):
        try:
            return command(*args, **kwargs)
        except redis.ResponseError as exc:
            if not str(exc).startswith("NOGROUP"):
                raise
        # The first drain (or the stream was deleted): the group reads from the start.
        try:
            get_redis().xgroup_create(stream_key(), GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):  # another drain made it meanwhile
                raise
        return command(*args, **kwargs)

    def _tidy(self, client: redis.Redis) -> None:
        """Now and then: adopt an earlier version's queue, forget consumers of workers gone."""
        if time.monotonic() - self._tidied_at < 60:
            return
        self._tidied_at = time.monotonic()
        claims = redis_key("rum", "claims")
        for key in _legacy_lists(client):
            adopt = client.register_script(_ADOPT_LIST)
            while adopt(keys=[key, stream_key()], args=[500, FIELD]):
                pass
            client.zrem(claims, key)
        forget = client.register_script(_FORGET_IDLE_CONSUMERS)
        forget(keys=[stream_key()], args=[GROUP, CONSUMER_IDLE_MS])

    @_unavailable_on_redis_error
    def acknowledge(self, batch: Batch, refused: Iterable[bytes] = ()) -> None:
        pipe = get_redis().pipeline(transaction=True)
        if refused := list(refused):
            pipe.rpush(dead_key(), *refused)  # kept aside for someone to look at
        pipe.xack(stream_key(), GROUP, *batch.ids)
        pipe.xdel(stream_key(), *batch.ids)
        pipe.delete(failures_key())
        pipe.execute()

    @_unavailable_on_redis_error
    def give_back(self, batch: Batch, error: Exception) -> None:
        client = get_redis()
        # Idle past the lease: the next drain takes it over at once (the lease is for
        # workers that died, not for ones that could not insert).
        client.xclaim(
            stream_key(), GROUP, consumer(), 0, batch.ids, idle=lease_ms() + 1, justid=True
        )
        failures = client.incr(failures_key())
        pause_ms = min(BACKOFF_FIRST_MS * 2 ** (failures - 1), BACKOFF_MAX_MS)
        pipe = client.pipeline(transaction=False)
        pipe.expire(failures_key(), 3600)
        pipe.set(backoff_key(), 1, px=pause_ms)
        pipe.set(kick_key(), 1, px=pause_ms)  # beacons ask for the drain once the pause ends
        pipe.execute()
        log.warning("database unreachable (%s): RUM drains paused for %d ms", error, pause_ms)

    def backlog(self) -> int | None:
        try:
            return get_redis().xlen(stream_key())
        except redis.RedisError:
            return None


def consumer() -> str:
    """This thread's name in the group: a worker that dies leaves its pending batch to others."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _batch(entries: list, stale: bool = False) -> Batch | None:
    if not entries:
        return None
    return Batch(
        ids=[entry_id for entry_id, _ in entries],
        # An entry deleted while pending (older servers) comes without its fields: only
        # acknowledged. One without the field is refused, and so kept aside.
        payloads=[fields.get(FIELD, b"") for _, fields in entries if fields is not None],
        stale=stale,
    )


def _request_drain() -> None:
    try:
        # By name: the task module imports the drain, which imports this one.
        current_app.tasks["rum.drain_events"].delay()
    except Exception:  # the beacons are safe in Redis; beat's drain will take them
        log.exception("could not send the RUM drain task")


redis_queue = RedisQueue()
