"""DATABASES and the embedded default: a SQLite file under var/ when no DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

SUPPORTED = {"django.db.backends.postgresql", "django.db.backends.sqlite3"}


def database_config(url: str, var_dir: Path) -> dict:
    if not url:
        return sqlite_config(var_dir / "db.sqlite3")
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not usable: {exc}") from None
    if config["ENGINE"] not in SUPPORTED:
        raise ImproperlyConfigured(
            f"DATABASE_URL names {config['ENGINE']}; use postgres://... or sqlite:///..."
        )
    if config["ENGINE"].endswith("sqlite3"):
        return sqlite_config(Path(config["NAME"]))
    return config


def sqlite_config(path: Path) -> dict:
    # WAL and an immediate write lock let web workers, the Celery worker and beat
    # share one file without "database is locked" errors under normal load.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
            ),
        },
        # Tests get a file too, not the in-memory default: a live test server's
        # concurrent requests then wait for the write lock instead of failing
        # with "database table is locked".
        "TEST": {"NAME": str(path.with_name(f"test_{path.name}"))},
    }
