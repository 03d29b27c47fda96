"""Helpers for tests that run the real thing in a subprocess (manage.py, gunicorn, celery)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on (bound and released; nothing else will take it that fast)."""
    return free_port()


def subprocess_env(**overrides: str | None) -> dict[str, str]:
    """This process's environment with overrides; None removes a variable."""
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for Playwright in this process only
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_manage(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run code with Django set up, in a fresh interpreter."""
    prelude = "import django; django.setup()\n"
    return subprocess.run(
        [PYTHON, "-c", prelude + code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextlib.contextmanager
def background(command: list[str], env: dict[str, str], log_path: Path):
    """Run a process for the duration of a with-block, then stop it and its children."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_for_http(
    url: str, timeout: float = 30, process=None, log_path: Path | None = None
) -> None:
    """Wait until url answers (any HTTP status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            log = log_path.read_text(errors="replace") if log_path else ""
            raise AssertionError(f"process exited with {process.returncode}:\n{log[-3000:]}")
        try:
            # A generous timeout: a retry after a slow first answer would be a second request,
            # and tests that count requests would see one too many on a busy machine.
            urllib.request.urlopen(url, timeout=15)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    log = log_path.read_text(errors="replace") if log_path else ""
    raise AssertionError(f"{url} did not answer within {timeout}s:\n{log[-3000:]}")


def wait_until(predicate, timeout: float = 30, interval: float = 0.2, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout}s")


def gunicorn_command(workers: int = 2) -> list[str]:
    return [
        PYTHON,
        "-m",
        "gunicorn",
        "-c",
        "config/gunicorn.py",
        "--workers",
        str(workers),
        "config.wsgi",
    ]


def celery_worker_command(concurrency: int = 1) -> list[str]:
    return [
        PYTHON,
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
