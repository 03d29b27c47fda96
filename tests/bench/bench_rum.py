"""RUM benchmarks: beacon ingestion over HTTP, and the size of the script.

rum_ingest: gunicorn (2 workers) + Redis + a Celery worker on PostgreSQL, with
wrk posting realistic beacons (10 events each) for 20 s to three views in turn:
a floor view that only parses the body and answers 202, our endpoint, and a
plain DRF view saving each event with the ORM. Once the worker has drained,
every accepted event must be in the database exactly once.

Needs DATABASE_URL (PostgreSQL; a database named <name>_bench is created) and
REDIS_URL, and wrk (Debian package wrk).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.bench.report import bench
from tests.support import (
    ROOT,
    background,
    celery_worker_command,
    free_port,
    run_manage,
    run_python,
    subprocess_env,
    wait_for_http,
    wait_until,
)

DURATION_S = 20
CONNECTIONS = 8  # four per gunicorn worker: saturates them without long queues
SCRIPT = ROOT / "static" / "rum" / "rum.js"
SITE_KEY = "bench-site-key"
ORIGIN = "https://shop.example.com"

# wrk: a realistic beacon per request (10 events, unique ids), and a count of accepted events.
LUA = r"""
local counter = 0
local threads = {}
local template = [==[BODY]==]
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  accepted = 0
  math.randomseed(os.time() + id * 7919)
