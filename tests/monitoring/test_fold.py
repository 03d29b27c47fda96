"""The fold is idempotent and resumable: a worker killed mid-fold loses and doubles nothing."""

import time

import pytest

from config.redis_client import get_redis
from monitoring import fold, live_redis
from monitoring.live_store import live_store
from monitoring.models import ALL, DAY, HOUR, MINUTE, FoldBatch, LiveAggregate, Rollup
from monitoring.recorder import REQUEST
from tests.monitoring.conftest import database_url_for_subprocess
from tests.support import run_manage, run_python, subprocess_env


def later() -> float:
    """A moment at which every minute recorded so far is closed (read when used)."""
    return time.time() + 180


def record(recorder, route: str, n: int, minute_offset: int = 0):
    at = time.time() - 120 + minute_offset * 60
    for i in range(n):
        recorder.record(REQUEST, route, "GET", "2xx", 10.0 + i, False, at=at)


def total(route: str = ALL, resolution: int = MINUTE) -> int:
    return sum(
        Rollup.objects.filter(resolution=resolution, kind=REQUEST, name=route).values_list(
            "count", flat=True
        )
    )


@pytest.mark.django_db
def test_folding_twice_counts_once(recorder, backend):
    record(recorder, "/a/", 7)
    recorder.flush()
    assert fold.fold(now=later()) == 1
    assert fold.fold(now=later()) == 0
    assert total("/a/") == total("/a/", HOUR) == total("/a/", DAY) == 7


@pytest.mark.django_db
def test_late_data_for_a_folded_minute_is_added(recorder, backend):
    record(recorder, "/a/", 3)
    recorder.flush()
    fold.fold(now=later())
    record(recorder, "/a/", 2)  # same minute, flushed after its fold (Redis was away)
    recorder.flush()
    fold.fold(now=later())
    assert total("/a/") == 5 and total() == 5
    assert Rollup.objects.filter(resolution=MINUTE, name="/a/").count() == 1


