"""Where accepted beacons wait for the database: the one choice between Redis and none.

With Redis (`rum.queue_redis`) a beacon is queued by the request and inserted by a worker's
drain; without it (`rum.queue_database`) the request inserts it itself and nothing waits.
Callers speak only to the `Queue` that `queue()` answers, never to a backend.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from django.conf import settings

from rum.queue_database import Batch, QueueUnavailable, database_queue

__all__ = ["Batch", "Queue", "QueueUnavailable", "queue"]


class Queue(Protocol):
    def put(self, beacon) -> bool:
        """Queue an accepted beacon; False if it was not (no Redis, or Redis unreachable):
        the caller then inserts it at once."""

    def take(self, count: int) -> Batch | None:
        """Up to `count` beacons, a dead worker's first; None when none wait or drains pause."""

    def acknowledge(self, batch: Batch, refused: Iterable[bytes] = ()) -> None:
        """The batch is committed: forget it, keeping its `refused` payloads aside."""

    def give_back(self, batch: Batch, error: Exception) -> None:
        """The database is unreachable: the batch is the next drain's at once; drains pause."""

    def backlog(self) -> int | None:
        """Beacons accepted and not yet committed; None when nothing ever waits (or unknown)."""


def queue() -> Queue:
    if settings.REDIS_URL:
        from rum.queue_redis import redis_queue

        return redis_queue
    return database_queue
