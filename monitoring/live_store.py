"""Where the sums not folded yet live: Redis when REDIS_URL is set, else the database.

The choice is made here, once: `live_store()`. Both stores answer the same
protocol, `LiveStore`; the Redis one falls back to the database one while Redis
is unreachable. monitoring.storage prepares what a flush hands over, the fold
(monitoring.fold) adds claimed batches to the rollups, and the readers
(monitoring.rollup_reads, /metrics, the dashboards' warning) ask the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from config.redis_client import redis_configured
from monitoring.live_database import Batch, DatabaseLiveStore, Flush
from monitoring.live_redis import RedisLiveStore
from monitoring.series import Series

__all__ = ["Batch", "Flush", "LiveStore", "live_store"]


class LiveStore(Protocol):
    def store(self, flush: Flush) -> None:
        """Add one process's flush (its sums, statement texts, /metrics counters, samples)."""

    def live_series(self, kinds: set[str], start: int, end: int) -> dict[tuple, Series]:
        """Unfolded sums of minutes in [start, end), keyed (minute, kind, name, method, class)."""

    def live_missing(self) -> bool:
        """Whether unfolded sums are missing from what `live_series` reads now."""

    def read_totals(self, host: str) -> dict[tuple, dict[str, int]]:
        """/metrics counters since the start for one host: (kind, name, method, class) →
        {code: n}."""

    def claim(self, cutoff: int) -> Iterator[Batch]:
        """Sums of minutes before `cutoff`, batch after batch, for the fold.

        The fold asks for each batch inside the transaction that adds its sums, and
        acknowledges it once that transaction has committed. A batch is offered again by a
        later fold until it is acknowledged: its `batch_id`, recorded in that transaction,
        tells the fold it was added already (a store without one removes a batch in the
        transaction it is asked for in, so a rollback puts it back).
        """

    def acknowledge(self, batch: Batch) -> None:
        """Forget a batch whose sums the fold has committed."""

    def save_queued_samples(self) -> int:
        """Move samples queued by flushes into the database; how many."""


_database = DatabaseLiveStore()
_redis = RedisLiveStore(_database)


def live_store() -> LiveStore:
    return _redis if redis_configured() else _database
