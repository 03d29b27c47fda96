"""The web, worker and beat processes: their command lines (demo and tests share them),
and the signal a web process sends once it is set up to serve.
"""

from __future__ import annotations

import sys

from django.dispatch import Signal

# Sent by the WSGI entry point (config/wsgi.py: gunicorn workers, runserver), not by the
# test client: apps start what a serving process needs (monitoring: the metrics flush
# thread). Celery worker processes have Celery's own signals.
web_process_started = Signal()


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
