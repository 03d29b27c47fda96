"""Without Redis: the request inserts its beacon's events itself, and nothing waits."""

from __future__ import annotations

from collections.abc import Iterable

from rum.queue import Batch


class DatabaseQueue:
    def put(self, beacon) -> str:
        from rum.ingest import insert_rows

        insert_rows(beacon.rows())
        return "stored"

    def take(self, count: int) -> Batch | None:
        return None  # nothing is ever queued

    def acknowledge(self, batch: Batch, refused: Iterable[bytes] = ()) -> None:
        raise RuntimeError("nothing is taken from the database queue")

    def give_back(self, batch: Batch, error: Exception) -> None:
        raise RuntimeError("nothing is taken from the database queue")

    def backlog(self) -> int | None:
        return None


database_queue = DatabaseQueue()