@pytest.mark.django_db
def test_the_open_minute_is_folded_as_far_as_it_goes_then_the_rest_added(recorder, backend):
    # What Redis holds (and a Redis restart could lose) is at most one fold interval.
    minute = int(time.time() // 60) * 60
    for _ in range(3):
        recorder.record(REQUEST, "/a/", "GET", "2xx", 5.0, False, at=minute + 1)
    recorder.flush()
    assert fold.fold(now=minute + 2) == 1
    assert total("/a/") == 3
    recorder.record(REQUEST, "/a/", "GET", "2xx", 7.0, False, at=minute + 3)
    recorder.flush()
    assert fold.fold(now=minute + 4) == 1
    assert total("/a/") == 4
    assert Rollup.objects.filter(resolution=MINUTE, name="/a/").count() == 1


@pytest.mark.django_db
def test_a_flush_while_redis_is_unreachable_goes_to_the_database(recorder, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/11"  # nothing listens there
    settings.REDIS_SOCKET_TIMEOUT = 0.2
    record(recorder, "/a/", 4)
    assert recorder.flush() is True
    assert recorder.flush() is True  # nothing left to store
    fold.fold(now=later())  # Redis still unreachable: what the database holds
    assert total("/a/") == 4


@pytest.mark.redis
@pytest.mark.django_db
def test_live_minutes_are_read_from_redis_alone_while_it_answers(
    recorder, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(live_store(), "unmarked_database_sums", False)  # no earlier outage
    record(recorder, "/a/", 5)
    assert recorder.flush() is True
    now = int(time.time())
    with django_assert_num_queries(0):
        live = live_store().live_series({REQUEST}, now - 600, now + 60)
    assert sum(v.count for k, v in live.items() if k[2] == "/a/") == 5


@pytest.mark.django_db
def test_sums_written_to_the_database_while_redis_was_away_are_read_once_it_is_back(
    recorder, settings
):
    from config.redis_client import breaker

    redis_url = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:1/11"  # nothing listens there
    settings.REDIS_SOCKET_TIMEOUT = 0.2
    record(recorder, "/a/", 4)
    assert recorder.flush() is True  # to the database
    settings.REDIS_URL = redis_url
    breaker.close()  # as the breaker's probe does once Redis answers
    record(recorder, "/a/", 3)
    assert recorder.flush() is True  # to Redis, saying the database holds sums too
    now = int(time.time())
    live = live_store().live_series({REQUEST}, now - 600, now + 60)
    assert sum(v.count for k, v in live.items() if k[2] == "/a/") == 7
    fold.fold(now=later())
    assert total("/a/") == 7


@pytest.mark.django_db
def test_the_embedded_fold_empties_the_live_table(recorder, settings):
    settings.REDIS_URL = ""
    record(recorder, "/a/", 3, minute_offset=0)
    record(recorder, "/a/", 2, minute_offset=-1)
    recorder.flush()
    assert LiveAggregate.objects.count() == 2
    assert fold.fold(now=later()) == 2
    assert LiveAggregate.objects.count() == 0
    assert total("/a/") == 5 and total("/a/", HOUR) == 5


KILL_INSIDE_TRANSACTION = """
import os, signal
from monitoring import fold
real = fold.upsert_rollups
def upsert_then_die(rows):
    real(rows)
    os.kill(os.getpid(), signal.SIGKILL)  # before the commit
fold.upsert_rollups = upsert_then_die
fold.fold(now={now})
"""

KILL_AFTER_COMMIT = """
import os, signal
from django.db import transaction
from monitoring import fold
real = fold.upsert_rollups
def upsert_then_die_after_commit(rows):
    transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))  # before the DEL
    return real(rows)
fold.upsert_rollups = upsert_then_die_after_commit
fold.fold(now={now})
"""


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("script", [KILL_INSIDE_TRANSACTION, KILL_AFTER_COMMIT])
def test_a_worker_killed_mid_fold_neither_loses_nor_double_counts(recorder, script):
    record(recorder, "/a/", 6, minute_offset=0)
    record(recorder, "/b/", 4, minute_offset=-1)
    recorder.flush()
    env = subprocess_env(DATABASE_URL=database_url_for_subprocess())
    result = run_python(script.format(now=later()), env)
    assert result.returncode == -9, result.stderr
    redis = get_redis()
    assert len(redis.smembers(live_redis.key("pending"))) == 1  # claimed, not finished
    died_before_commit = script is KILL_INSIDE_TRANSACTION
    assert FoldBatch.objects.count() == (0 if died_before_commit else 1)
    # Killed before the commit: nothing. After: the first minute, not yet deleted from Redis.
    assert total() == (0 if died_before_commit else 4)

    lock = live_redis.key("fold-lock")
    assert 0 < redis.ttl(lock) <= live_redis.LOCK_SECONDS  # the dead worker's lock expires ...
    redis.delete(lock)  # ... now, rather than in two minutes
    fold.fold(now=later())
    fold.fold(now=later())
    assert total("/a/") == 6 and total("/b/") == 4 and total() == 10
    assert total(ALL, HOUR) == total(ALL, DAY) == 10
    assert redis.smembers(live_redis.key("pending")) == set()
    assert redis.smembers(live_redis.key("minutes")) == set()


@pytest.mark.redis
@pytest.mark.django_db
def test_a_claimed_minute_stays_visible_until_it_is_folded(recorder):
    from datetime import UTC, datetime, timedelta

    from monitoring import rollup_reads

    record(recorder, "/a/", 3)
    recorder.flush()
    client = get_redis()
    minute = int(next(iter(client.smembers(live_redis.key("minutes")))))
    processing = live_redis.key("proc", "f" * 32, minute)
    client.rename(live_redis.key("live", minute), processing)
    client.srem(live_redis.key("minutes"), minute)
    client.sadd(live_redis.key("pending"), processing)
    now = datetime.now(UTC)
    window = (now - timedelta(hours=1), now + timedelta(minutes=1))
    assert rollup_reads.load({REQUEST}, *window)[(REQUEST, "/a/", "GET", "2xx")].count == 3
    fold.fold(now=later())
    assert rollup_reads.load({REQUEST}, *window)[(REQUEST, "/a/", "GET", "2xx")].count == 3


EMBEDDED_RECORD = """
import time
from monitoring.recorder import REQUEST, recorder
for i in range(9):
    recorder.record(REQUEST, "/a/", "GET", "2xx", 5.0 + i, False, at=time.time() - 120)
assert recorder.flush()
"""
EMBEDDED_COUNT = """
from monitoring.models import LiveAggregate, Rollup
rows = Rollup.objects.filter(resolution=60, name="/a/")
print(sum(r.count for r in rows), LiveAggregate.objects.count())
"""


def test_the_embedded_fold_survives_a_kill(tmp_path):
    env = subprocess_env(DATABASE_URL=None, REDIS_URL=None, VAR_DIR=str(tmp_path))
    assert run_manage("migrate", env=env).returncode == 0
    assert run_python(EMBEDDED_RECORD, env).returncode == 0
    killed = run_python(KILL_INSIDE_TRANSACTION.format(now=later()), env)
    assert killed.returncode == -9, killed.stderr
    assert run_python(EMBEDDED_COUNT, env).stdout.split() == ["0", "1"]
    assert run_python(f"from monitoring import fold; fold.fold(now={later()})", env).returncode == 0
    assert run_python(EMBEDDED_COUNT, env).stdout.split() == ["9", "0"]
