"""Per-process, in-memory aggregation of timings: the only thing the request path touches.

Each process sums what it sees per (minute, kind, name, method, status class):
the figures of `monitoring.series` (count, errors, total and max time, DB time,
queries, log-bucketed histograms...). A background thread hands the sums to
`monitoring.storage` every few seconds (Redis, or the database on the embedded
default); nothing here does I/O.
Kinds: "request" (name = route template), "timer" (custom code paths), "task"
(Celery tasks), "query" (name = the SQL text as the ORM sent it) and "queue"
(name = route template: the time a request waited before a worker took it, when a
proxy says when it received it).
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
import uuid
from collections import Counter
from contextvars import ContextVar

from django.conf import settings

from lib.sketch import INV_LOG_GAMMA
from lib.sketch import MIN_VALUE as MIN_VALUE_MS
from lib.sketch import ZERO_INDEX as MIN_INDEX
from monitoring.series import (  # noqa: F401 (the kinds are imported from here too)
    OTHER_STATEMENT,
    QUERY,
    QUEUE,
    REQUEST,
    TASK,
    TIMER,
    Series,
)

log = logging.getLogger(__name__)

# Distinct SQL texts kept per flush interval; past it they are summed as one (OTHER_STATEMENT).
MAX_STATEMENTS = 2000
# Samples (slow requests, N+1) kept per process and minute, overall and per route.
SAMPLES_PER_MINUTE = 20
SAMPLES_PER_ROUTE_MINUTE = 3
# A flush that keeps failing holds at most this many minutes before dropping the oldest.
MAX_HELD_MINUTES = 60

_log = math.log
_ceil = math.ceil


class Work:
    """What one block of work (a request, a task) saw of the database."""

    __slots__ = ("db", "count", "queries")

    def __init__(self):
        self.db = 0.0  # seconds
        self.count = 0
        self.queries: list[tuple[str, float]] = []


# The work in progress in this thread or task; read by the database wrapper.
current_work: ContextVar[Work | None] = ContextVar("perfmon_work", default=None)
MAX_QUERIES_KEPT = 1000


def db_wrapper(execute, sql, params, many, context):
    """`connection.execute_wrappers` entry: adds each query's time to the current work."""
    work = current_work.get()
    if work is None:
        return execute(sql, params, many, context)
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        elapsed = time.perf_counter() - started
        work.db += elapsed
        work.count += 1
        if work.count <= MAX_QUERIES_KEPT:
            work.queries.append((sql, elapsed))


