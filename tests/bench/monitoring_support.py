"""Shared plumbing of the monitoring benchmarks.

Each benchmark runs its measurement in a fresh interpreter with its own
environment, so it never depends on what another benchmark configured in the
runner's process. With DATABASE_URL set, a bench database named after it with
a `_bench` suffix is created (never the test or demo database); Redis keys get
their own prefix and are removed afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
REDIS_PREFIX = "perfmon-bench"


def bench_database_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    parts = urlparse(url)
    name = parts.path.lstrip("/") or "perfmon"
    return urlunparse(parts._replace(path=f"/{name}_bench"))


def ensure_database(url: str | None) -> None:
    """Create the bench database if it is missing (PostgreSQL only)."""
    if url is None:
        return
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def environment(var_dir: str, **overrides: str | None) -> dict[str, str]:
    """The benchmark's environment: bench database (or SQLite under var_dir), Redis, no debug."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        VAR_DIR=var_dir,
        DEBUG="false",
        HTTPS="false",
        SECRET_KEY="bench-only-secret-key-that-is-long-enough-for-checks-0123456789",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        REDIS_KEY_PREFIX=REDIS_PREFIX,
        LOG_LEVEL="WARNING",
        ACCESS_LOG="",
    )
    url = bench_database_url()
    if url:
        env["DATABASE_URL"] = url
    else:
        env.pop("DATABASE_URL", None)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def describe(env: dict[str, str]) -> str:
    database = (
        "PostgreSQL " + urlparse(env["DATABASE_URL"]).path.lstrip("/")
        if env.get("DATABASE_URL")
        else "SQLite"
    )
    redis = (
        f"Redis {urlparse(env['REDIS_URL']).path}"
        if env.get("REDIS_URL")
        else "no Redis (embedded)"
    )
    return f"{database}, {redis}"


def migrate(env: dict[str, str]) -> None:
    ensure_database(env.get("DATABASE_URL"))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )


def run_python(code: str, env: dict[str, str], timeout: float = 900) -> str:
    """Run code (Django set up) in a fresh interpreter; return its output, fail loudly."""
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"benchmark step failed:\n{result.stdout}\n{result.stderr[-4000:]}")
    return result.stdout


def clear_redis(env: dict[str, str]) -> None:
    if not env.get("REDIS_URL"):
        return
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    keys = list(client.scan_iter(f"{REDIS_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)


def temporary_var_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="perfmon-bench-")
