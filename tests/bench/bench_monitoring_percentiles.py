"""percentile_max_rel_error: a million lognormal latencies, two processes, the real path.

Each process feeds 500,000 latencies through RequestMetricsMiddleware (its clock
stands in so the durations are known) and flushes to the store (Redis, or the
database); the fold turns them into rollups; p50, p95 and p99 read from the
rollups' summed buckets are compared with numpy's exact percentiles.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.bench.monitoring_support import (
    ROOT,
    clear_redis,
    describe,
    environment,
    migrate,
    run_python,
    temporary_var_dir,
)
from tests.bench.report import bench

PER_PROCESS = 500_000
SEEDS = (11, 12)
ROUTE = "/bench/percentiles/<int:pk>/"
RECORD = """
import django; django.setup()
from tests.monitoring.recording_driver import lognormal_latencies, record_through_middleware
latencies = lognormal_latencies({n}, seed={seed})
record_through_middleware(latencies, flush_every=20_000, route={route!r})
"""


def main() -> None:
    with temporary_var_dir() as var_dir:
        env = environment(var_dir)
        print(f"  store: {describe(env)}")
        migrate(env)
        clear_redis(env)
        run_python(
            f"from monitoring.models import Rollup; Rollup.objects.filter(name={ROUTE!r}).delete()",
            env,
        )
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", RECORD.format(n=PER_PROCESS, seed=seed, route=ROUTE)],
                cwd=ROOT,
                env=env,
            )
            for seed in SEEDS
        ]
        if any(p.wait(timeout=900) != 0 for p in processes):
            raise RuntimeError("a recording process failed")
        code = f"from tests.bench.bench_monitoring_percentiles import compare; compare({ROUTE!r})"
        result = json.loads(run_python(code, env).strip().splitlines()[-1])
        run_python(
            f"from monitoring.models import Rollup; Rollup.objects.filter(name={ROUTE!r}).delete()",
            env,
        )
        clear_redis(env)
    print(
        f"  {result['count']:,} requests recorded (expected {2 * PER_PROCESS:,}); "
        + ", ".join(
            f"{q}: {v['estimate']:.2f} ms vs {v['exact']:.2f} ms"
            for q, v in result["quantiles"].items()
        )
    )
    if result["count"] != 2 * PER_PROCESS:
        raise RuntimeError(f"counts do not add up: {result['count']} != {2 * PER_PROCESS}")
    worst = max(abs(v["estimate"] - v["exact"]) / v["exact"] for v in result["quantiles"].values())
    bench("percentile_max_rel_error", worst, "ratio", "<=", 0.01)


def compare(route: str) -> None:
    """In the benchmark's interpreter: fold, read the rollups, compare with numpy."""
    import time
    from datetime import UTC, datetime, timedelta

    import numpy as np

    from lib import sketch
    from monitoring import fold, rollup_reads
    from monitoring.recorder import REQUEST
    from tests.monitoring.recording_driver import lognormal_latencies

    fold.fold(now=time.time() + 180)
    now = datetime.now(UTC)
    series = rollup_reads.load(
        {REQUEST}, now - timedelta(hours=2), now + timedelta(minutes=5), name=route
    )
    value = series[(REQUEST, route, "GET", "2xx")]
    exact = np.concatenate([lognormal_latencies(PER_PROCESS, seed) for seed in SEEDS])
    quantiles = {}
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        quantiles[name] = {
            "estimate": sketch.percentile(value.buckets, q),
            "exact": float(np.percentile(exact, q * 100)),
        }
    print(json.dumps({"count": value.count, "quantiles": quantiles}))
