"""`manage.py demo`: set up the demo and run web, worker and beat until Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from config.demo import DEMO_PASSWORD, DEMO_USERNAME, prepare_demo
from config.env import env_float
from config.processes import beat_command, web_command, worker_command

STOP_GRACE_SECONDS = 15
# How often a slow start says what it is still waiting for.
PROGRESS_EVERY_SECONDS = 10
# What each process writes to its log once it is ready.
READY_MARKERS = {"worker": "ready.", "beat": "beat: Starting"}


class Command(BaseCommand):
    help = "Migrate, load demo data, then run gunicorn, a Celery worker and beat until Ctrl-C."

    def handle(self, *args, **options):
        port = os.environ.get("PORT", "8000")
        # Redirected to a file, stdout is block-buffered: the URL and the login
        # would sit in the buffer while the demo runs.
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(line_buffering=True)
        self.stdout.write("Migrating ...")
        call_command("migrate", interactive=False, verbosity=0)
        prepare_demo(self.stdout)
        call_command("collectstatic", interactive=False, verbosity=0)

        log_dir = settings.VAR_DIR / "log"
        log_dir.mkdir(exist_ok=True)
        commands = {"web": web_command(), "worker": worker_command(), "beat": beat_command()}
        self.children: dict[str, subprocess.Popen] = {}
        self.logs = {name: log_dir / f"{name}.log" for name in commands}
        # Explicit handlers: a shell starts background jobs with SIGINT ignored,
        # and Python would keep ignoring it.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        try:
            self.log_starts = {}
            for name, command in commands.items():
                with open(self.logs[name], "ab") as log:
                    # Only this run's lines say what is starting (the log is appended to).
                    self.log_starts[name] = log.tell()
                    # Own session: Ctrl-C reaches us only, and we stop children in order.
                    self.children[name] = subprocess.Popen(  # noqa: S603 (our own commands)
                        command,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        cwd=settings.BASE_DIR,
                        start_new_session=True,
                    )
            url = f"http://127.0.0.1:{port}/"
            self._wait_for_web(url)
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nperfmon demo is running at {url}admin/\n"
                    f"  login: {DEMO_USERNAME} / {DEMO_PASSWORD}\n"
                    f"  logs:  {log_dir}/{{web,worker,beat}}.log\n"
                    "  Ctrl-C stops web, worker and beat.\n"
                )
            )
            self._supervise()
        except KeyboardInterrupt:
            self.stdout.write("\nStopping ...")
        finally:
            self._stop_all()

    def _on_signal(self, signum, frame):
        raise KeyboardInterrupt

    def _wait_for_web(self, url: str) -> None:
        """Wait while the processes run and start; a machine under load takes longer.

        DEMO_START_TIMEOUT (seconds, 0 for no limit) bounds the wait; a process that
        exits ends it at once, with its log.
        """
        limit = env_float("DEMO_START_TIMEOUT", 600.0)
        started = time.monotonic()
        next_progress = started + PROGRESS_EVERY_SECONDS
        while True:
            self._check_children()
            try:
                # A generous timeout: a worker still importing answers late.
                urllib.request.urlopen(url + "healthz", timeout=10)  # noqa: S310 (our own URL)
                return
            except urllib.error.HTTPError:
                return  # answering at all is enough; /healthz says 503 until beat ticks
            except OSError:
                pass
            waited = time.monotonic() - started
            if limit and waited >= limit:
                raise CommandError(
                    f"the web server did not answer within {limit:.0f}s although it is still "
                    f"running (still starting: {', '.join(self._starting())}); see "
                    f"{self.logs['web']}, or allow longer with DEMO_START_TIMEOUT=<seconds> "
                    "(0: no limit)"
                )
            if time.monotonic() >= next_progress:
                next_progress += PROGRESS_EVERY_SECONDS
                self.stdout.write(
                    f"Still starting after {waited:.0f}s: {', '.join(self._starting())} ..."
                )
            time.sleep(0.5)

    def _starting(self) -> list[str]:
        """The processes not ready yet, as their logs tell it."""
        starting = []
        for name in self.children:
            text = self._log_since_start(name)
            if name == "web":
                booted = text.count("Booting worker with pid")
                starting.append(f"web ({booted} worker(s) booted, not answering yet)")
            elif READY_MARKERS.get(name, "\0") not in text:
                starting.append(name)
        return starting

    def _log_since_start(self, name: str) -> str:
        with open(self.logs[name], "rb") as log:
            log.seek(self.log_starts.get(name, 0))
            return log.read().decode(errors="replace")

    def _supervise(self) -> None:
        while True:
            self._check_children()
            time.sleep(1)

    def _check_children(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None:
                tail = self.logs[name].read_text(errors="replace").splitlines()[-15:]
                raise CommandError(
                    f"{name} exited with {child.returncode}; last lines of "
                    f"{self.logs[name]}:\n" + "\n".join(tail)
                )

    def _stop_all(self) -> None:
        # gunicorn and Celery stop their own forked workers on SIGTERM; we wait
        # until each child's whole process group is gone, then kill what is left.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for child in self.children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in self.children.values():
            while _group_alive(child) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _group_alive(child):
                _signal_group(child.pid, signal.SIGKILL)
                child.wait()
        self.stdout.write("Stopped.")


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _group_alive(child: subprocess.Popen) -> bool:
    child.poll()  # reap the leader if it has exited
    try:
        os.killpg(child.pid, 0)
    except ProcessLookupError:
        return False
    return True
