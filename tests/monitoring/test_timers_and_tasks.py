"""Custom code paths and Celery tasks land in the same rollups as requests."""

from datetime import UTC, datetime, timedelta

import pytest
from celery import shared_task

from monitoring import monitor, rollup_reads
from tests.monitoring.conftest import flush_and_fold

pytestmark = pytest.mark.django_db


def load(kind):
    now = datetime.now(UTC)
    return rollup_reads.load({kind}, now - timedelta(hours=1), now + timedelta(minutes=5))


def test_a_timer_records_each_block(backend):
    for _ in range(3):
        with monitor.timer("score.job_security"):
            sum(range(1000))
    flush_and_fold()
    value = load("timer")[("timer", "score.job_security", "", "")]
    assert (value.count, value.errors) == (3, 0) and value.sum_ms > 0


def test_a_timer_as_a_decorator_counts_errors_and_re_raises(backend):
    @monitor.timer("reports.build")
    def build(fail):
        if fail:
            raise KeyError("missing")
        return "built"

    assert build(False) == "built"
    with pytest.raises(KeyError):
        build(True)
    flush_and_fold()
    value = load("timer")[("timer", "reports.build", "", "")]
    assert (value.count, value.errors) == (2, 1)


def test_a_timer_needs_a_name():
    with pytest.raises(ValueError, match="needs a name"):
        monitor.timer("")


@shared_task(name="tests.monitoring.add")
def add(x, y):
    from django.contrib.auth import get_user_model

    get_user_model().objects.count()
    return x + y


@shared_task(name="tests.monitoring.fail")
def fail():
    raise RuntimeError("the task failed")


def test_celery_tasks_are_timed_with_their_outcome_and_queries(backend):
    assert add.delay(2, 3).get() == 5
    add.delay(1, 1)
    with pytest.raises(RuntimeError):
        fail.delay()
    flush_and_fold()
    tasks = load("task")
    ok = tasks[("task", "tests.monitoring.add", "", "")]
    assert (ok.count, ok.errors, ok.queries) == (2, 0, 2) and ok.db_ms > 0
    failed = tasks[("task", "tests.monitoring.fail", "", "")]
    assert (failed.count, failed.errors) == (1, 1)


def test_nothing_is_timed_when_monitoring_is_off(settings, recorder):
    settings.MONITORING_ENABLED = False
    with monitor.timer("score.job_security"):
        pass
    add.delay(1, 2)
    assert recorder.take() == ({}, [])
