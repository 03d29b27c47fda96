"""`manage.py demo` waits while its processes start, says what is still starting, and has a
configurable limit (real child processes stand in for gunicorn and Celery)."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.management.base import CommandError

from config.management.commands import demo
from tests.support import free_port

SLEEPER = "import time; time.sleep(60)"
# Says what gunicorn says while booting, then listens only after a while.
SLOW_WEB = """
import http.server, sys, time
print("[INFO] Booting worker with pid: 1", flush=True)
time.sleep(float(sys.argv[2]))
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.BaseHTTPRequestHandler)
server.serve_forever()
"""


@pytest.fixture
def command(tmp_path):
    cmd = demo.Command(stdout=io.StringIO())
    cmd.children, cmd.logs, cmd.log_starts = {}, {}, {}

    def start(name, *args):
        cmd.logs[name] = tmp_path / f"{name}.log"
        with open(cmd.logs[name], "ab") as log:
            cmd.children[name] = subprocess.Popen(
                [sys.executable, "-c", *args], stdout=log, stderr=subprocess.STDOUT
            )

    cmd.start = start
    yield cmd
    for child in cmd.children.values():
        child.kill()
        child.wait()


def test_a_slow_start_is_waited_for_and_says_what_is_still_starting(command, monkeypatch):
    monkeypatch.setattr(demo, "PROGRESS_EVERY_SECONDS", 0.5)
    port = free_port()
    command.start("web", SLOW_WEB, str(port), "2")
    command.start("worker", SLEEPER)
    command._wait_for_web(f"http://127.0.0.1:{port}/")
    out = command.stdout.getvalue()
    assert "Still starting after" in out
    assert "web (1 worker(s) booted, not answering yet)" in out
    assert "worker" in out.split("Still starting after")[1]


def test_the_limit_is_a_setting_and_the_error_says_what_is_still_starting(command, monkeypatch):
    monkeypatch.setenv("DEMO_START_TIMEOUT", "1")
    port = free_port()
    command.start("web", SLOW_WEB, str(port), "60")
    command.start("worker", SLEEPER)
    with pytest.raises(CommandError) as raised:
        command._wait_for_web(f"http://127.0.0.1:{port}/")
    message = str(raised.value)
    assert "within 1s" in message and "DEMO_START_TIMEOUT" in message
    assert "still starting: web (1 worker(s) booted, not answering yet), worker" in message


def test_a_process_that_exits_ends_the_wait_with_its_log(command):
    port = free_port()
    command.start("web", "print('ImportError: no module named nowhere'); raise SystemExit(3)")
    with pytest.raises(CommandError) as raised:
        command._wait_for_web(f"http://127.0.0.1:{port}/")
    assert "web exited with 3" in str(raised.value)
    assert "no module named nowhere" in str(raised.value)