def install_db_wrapper(sender=None, connection=None, **kwargs):
    """On every new connection (all aliases): keep the wrapper innermost, once."""
    wrappers = connection.execute_wrappers
    if db_wrapper not in wrappers:
        # Innermost, and first: `connection.execute_wrapper()` pops the last entry.
        wrappers.insert(0, db_wrapper)


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.series: dict[tuple, Series] = {}
        self.statements = 0
        self.samples: list[dict] = []
        self.sample_counts: Counter = Counter()
        self.background = False
        self.thread: threading.Thread | None = None
        self.stop = threading.Event()
        self.flush_lock = threading.Lock()

    # --- recording (hot path) ------------------------------------------------
    def record(
        self,
        kind: str,
        name: str,
        method: str,
        status_class: str,
        duration_ms: float,
        error: bool,
        work: Work | None = None,
        n_plus_one: bool = False,
        at: float | None = None,
    ) -> None:
        minute = int((at or time.time()) // 60) * 60
        index = (
            _ceil(_log(duration_ms) * INV_LOG_GAMMA) if duration_ms > MIN_VALUE_MS else MIN_INDEX
        )
        key = (minute, kind, name, method, status_class)
        with self.lock:
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = Series()
            series.count += 1
            series.sum_ms += duration_ms
            if duration_ms > series.max_ms:
                series.max_ms = duration_ms
            buckets = series.buckets
            buckets[index] = buckets.get(index, 0) + 1
            if error:
                series.errors += 1
            if n_plus_one:
                series.n_plus_one += 1
            if work is not None:
                if work.count:
                    self._record_work(series, work, minute)
                else:  # no query: a DB time of zero, in the lowest bucket
                    db_buckets = series.db_buckets
                    db_buckets[MIN_INDEX] = db_buckets.get(MIN_INDEX, 0) + 1
        if self.background and self.thread is None:
            self._start_thread()

    def _record_work(self, series: Series, work: Work, minute: int) -> None:
        db_ms = work.db * 1000.0
        series.db_ms += db_ms
        series.queries += work.count
        if db_ms > series.db_max_ms:
            series.db_max_ms = db_ms
        db_index = _ceil(_log(db_ms) * INV_LOG_GAMMA) if db_ms > MIN_VALUE_MS else MIN_INDEX
        db_buckets = series.db_buckets
        db_buckets[db_index] = db_buckets.get(db_index, 0) + 1
        for sql, seconds in work.queries:
            self._record_statement(minute, sql, seconds * 1000.0)

    def _record_statement(self, minute: int, sql: str, ms: float) -> None:
        key = (minute, QUERY, sql, "", "")
        series = self.series.get(key)
        if series is None:
            if self.statements >= MAX_STATEMENTS:
                key = (minute, QUERY, OTHER_STATEMENT, "", "")
                series = self.series.get(key)
            if series is None:
                series = self.series[key] = Series()
                self.statements += 1
        series.count += 1
        series.sum_ms += ms
        if ms > series.max_ms:
            series.max_ms = ms
        index = _ceil(_log(ms) * INV_LOG_GAMMA) if ms > MIN_VALUE_MS else MIN_INDEX
        series.buckets[index] = series.buckets.get(index, 0) + 1

    def sample(self, sample: dict) -> bool:
        """Keep a slow or N+1 request's details, within this process's caps."""
        minute = int(time.time() // 60)
        route_key = (minute, sample["route"])
        with self.lock:
            if (
                self.sample_counts[minute] >= SAMPLES_PER_MINUTE
                or self.sample_counts[route_key] >= SAMPLES_PER_ROUTE_MINUTE
            ):
                return False
            if len(self.sample_counts) > 1000:
                self.sample_counts.clear()
            self.sample_counts[minute] += 1
            self.sample_counts[route_key] += 1
            sample.setdefault("id", uuid.uuid4().hex)
            self.samples.append(sample)
        return True

    # --- handing over ----------------------------------------------------------
    def take(self) -> tuple[dict[tuple, Series], list[dict]]:
        """Everything recorded since the last take, leaving the recorder empty."""
        with self.lock:
            series, self.series = self.series, {}
            samples, self.samples = self.samples, []
            self.statements = 0
        return series, samples

    def reset(self) -> None:
        """Forget everything recorded and every sampling cap used (tests, benchmarks)."""
        self.take()
        with self.lock:
            self.sample_counts = Counter()

    def give_back(self, series: dict[tuple, Series], samples: list[dict]) -> None:
        """Merge what a failed flush took back in, so the next flush retries it."""
        newest = max((key[0] for key in series), default=0)
        oldest_kept = newest - MAX_HELD_MINUTES * 60
        dropped = 0
        with self.lock:
            for key, value in series.items():
                if key[0] < oldest_kept:
                    dropped += value.count
                    continue
                current = self.series.get(key)
                if current is None:
                    self.series[key] = value
                else:
                    current.merge(value)
            self.samples[:0] = samples[-SAMPLES_PER_MINUTE * 5 :]
        if dropped:
            log.error("dropped %d timings held for over %d minutes", dropped, MAX_HELD_MINUTES)

    def flush(self) -> bool:
        """Hand everything recorded so far to the store; keep it on failure. True if stored."""
        # Imported here: the store's database and Redis code is not loaded with the recorder,
        # which code being timed imports at any moment.
        from monitoring import storage

        with self.flush_lock:
            series, samples = self.take()
            if not series and not samples:
                return True
            try:
                storage.store(series, samples)
            except Exception:
                log.exception("could not store request metrics; retrying at the next flush")
                self.give_back(series, samples)
                return False
            return True

    # --- the background flush ---------------------------------------------------
    def enable_background_flush(self) -> None:
        """Flush every MONITORING_FLUSH_SECONDS from a thread of this process (and at exit).

        Called by the WSGI entry point and in Celery worker processes; the thread
        starts with the first recording, in whichever process (after a fork too).
        """
        self.background = True

    def after_fork(self) -> None:
        # The parent's thread did not come along, and its locks may be held by it;
        # what the parent recorded is the parent's to flush.
        self.lock = threading.Lock()
        self.flush_lock = threading.Lock()
        self.thread = None
        self.stop = threading.Event()
        self.series, self.samples, self.statements = {}, [], 0
        self.sample_counts = Counter()

    def _start_thread(self) -> None:
        with self.flush_lock:
            if self.thread is not None or not self.background:
                return
            self.thread = threading.Thread(target=self._loop, name="perfmon-flush", daemon=True)
            self.thread.start()
            atexit.register(self.flush)

    def _loop(self) -> None:
        while not self.stop.wait(settings.MONITORING_FLUSH_SECONDS):
            try:
                self.flush()
            except Exception:  # never let the thread die
                log.exception("request metrics flush failed")


recorder = Recorder()
os.register_at_fork(after_in_child=recorder.after_fork)
