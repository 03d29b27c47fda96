"""Web server benchmarks: idle browser sockets, and 100 staff users at once.

Both run against gunicorn started with the product's config on the demo's data
(PostgreSQL and Redis; a database named <name>_bench is created), twice: the
baseline is the former serving (sync workers, no page pool, no caches), then ours
(the defaults).

idle_socket_stall_s: 4 connections opened and left idle (as Chromium's spare
  connections), then 20 requests to /healthz one after the other; the slowest.
staff_load_p95_s: wrk, 100 connections for 30 s, logged in as the demo superuser
  with default ranges, each page having been viewed once before: 75 on the
  Performance and Web Vitals dashboards and the monitoring overview API in turn,
  25 on /healthz. p95 of the pages and of /healthz,
  and every error (non-2xx, timeouts, broken connections).

Needs DATABASE_URL (PostgreSQL), REDIS_URL and wrk.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.bench.bench_rum import bench_database_url, recreate_database
from tests.bench.report import bench
from tests.support import (
    background,
    free_port,
    gunicorn_command,
    run_manage,
    run_python,
    subprocess_env,
    wait_for_http,
)

IDLE_CONNECTIONS = 4
IDLE_REQUESTS = 20
IDLE_CLIENT_TIMEOUT_S = 60  # the former serving waits out a 30 s worker timeout, or more
LOAD_SECONDS = 30
PAGE_CONNECTIONS = 75
HEALTHZ_CONNECTIONS = 25
PAGES = (
    "/admin/dashboards/performance/",
    "/admin/dashboards/web-vitals/",
    "/api/monitoring/overview/",
)

BASELINE = {
    "extra_args": ["--worker-class", "sync", "--threads", "1"],
    "env": {
        "WEB_PAGE_CONCURRENCY": "0",
        "DASHBOARD_CACHE_SECONDS": "0",
        "HEALTHZ_CACHE_SECONDS": "0",
    },
}
OURS = {"extra_args": [], "env": {}}

# wrk: GETs on the given paths in turn, as the demo user; p95 and errors in its last lines.
LUA = r"""
local paths = {PATHS}
local counter = 0
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1], {["Cookie"] = "sessionid=SESSION"})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("P95_US %d\nREQUESTS %d\nERRORS %d\n", latency:percentile(95.0),
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout))
end
"""

SESSION = """
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from config.models import Heartbeat
user = get_user_model().objects.get(username="demo")
session = SessionStore()
session["_auth_user_id"] = str(user.pk)
session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
session["_auth_user_hash"] = user.get_session_auth_hash()
session.create()
# /healthz answers 200 with a heartbeat: no beat runs in this benchmark.
Heartbeat.objects.update_or_create(name="beat", defaults={"last_seen": timezone.now()})
print(session.session_key)
"""


def idle_stall(port: int) -> float:
    """With idle connections open, the slowest of IDLE_REQUESTS /healthz requests, seconds."""
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(IDLE_CONNECTIONS)]
    slowest = 0.0
    try:
        for _ in range(IDLE_REQUESTS):
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=IDLE_CLIENT_TIMEOUT_S)
            try:
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                elapsed = time.perf_counter() - started
            except OSError:
                elapsed = float(IDLE_CLIENT_TIMEOUT_S)  # not answered at all
            finally:
                conn.close()
            slowest = max(slowest, elapsed)
    finally:
        for sock in idle:
            sock.close()
    return slowest


def _wrk(url: str, paths, session: str, connections: int, lua: Path):
    lua.write_text(
        LUA.replace("PATHS", ", ".join(f'"{p}"' for p in paths)).replace("SESSION", session)
    )
    return subprocess.Popen(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{LOAD_SECONDS}s",
            "--timeout",
            "60s",
            "-s",
            str(lua),
            url,
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _figures(process) -> dict:
    output, _ = process.communicate(timeout=LOAD_SECONDS + 120)
    found = {k: int(v) for k, v in re.findall(r"^(P95_US|REQUESTS|ERRORS) (\d+)$", output, re.M)}
    if len(found) != 3:
        raise AssertionError(f"wrk said:\n{output[-2000:]}")
    return {
        "p95_s": found["P95_US"] / 1e6,
        "requests": found["REQUESTS"],
        "errors": found["ERRORS"],
    }


def staff_load(port: int, session: str, work: Path) -> dict:
    url = f"http://127.0.0.1:{port}"
    pages = _wrk(url, PAGES, session, PAGE_CONNECTIONS, work / "pages.lua")
    health = _wrk(url, ["/healthz"], session, HEALTHZ_CONNECTIONS, work / "healthz.lua")
    return {"pages": _figures(pages), "healthz": _figures(health)}


def run(config: dict, env: dict, session: str, work: Path, name: str) -> tuple[float, dict]:
    port = free_port()
    env = {**env, **config["env"], "PORT": str(port)}
    command = [*gunicorn_command()[:-1], *config["extra_args"], gunicorn_command()[-1]]
    log = work / f"{name}.log"
    with background(command, env, log) as server:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=180, process=server, log_path=log)
        # Every worker has answered once (imports done), as on a server that has been up.
        for _ in range(10):
            _warm(port, "/admin/login/", session)
        for path in PAGES:  # dashboards viewed before, as on a server that has been up
            _warm(port, path, session)
        stall = idle_stall(port)
        load = staff_load(port, session, work)
    return stall, load


def _warm(port: int, path: str, session: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=IDLE_CLIENT_TIMEOUT_S)
    try:
        conn.request("GET", path, headers={"Cookie": f"sessionid={session}"})
        conn.getresponse().read()
    finally:
        conn.close()


def main() -> None:
    database_url = bench_database_url()
    if not database_url or not os.environ.get("REDIS_URL"):
        print("!! web_server skipped: it needs DATABASE_URL (PostgreSQL) and REDIS_URL", flush=True)
        return
    if not shutil.which("wrk"):
        print("!! web_server skipped: wrk is missing (apt-get install -y wrk)", flush=True)
        return
    recreate_database(database_url)
    work = Path(tempfile.mkdtemp(prefix="bench-web-"))
    prefix = f"perfmon-bench-web-{os.getpid()}"
    env = subprocess_env(
        DATABASE_URL=database_url, VAR_DIR=str(work), ACCESS_LOG="", HTTPS="false",
        DEBUG="false", SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1", REDIS_KEY_PREFIX=prefix, LOG_LEVEL="WARNING",
        HEARTBEAT_MAX_AGE_SECONDS="3600", CELERY_TASK_ALWAYS_EAGER="false",
        DJANGO_SETTINGS_MODULE="config.settings",
    )  # fmt: skip
    try:
        for step in (("migrate", "--noinput"), ("load_demo_data",)):
            done = run_manage(*step, env=env, timeout=600)
            assert done.returncode == 0, done.stderr[-3000:]
        made = run_python(SESSION, env)
        assert made.returncode == 0, made.stderr[-3000:]
        session = made.stdout.strip().splitlines()[-1]
        base_stall, base = run(BASELINE, env, session, work, "baseline")
        stall, ours = run(OURS, env, session, work, "ours")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        _forget_redis_keys(prefix)
    for label, figures, stalled in (("baseline (sync)", base, base_stall), ("ours", ours, stall)):
        print(
            f"   {label}: idle-socket stall {stalled:.2f} s; pages p95 "
            f"{figures['pages']['p95_s']:.2f} s over {figures['pages']['requests']} requests, "
            f"/healthz p95 {figures['healthz']['p95_s']:.2f} s over "
            f"{figures['healthz']['requests']}, errors "
            f"{figures['pages']['errors'] + figures['healthz']['errors']}",
            flush=True,
        )
    print(f"   load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    bench("idle_socket_stall_s", stall, "s", "<=", 1)
    bench("staff_load_p95_s", ours["pages"]["p95_s"], "s", "<=", 3)
    bench("staff_load_healthz_p95_s", ours["healthz"]["p95_s"], "s", "<=", 0.5)
    errors = ours["pages"]["errors"] + ours["healthz"]["errors"]
    bench("staff_load_errors", errors, "errors", "==", 0)


def _forget_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
