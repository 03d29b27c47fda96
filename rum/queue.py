"""Where accepted beacons wait for the database: the one choice between Redis and none.

With Redis (`rum.queue_redis`) a beacon is queued by the request and inserted by a worker's
drain; without it (`rum.queue_database`) the request inserts it itself and nothing waits.
Callers speak only to the `Queue` that `queue()` answers, never to a backend.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings


class QueueUnavailable(Exception):
    """The queue could not be asked (Redis unreachable): nothing was taken or changed."""


@dataclass(frozen=True)
class Batch:
    """Queued beacons (their payloads, see `ingest.Accepted.payload`) taken by one drain."""

    ids: list
    payloads: list[bytes]
    stale: bool = False  # taken over from a worker that died holding it

    def __len__(self) -> int:
        return len(self.ids)


class Queue(Protocol):
    def put(self, beacon) -> str:
        """Take an accepted beacon; answer "queued" or "stored" (inserted at once)."""

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
    from rum.queue_database import database_queue

    return database_queue
