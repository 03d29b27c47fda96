"""The command lines of the web, worker and beat processes (demo and tests share them)."""

from __future__ import annotations

import sys


def web_command(workers: int | None = None) -> list[str]:
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py"]
    if workers is not None:
        command += ["--workers", str(workers)]
    return [*command, "config.wsgi"]


def worker_command(concurrency: int = 2) -> list[str]:
    # Mingle and gossip talk to other workers at start-up: slow, and not needed here.
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--without-mingle",
        "--without-gossip",
    ]


def beat_command() -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "beat",
        "--loglevel",
        "INFO",
        "--pidfile",
        "",
    ]
