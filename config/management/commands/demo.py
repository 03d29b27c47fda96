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
from config.processes import beat_command, web_command, worker_command

STOP_GRACE_SECONDS = 15


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
            for name, command in commands.items():
                with open(self.logs[name], "ab") as log:
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

    def _wait_for_web(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_children()
            try:
                urllib.request.urlopen(url + "healthz", timeout=2)  # noqa: S310 (our own URL)
                return
            except urllib.error.HTTPError:
                return  # answering at all is enough; /healthz says 503 until beat ticks
            except OSError:
                time.sleep(0.3)
        raise CommandError(
            f"the web server did not answer within {timeout:.0f}s; see {self.logs['web']}"
        )

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
