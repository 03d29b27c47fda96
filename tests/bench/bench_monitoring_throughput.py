"""throughput_drop: gunicorn (2 workers) under loopback load, monitoring on versus off.

Two servers run side by side on the bench database: the default stack as
shipped (our middleware, query timing, Server-Timing, background flush to
Redis or the database) and the same with MONITORING_ENABLED=false. wrk loads
one at a time in short alternating slices (SLICES x SLICE_SECONDS each, so
both get the same share of whatever else the machine is doing); the drop is
(off - on) / off of the median requests per second over the slices. The
workers' CPU time per request is reported too: it does not depend on what
else runs on the machine. For scale, a third server runs django-prometheus's
middleware and database wrappers instead of ours (what the stack cost before).
The trivial view gives `throughput_drop`; the view that runs three queries against
the database gives `throughput_drop_db_view` (where the per-query wrapper counts),
and `throughput_cpu_share_db_view` the share monitoring adds to its workers' CPU.
Both are ratios of two servers measured in the same slices, so they hold across
machines.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from tests.bench.monitoring_support import (
    ROOT,
    clear_redis,
    describe,
    environment,
    migrate,
    temporary_var_dir,
)
from tests.bench.report import bench
from tests.support import background, free_port, wait_for_http

SLICES = 6
SLICE_SECONDS = 2
CONNECTIONS = 4
# Two workers importing Django, pandas and the apps take a while on a busy machine.
BOOT_SECONDS = 180
VIEWS = {"trivial": "/trivial/", "three-query": "/three-queries/1/"}


def main() -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install -y wrk); not measured")
    with temporary_var_dir() as var_dir:
        env = environment(var_dir, DJANGO_SETTINGS_MODULE="tests.bench.monitoring_settings")
        print(
            f"  store: {describe(env)}; wrk -t1 -c{CONNECTIONS}, "
            f"{SLICES} x {SLICE_SECONDS} s per server and view"
        )
        migrate(env)
        clear_redis(env)
        names = ("off", "on", "django-prometheus")
        ports = {name: free_port() for name in names}
        overrides = {
            "on": {},
            "off": {"MONITORING_ENABLED": "false", "MONITORING_SERVER_TIMING": "false"},
            "django-prometheus": {
                "MONITORING_ENABLED": "false",
                "MONITORING_SERVER_TIMING": "false",
                "DJANGO_PROMETHEUS_INSTRUMENTATION": "true",
            },
        }
        command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
        with contextlib.ExitStack() as stack:
            servers = {}
            for number, name in enumerate(names):
                config = {
                    **env,
                    **overrides[name],
                    "PORT": str(ports[name]),
                    "WEB_CONCURRENCY": "2",
                    "PROMETHEUS_MULTIPROC_DIR": f"{var_dir}/prometheus-{number}",
                }
                log = Path(var_dir) / f"gunicorn-{number}.log"
                servers[name] = stack.enter_context(background(command, config, log))
                wait_for_http(
                    f"http://127.0.0.1:{ports[name]}/trivial/",
                    timeout=BOOT_SECONDS,
                    process=servers[name],
                    log_path=log,
                )
            results = {}
            for view, path in VIEWS.items():
                urls = {name: f"http://127.0.0.1:{ports[name]}{path}" for name in names}
                for name in names:  # warm-up, not counted
                    load(wrk, urls[name], servers[name], 2)
                slices = {name: [] for name in names}
                for number in range(SLICES):
                    # Each server goes first in turn: none always follows the same one.
                    turn = number % len(names)
                    for name in names[turn:] + names[:turn]:
                        slices[name].append(load(wrk, urls[name], servers[name], SLICE_SECONDS))
                results[view] = {
                    name: {
                        "rate": statistics.median(rate for rate, _ in found),
                        "cpu_us": statistics.median(cpu for _, cpu in found),
                    }
                    for name, found in slices.items()
                }
        clear_redis(env)
    for view, figures in results.items():
        off = figures["off"]
        for name in ("on", "django-prometheus"):
            found = figures[name]
            print(
                f"  {view} view, {name} vs off: {found['rate']:.0f} vs {off['rate']:.0f} req/s, "
                f"drop {(off['rate'] - found['rate']) / off['rate']:.3f}; worker CPU per request "
                f"{found['cpu_us']:.0f} vs {off['cpu_us']:.0f} µs "
                f"(+{found['cpu_us'] - off['cpu_us']:.0f} µs)"
            )
    trivial = results["trivial"]
    drop = (trivial["off"]["rate"] - trivial["on"]["rate"]) / trivial["off"]["rate"]
    bench("throughput_drop", drop, "ratio", "<=", 0.08)
    # A view that does real work: monitoring should cost under 2 % of the system.
    db_view = results["three-query"]
    drop = (db_view["off"]["rate"] - db_view["on"]["rate"]) / db_view["off"]["rate"]
    bench("throughput_drop_db_view", drop, "ratio", "<=", 0.02)
    # The same share in the workers' CPU time per request: on a machine others load, the
    # rates move with them, the CPU a request takes much less.
    share = (db_view["on"]["cpu_us"] - db_view["off"]["cpu_us"]) / db_view["off"]["cpu_us"]
    bench("throughput_cpu_share_db_view", share, "ratio", "<=", 0.02)


def load(wrk: str, url: str, server, seconds: int) -> tuple[float, float]:
    """Requests per second, and the server's CPU µs per request, over one wrk run."""
    before = _cpu_seconds(server.pid)
    result = subprocess.run(
        [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=seconds + 30,
    )
    spent = _cpu_seconds(server.pid) - before
    found = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    total = re.search(r"(\d+) requests in", result.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if found is None or total is None or errors is not None:
        raise RuntimeError(f"wrk against {url} failed:\n{result.stdout}\n{result.stderr}")
    return float(found.group(1)), spent / max(int(total.group(1)), 1) * 1e6


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of gunicorn's master and workers."""
    import psutil

    master = psutil.Process(pid)
    total = 0.0
    for process in [master, *master.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total
