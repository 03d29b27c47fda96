"""The real servers: gunicorn workers flush on their way out; Celery workers record tasks."""

import signal
import time
import urllib.request

import pytest

from monitoring import rollup_reads
from monitoring.recorder import REQUEST, TASK
from tests.monitoring.conftest import database_url_for_subprocess, flush_and_fold
from tests.support import (
    PYTHON,
    background,
    celery_worker_command,
    free_port,
    gunicorn_command,
    run_manage,
    run_python,
    subprocess_env,
    wait_for_http,
    wait_until,
)

COUNT_LOGINS = """
from monitoring.models import MetricTotal
print(sum(t.values.get("c", 0) for t in MetricTotal.objects.filter(name="/admin/login/")))
"""


def test_gunicorn_workers_flush_what_they_hold_when_they_stop(tmp_path):
    port = free_port()
    env = subprocess_env(
        PORT=str(port),
        VAR_DIR=str(tmp_path),
        DATABASE_URL=None,
        REDIS_URL=None,
        ACCESS_LOG="",
        MONITORING_FLUSH_SECONDS="3600",  # no periodic flush: only the one at exit
    )
    assert run_manage("migrate", env=env).returncode == 0
    log = tmp_path / "gunicorn.log"
    with background(gunicorn_command(workers=2), env, log) as server:
        wait_for_http(f"http://127.0.0.1:{port}/admin/login/", process=server, log_path=log)
        for _ in range(10):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5).read()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    logins = int(run_python(COUNT_LOGINS, env).stdout.strip())
    assert logins >= 11  # wait_for_http's request(s) and ten more, none lost


def test_runserver_hands_its_requests_over_while_it_runs(tmp_path):
    """runserver serves through config.wsgi too: its flush thread runs, no exit needed."""
    port = free_port()
    env = subprocess_env(
        VAR_DIR=str(tmp_path), DATABASE_URL=None, REDIS_URL=None, MONITORING_FLUSH_SECONDS="1"
    )
    assert run_manage("migrate", env=env).returncode == 0
    log = tmp_path / "runserver.log"
    command = [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    with background(command, env, log) as server:
        wait_for_http(f"http://127.0.0.1:{port}/admin/login/", process=server, log_path=log)
        for _ in range(3):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5).read()
        wait_until(
            lambda: int(run_python(COUNT_LOGINS, env).stdout.strip() or 0) >= 4,
            timeout=60,
            message="runserver's requests never reached the database",
        )
        assert server.poll() is None  # handed over by the thread, not at exit


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")  # send_task is meant
def test_a_celery_worker_records_its_tasks(tmp_path):
    from datetime import UTC, datetime, timedelta

    from config.celery import app
    from config.models import Heartbeat

    env = subprocess_env(
        DATABASE_URL=database_url_for_subprocess(),
        MONITORING_FLUSH_SECONDS="0.5",
        CELERY_TASK_ALWAYS_EAGER="false",
    )
    log = tmp_path / "worker.log"
    with background(celery_worker_command(concurrency=1), env, log):
        for _ in range(3):
            app.send_task("core.heartbeat")
        wait_until(Heartbeat.objects.exists, timeout=60, message=log.read_text()[-2000:])

        def recorded():
            flush_and_fold(now=time.time() + 180)
            now = datetime.now(UTC)
            found = rollup_reads.load({TASK}, now - timedelta(hours=1), now + timedelta(minutes=5))
            value = found.get((TASK, "core.heartbeat", "", ""))
            return value is not None and value.count == 3 and value

        value = wait_until(recorded, timeout=30, interval=1, message=log.read_text()[-2000:])
    assert value.errors == 0 and value.queries >= 3
    assert not rollup_reads.load(
        {REQUEST}, datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC)
    )
