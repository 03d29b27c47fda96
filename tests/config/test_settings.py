import json
import os
import secrets

import pytest

from tests.support import (
    background,
    celery_worker_command,
    run_manage,
    run_python,
    subprocess_env,
    wait_until,
)

SHOW = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST"),
    "port": db.get("PORT"), "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"], "debug": settings.DEBUG,
}))
"""


def show(**env) -> dict:
    result = run_python(SHOW, subprocess_env(**env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_uses_a_sqlite_file_under_var_without_database_url(tmp_path):
    found = show(DATABASE_URL=None, VAR_DIR=str(tmp_path))
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["name"] == str(tmp_path / "db.sqlite3")


def test_it_uses_postgresql_from_database_url(tmp_path):
    found = show(DATABASE_URL="postgres://app:pw@db.internal:5433/metrics", VAR_DIR=str(tmp_path))
    assert found["engine"] == "django.db.backends.postgresql"
    assert (found["host"], found["port"], found["name"]) == ("db.internal", 5433, "metrics")


def test_it_rejects_an_unsupported_database(tmp_path):
    result = run_python(SHOW, subprocess_env(DATABASE_URL="mysql://x@y/z", VAR_DIR=str(tmp_path)))
    assert result.returncode != 0
    assert "DATABASE_URL names django.db.backends.mysql" in result.stderr


def test_it_uses_the_embedded_broker_and_local_cache_without_redis(tmp_path):
    found = show(REDIS_URL=None, VAR_DIR=str(tmp_path))
    assert found["broker"] == "filesystem://localhost//"
    assert found["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert (tmp_path / "broker" / "queue").is_dir()


def test_it_uses_redis_for_broker_and_cache(tmp_path):
    found = show(REDIS_URL="redis://cache.internal:6380/2", VAR_DIR=str(tmp_path))
    assert found["broker"] == "redis://cache.internal:6380/2"
    assert found["cache"] == "config.redis_cache.BreakerRedisCache"  # Django's, behind the breaker


def test_debug_is_off_unless_asked(tmp_path):
    assert show(DEBUG=None, VAR_DIR=str(tmp_path))["debug"] is False
    assert show(DEBUG="true", VAR_DIR=str(tmp_path))["debug"] is True


def test_it_refuses_to_start_without_a_secret_key_when_not_debugging(tmp_path):
    env = subprocess_env(
        SECRET_KEY=None, SECRET_KEY_FILE=None, DEBUG="false", VAR_DIR=str(tmp_path)
    )
    result = run_python(SHOW, env)
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set" in result.stderr


def test_it_reads_the_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("from-a-file-" + "x" * 50 + "\n")
    env = subprocess_env(SECRET_KEY=None, SECRET_KEY_FILE=str(key_file), VAR_DIR=str(tmp_path))
    result = run_python("from django.conf import settings; print(settings.SECRET_KEY)", env)
    assert result.stdout.strip() == "from-a-file-" + "x" * 50


def test_check_deploy_reports_nothing_with_production_settings(tmp_path):
    env = subprocess_env(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="monitor.example.com",
        HTTPS="true",
        DATABASE_URL="postgres://app:pw@db.internal:5432/perfmon",
        REDIS_URL="redis://cache.internal:6379/0",
        METRICS_TOKEN=secrets.token_urlsafe(20),
        VAR_DIR=str(tmp_path),
    )
    result = run_manage("check", "--deploy", "--fail-level", "DEBUG", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_warns_about_an_open_metrics_endpoint(tmp_path):
    env = subprocess_env(
        SECRET_KEY=secrets.token_urlsafe(50),
        METRICS_TOKEN=None,
        METRICS_ALLOWED_IPS=None,
        VAR_DIR=str(tmp_path),
    )
    result = run_manage("check", "--deploy", env=env)
    assert "perfmon.W001" in result.stdout + result.stderr


def _round_trip_through_broker(tmp_path, **env_overrides):
    env = subprocess_env(
        DATABASE_URL=None, VAR_DIR=str(tmp_path), CELERY_TASK_ALWAYS_EAGER="false", **env_overrides
    )
    migrated = run_manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    count = "from config.models import Heartbeat; print(Heartbeat.objects.count())"
    assert run_python(count, env).stdout.strip() == "0"
    with background(celery_worker_command(), env, tmp_path / "worker.log"):
        sent = run_python("from config.tasks import heartbeat; heartbeat.delay()", env)
        assert sent.returncode == 0, sent.stderr
        wait_until(
            lambda: run_python(count, env).stdout.strip() == "1",
            timeout=60,
            message=(tmp_path / "worker.log").read_text(),
        )


def test_a_worker_runs_tasks_sent_through_the_embedded_broker(tmp_path):
    _round_trip_through_broker(tmp_path, REDIS_URL=None)


@pytest.mark.redis
def test_a_worker_runs_tasks_sent_through_redis(tmp_path):
    prefix = f"test-broker-{os.getpid()}-{secrets.token_hex(4)}"
    _round_trip_through_broker(tmp_path, REDIS_KEY_PREFIX=prefix)
