"""Without Redis: nothing waits; the request inserts its beacon's events itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The queue's types live here, with the backend that needs no other: the chooser
# (rum.queue) and the Redis backend import them, and this module imports neither.


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


class DatabaseQueue:
    def put(self, beacon) -> bool:
        return False  # the caller inserts it at once

    def take(self, count: int) -> Batch | None:
        return None  # nothing is ever queued

    def acknowledge(self, batch: Batch, refused: Iterable[bytes] = ()) -> None:
        raise RuntimeError("nothing is taken from the database queue")

    def give_back(self, batch: Batch, error: Exception) -> None:
        raise RuntimeError("nothing is taken from the database queue")

    def backlog(self) -> int | None:
        return None


database_queue = DatabaseQueue()
