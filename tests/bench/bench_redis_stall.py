"""redis_stall_healthz_s: Redis stopped (SIGSTOP) for 20 s under 100 beacons/s.

gunicorn (config/gunicorn.py) + a Celery worker on PostgreSQL (a database named
<name>_bench is created), with a redis-server of the bench's own that it stops and
resumes. During the stall it measures the slowest answer of /healthz, the Performance
dashboard and the overview API (and of /healthz alone), counts 5xx answers, and after
it every event of a beacon answered 202 must be in the database. Baseline: the same
answers in the 5 s before the stall, with Redis answering. Ports: BENCH_PORT_BASE + 1
and + 2 if set, else free ones.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from config.processes import beat_command
from tests.bench.bench_rum import bench_database_url, recreate_database
from tests.bench.report import bench
from tests.support import (
    RedisServer,
    background,
    celery_worker_command,
    free_port,
    gunicorn_command,
    run_manage,
    run_python,
    subprocess_env,
    wait_for_http,
    wait_until,
)

RATE = 100  # beacons per second
STALL_S = 20
BEFORE_S = 5
AFTER_S = 10
ORIGIN = "https://shop.example.com"
SITE_KEY = "stall-bench-key"
EVENTS = 3
CHROME = "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36"


def _beacon() -> bytes:
    page_view = uuid.uuid4().hex
    events = [{"id": f"{page_view}.0", "type": "pageview", "title": "Home", "referrer": ""}]
    events += [
        {"id": f"{page_view}.{n}", "type": "vital", "name": name, "value": value,
         "delta": value, "rating": "good"}
        for n, (name, value) in enumerate([("LCP", 1800.0), ("FCP", 700.0)], start=1)
    ]  # fmt: skip
    return json.dumps(
        {"key": SITE_KEY, "session": uuid.uuid4().hex, "page_view": page_view,
         "url": f"{ORIGIN}/", "events": events}
    ).encode()  # fmt: skip


class Load:
    """RATE beacons per second from a few threads; counts what was answered 202."""

    def __init__(self, base: str):
        self.url = f"{base}/api/rum/beacon/"
        self.stop = threading.Event()
        self.accepted = 0
        self.statuses: dict[int, int] = {}
        self.lock = threading.Lock()

    def run(self, threads: int = 10) -> list[threading.Thread]:
        started = [threading.Thread(target=self._send, args=(threads,)) for _ in range(threads)]
        for thread in started:
            thread.start()
        return started

    def _send(self, threads: int) -> None:
        interval = threads / RATE
        next_at = time.monotonic()
        while not self.stop.is_set():
            request = urllib.request.Request(
                self.url, data=_beacon(), method="POST",
                headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN,
                         "User-Agent": CHROME},
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            with self.lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.accepted += status == 202
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))


class Prober:
    """Asks the pages in turn, recording (moment, seconds, status) of each answer."""

    def __init__(self, base: str, opener, paths: list[str]):
        self.base, self.opener, self.paths = base, opener, paths
        self.answers: list[tuple[str, float, float, int]] = []
        self.stop = threading.Event()

    def run(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop)
        thread.start()
        return thread

    def _loop(self) -> None:
        while not self.stop.is_set():
            for path in self.paths:
                started = time.monotonic()
                try:
                    with self.opener.open(self.base + path, timeout=60) as response:
                        response.read()
                        status = response.status
                except urllib.error.HTTPError as exc:
                    status = exc.code
                except OSError:
                    status = 0
                self.answers.append((path, started, time.monotonic() - started, status))
                time.sleep(0.2)


def _login(base: str):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/admin/login/", timeout=30).read()
    token = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode(
        {"username": "bench", "password": "bench-password", "csrfmiddlewaretoken": token,
         "next": "/admin/"}
    ).encode()  # fmt: skip
    request = urllib.request.Request(f"{base}/admin/login/", data=form, headers={"Referer": base})
    opener.open(request, timeout=30).read()
    assert any(c.name == "sessionid" for c in jar), "the bench could not log in"
    return opener


def _count_events(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM rum_event").fetchone()[0]


def main() -> None:
    database_url = bench_database_url()
    if not database_url or not shutil.which("redis-server"):
        print("!! redis_stall skipped: it needs DATABASE_URL (PostgreSQL) and redis-server")
        return
    recreate_database(database_url)
    work = Path(tempfile.mkdtemp(prefix="bench-stall-"))
    try:
        _run(database_url, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(database_url: str, work: Path) -> None:
    port_base = os.environ.get("BENCH_PORT_BASE")
    redis_port, web_port = (int(port_base) + 1, int(port_base) + 2) if port_base else (0, 0)
    redis = RedisServer(work, appendonly=True)
    redis.port = redis_port or redis.port
    redis.url = f"redis://127.0.0.1:{redis.port}/0"
    redis.start()
    port = web_port or free_port()
    env = subprocess_env(
        DATABASE_URL=database_url, REDIS_URL=redis.url, VAR_DIR=str(work), PORT=str(port),
        WEB_CONCURRENCY="2", ACCESS_LOG="", RUM_THROTTLE_RATE="", HTTPS="false",
        CELERY_TASK_ALWAYS_EAGER="false", DEBUG="false",
        SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1", PROMETHEUS_MULTIPROC_DIR=str(work / "prometheus"),
        LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="config.settings",
    )  # fmt: skip
    try:
        migrated = run_manage("migrate", "--noinput", env=env, timeout=300)
        assert migrated.returncode == 0, migrated.stderr
        made = run_python(
            "from rum.models import Site; from django.contrib.auth.models import User\n"
            f"Site.objects.create(name='bench', public_key='{SITE_KEY}', "
            f"allowed_origins='{ORIGIN}')\n"
            "User.objects.create_superuser('bench', 'b@example.com', 'bench-password')",
            env,
        )
        assert made.returncode == 0, made.stderr
        worker = ["nice", "-n", "10", *celery_worker_command(), "--pool", "solo"]
        base = f"http://127.0.0.1:{port}"
        with (
            background(gunicorn_command(2), env, work / "web.log") as server,
            background(worker, env, work / "worker.log"),
            background(beat_command(), env, work / "beat.log"),
        ):
            wait_for_http(f"{base}/healthz", 120, process=server, log_path=work / "web.log")
            _measure(base, redis, database_url, work)
    finally:
        redis.stop()


def _measure(base: str, redis: RedisServer, database_url: str, work: Path) -> None:
    opener = _login(base)
    dashboard = "/admin/dashboards/performance/"
    prober = Prober(base, opener, ["/healthz", dashboard, "/api/monitoring/overview/"])
    load = Load(base)
    threads = load.run()
    time.sleep(1)  # every worker has met the site and Redis
    probe_thread = prober.run()
    time.sleep(BEFORE_S)
    stall_start = time.monotonic()
    redis.pause()
    time.sleep(STALL_S)
    redis.resume()
    stall_end = time.monotonic()
    time.sleep(AFTER_S)
    prober.stop.set()
    load.stop.set()
    for thread in [*threads, probe_thread]:
        thread.join()

    def drained() -> bool:
        return _count_events(database_url) >= load.accepted * EVENTS

    with contextlib.suppress(AssertionError):  # reported as lost below
        wait_until(drained, timeout=120, interval=1)
    stored = _count_events(database_url)
    before = [a for a in prober.answers if a[1] < stall_start]
    during = [a for a in prober.answers if stall_start <= a[1] < stall_end]
    errors = [a for a in prober.answers if a[3] >= 500 or a[3] == 0]
    beacon_errors = sum(n for status, n in load.statuses.items() if status >= 500 or not status)

    def slowest(answers, path=None):
        times = [a[2] for a in answers if path is None or a[0] == path]
        return max(times) if times else float("nan")

    print(
        f"   {RATE} beacons/s, {len(load.statuses)} status kinds {load.statuses}; "
        f"probes: {len(before)} before, {len(during)} during the {STALL_S} s stall; "
        f"slowest before (Redis answering): /healthz {slowest(before, '/healthz'):.3f} s, "
        f"dashboard {slowest(before, dashboard):.3f} s, "
        f"overview API {slowest(before, '/api/monitoring/overview/'):.3f} s; during: "
        f"/healthz {slowest(during, '/healthz'):.3f} s, "
        f"dashboard {slowest(during, dashboard):.3f} s, "
        f"overview API {slowest(during, '/api/monitoring/overview/'):.3f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )
    for path, at, seconds, status in errors:
        print(f"   {status} from {path} at {at - stall_start:+.1f} s ({seconds:.2f} s)")
    if errors or stored < load.accepted * EVENTS:
        import redis as redis_lib

        client = redis_lib.Redis.from_url(redis.url)
        stream = "perfmon:{rum}:beacons"
        pending = client.xpending(stream, "drains") if client.exists(stream) else None
        print(f"   queued {client.xlen(stream)}, pending {pending}, "
              f"keys {sorted(k.decode() for k in client.keys('perfmon:{rum}:*'))}")  # fmt: skip
        tail = (work / "worker.log").read_text(errors="replace").splitlines()[-25:]
        print("   --- worker.log (last lines)\n   " + "\n   ".join(x[:250] for x in tail))
        for name in ("web.log", "worker.log"):
            lines = (work / name).read_text(errors="replace").splitlines()
            print(f"   --- {name} (errors)")
            for line in [x for x in lines if "Error" in x or "ERROR" in x][-15:]:
                print("   " + line[:300])
    bench("redis_stall_healthz_baseline_s", slowest(before), "s", "<=", 1)
    bench("redis_stall_healthz_s", slowest(during), "s", "<=", 1)
    bench("redis_stall_healthz_only_s", slowest(during, "/healthz"), "s", "<=", 1)
    bench("redis_stall_5xx", len(errors) + beacon_errors, "answers", "==", 0)
    bench("redis_stall_beacons_lost", load.accepted * EVENTS - stored, "events", "==", 0)


if __name__ == "__main__":
    main()