end
function request()
  counter = counter + 1
  local session = string.format("t%d-%d-%d", id, counter, math.random(1, 1000000000))
  local body = string.gsub(template, "SESSION", session)
  return wrk.format("POST", nil, {["Content-Type"] = "text/plain;charset=UTF-8",
    ["Origin"] = "ORIGIN",
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36"}, body)
end
function response(status, headers, body)
  if status == 202 then
    accepted = accepted + (tonumber(string.match(body, '"accepted":%s*(%d+)')) or 0)
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("accepted") end
  io.write(string.format("ACCEPTED %d\n", total))
end
"""


def beacon_body() -> str:
    def vital(n, name, value, **attribution):
        return {"id": f"e{n}", "type": "vital", "name": name, "value": value, "delta": value,
                "rating": "good", "metric_id": f"v5-{n}", "navigation_type": "navigate",
                "attribution": attribution}  # fmt: skip

    events = [
        {"id": "e0", "type": "pageview", "title": "Order 42 · Shop",
         "referrer": "https://www.example.org/"},
        vital(1, "TTFB", 212.4, waiting=3.1, dns=12.0, connection=30.5, request=166.8),
        vital(2, "FCP", 840.2, ttfb=212.4, first_byte_to_fcp=627.8, load_state="complete"),
        vital(3, "LCP", 1630.7, target="main>img.hero", url="https://shop.example.com/hero.jpg"),
        vital(4, "CLS", 0.042, target="div#banner", largest_shift=0.03),
        vital(5, "INP", 168.0, target="button#buy", interaction="pointer", input_delay=12.0),
        {"id": "e6", "type": "error", "kind": "error", "message": "TypeError: cart is undefined",
         "source": "https://shop.example.com/static/app.js", "line": 214, "column": 17,
         "stack": "TypeError: cart is undefined\n    at pay (https://shop.example.com/static/app.js:214:17)"},
        {"id": "e7", "type": "custom", "name": "add_to_cart", "value": 49.9,
         "attrs": {"currency": "EUR"}},
        {"id": "e8", "type": "custom", "name": "coupon_applied", "attrs": {"code_length": 8}},
        {"id": "e9", "type": "custom", "name": "checkout_step", "value": 2,
         "attrs": {"step": "address"}},
    ]  # fmt: skip
    return json.dumps(
        {
            "key": SITE_KEY, "session": "SESSION", "page_view": "SESSION", "consent": False,
            "url": f"{ORIGIN}/orders/42?tab=items",
            "device": {"viewport_width": 390, "viewport_height": 844, "connection": "4g"},
            "navigation": {"type": "navigate", "prerendered": False, "restored": False},
            "server_timing": [{"name": "app", "duration": 180.2}, {"name": "db", "duration": 41.0}],
            "events": events,
        }
    )  # fmt: skip


# --- the two baselines, served next to the product's URLs in the bench's gunicorn ------------


def _baseline_urlpatterns():
    from django.urls import include, path
    from django.utils import timezone
    from rest_framework.permissions import AllowAny
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from rum.beacon import BeaconSerializer, event_rows
    from rum.ingest import _model_fields
    from rum.models import Event, Site

    class Floor(APIView):
        authentication_classes: list = []
        permission_classes = [AllowAny]

        def post(self, request):
            data = json.loads(request.body)
            return Response({"accepted": len(data["events"])}, status=202)

    class PlainOrm(APIView):
        authentication_classes: list = []
        permission_classes = [AllowAny]

        def post(self, request):
            serializer = BeaconSerializer(data=json.loads(request.body))
            serializer.is_valid(raise_exception=True)
            site = Site.objects.get(public_key=serializer.validated_data["key"])
            rows = event_rows(
                serializer.validated_data, site.id, request.headers.get("User-Agent", ""),
                request.get_host(), timezone.now(),
            )  # fmt: skip
            for row in rows:
                Event.objects.create(**_model_fields(row))
            return Response({"accepted": len(rows)}, status=202)

    return [
        path("bench/floor/", Floor.as_view()),
        path("bench/orm/", PlainOrm.as_view()),
        path("", include("config.urls")),
    ]


def __getattr__(name):
    # The bench's gunicorn uses this module as its URLconf (see `application`).
    if name == "urlpatterns":
        return _baseline_urlpatterns()
    raise AttributeError(name)


def application():
    """gunicorn factory: the product's WSGI app, with the two baseline views added."""
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    from config import page_pool

    app = get_wsgi_application()
    settings.ROOT_URLCONF = __name__
    # The baselines are served as the beacon is: light, on the request's own thread.
    page_pool.LIGHT_PATHS = (*page_pool.LIGHT_PATHS, "/bench/")
    return app


# --- running it --------------------------------------------------------------------------------


def script_size() -> None:
    if not SCRIPT.exists():
        subprocess.run(["make", "assets"], cwd=ROOT, check=True)  # noqa: S607
    size = len(gzip.compress(SCRIPT.read_bytes(), compresslevel=9))
    bench("rum_script_gzip_bytes", size, "bytes", "<=", 8192)


def bench_database_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_bench"))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _backlog(prefix: str) -> int:
    """Beacons queued in Redis and not yet stored (read here: no Django process per poll)."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    return client.xlen(f"{prefix}:{{rum}}:beacons")  # acknowledged beacons are deleted


def _count_events(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM rum_event").fetchone()[0]


def run_wrk(url: str, lua: Path) -> dict:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", "-s", str(lua), url],  # noqa: S607
        capture_output=True, text=True, timeout=DURATION_S + 60, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_s": rate,
        "p99_ms": float(p99.group(1)) * scale,
        "accepted": int(re.search(r"ACCEPTED (\d+)", output).group(1)),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def ingest() -> None:
    database_url = bench_database_url()
    if not database_url or not os.environ.get("REDIS_URL"):
        print("!! rum_ingest skipped: it needs DATABASE_URL (PostgreSQL) and REDIS_URL", flush=True)
        return
    if not shutil.which("wrk"):
        print("!! rum_ingest skipped: wrk is missing (apt-get install -y wrk)", flush=True)
        return
    recreate_database(database_url)
    work = Path(tempfile.mkdtemp(prefix="bench-rum-"))
    prefix = f"perfmon-bench-{os.getpid()}"
    try:
        _ingest(database_url, work, prefix)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        _forget_redis_keys(prefix)


def _forget_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def _ingest(database_url: str, work: Path, prefix: str) -> None:
    port = free_port()
    env = subprocess_env(
        DATABASE_URL=database_url, VAR_DIR=str(work), PORT=str(port), WEB_CONCURRENCY="2",
        ACCESS_LOG=str(work / "access.log"), RUM_THROTTLE_RATE="", HTTPS="false",
        CELERY_TASK_ALWAYS_EAGER="false",
        DEBUG="false", SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1", REDIS_KEY_PREFIX=prefix,
        PROMETHEUS_MULTIPROC_DIR=str(work / "prometheus"), LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )  # fmt: skip
    migrated = run_manage("migrate", "--noinput", env=env, timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    made = run_python(
        "from rum.models import Site; Site.objects.create(name='bench', "
        f"public_key='{SITE_KEY}', allowed_origins='{ORIGIN}')",
        env,
    )
    assert made.returncode == 0, made.stderr
    lua = work / "beacon.lua"
    body = beacon_body()
    lua.write_text(LUA.replace("BODY", body).replace("ORIGIN", ORIGIN))
    # Web and worker share the machine's cores: the worker yields the CPU to requests (the
    # queue absorbs the difference), as on a one-machine install run with `nice`.
    command = ["nice", "-n", "10", *celery_worker_command(), "--pool", "solo"]
    web = [
        celery_worker_command()[0],
        "-m",
        "gunicorn",
        "-c",
        "config/gunicorn.py",
        f"{__name__}:application()",
    ]
    base = f"http://127.0.0.1:{port}"
    with (
        background(web, env, work / "web.log") as server,
        background(command, env, work / "worker.log"),
    ):
        wait_for_http(f"{base}/healthz", 120, process=server, log_path=work / "web.log")
        floor = run_wrk(f"{base}/bench/floor/", lua)
        ours = run_wrk(f"{base}/api/rum/beacon/", lua)

        def drained():
            return _backlog(prefix) == 0

        try:
            wait_until(drained, timeout=300, interval=1)
        except AssertionError:
            tail = (work / "worker.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"the worker did not drain:\n{tail}") from None
        stored = _count_events(database_url)
        # Accepted as the server answered it: wrk leaves the requests in flight at the end
        # of its run unread, but the server accepted those too.
        answered = (work / "access.log").read_text().count('"POST /api/rum/beacon/ HTTP/1.1" 202')
        orm = run_wrk(f"{base}/bench/orm/", lua)
    events_per_request = len(json.loads(body)["events"])
    ours_rate = ours["requests_per_s"] * events_per_request
    floor_rate = floor["requests_per_s"] * events_per_request
    print(
        f"   {CONNECTIONS} connections, {events_per_request} events per beacon; "
        f"floor {floor['requests_per_s']:.0f} req/s (p99 {floor['p99_ms']:.0f} ms), "
        f"ours {ours['requests_per_s']:.0f} req/s (non-2xx {ours['non_2xx']}), "
        f"plain ORM {orm['requests_per_s']:.0f} req/s (p99 {orm['p99_ms']:.0f} ms); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )
    bench("rum_ingest_events_per_s", ours_rate, "events/s", ">=", round(0.6 * floor_rate))
    bench("rum_ingest_vs_floor", ours["requests_per_s"] / floor["requests_per_s"], "x", ">=", 0.6)
    bench("rum_ingest_speedup", ours["requests_per_s"] / orm["requests_per_s"], "x", ">=", 8)
    bench("rum_ingest_p99_ms", ours["p99_ms"], "ms", "<=", 50)
    # The same server's tail without our work (CPU shared with wrk, the worker and the
    # database): what the beacon path adds to it.
    bench("rum_ingest_p99_vs_floor", ours["p99_ms"] / floor["p99_ms"], "x", "<=", 1.5)
    server_accepted = answered * events_per_request
    assert ours["accepted"] <= server_accepted, "wrk counted more 202s than the server sent"
    bench("rum_ingest_lost", server_accepted - stored, "events", "==", 0)


def main() -> None:
    script_size()
    ingest()
