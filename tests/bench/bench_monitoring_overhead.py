"""middleware_overhead_us and middleware_overhead_ratio: the per-request cost, in-process.

Four WSGI handlers over the same trivial view, called in interleaved rounds so
machine noise hits them alike: bare Django (the shipped middleware without
ours), ours alone added, the default stack as shipped, and django-prometheus's
middleware pair instead of ours. The CPU time of the benchmark's thread is
measured (time preempted by other processes is not counted); an overhead is the
median over rounds of the difference with bare Django in the same round.
The three-query view is reported too (our query timing included).
"""

from __future__ import annotations

import json

from tests.bench.monitoring_support import environment, migrate, run_python, temporary_var_dir
from tests.bench.report import bench

ROUNDS = 60
PER_ROUND = 200
OURS = "monitoring.middleware.RequestMetricsMiddleware"
PROMETHEUS = (
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
)


def main() -> None:
    with temporary_var_dir() as var_dir:
        env = environment(var_dir, DATABASE_URL=None, REDIS_URL=None)
        migrate(env)  # SQLite in a temporary folder, for the three-query view
        code = "from tests.bench.bench_monitoring_overhead import measure; measure()"
        results = json.loads(run_python(code, env).strip().splitlines()[-1])
    trivial, queries = results["trivial"], results["three_queries"]
    print(
        f"  trivial view, median µs/request: bare {trivial['bare']:.1f}, "
        f"+ours {trivial['ours']:.1f}, default stack {trivial['default']:.1f}, "
        f"+django-prometheus {trivial['prometheus']:.1f}"
    )
    print(
        f"  three-query view, median µs/request: bare {queries['bare']:.1f}, "
        f"+ours {queries['ours']:.1f} (+{queries['ours_added']:.1f}), "
        f"+django-prometheus middleware {queries['prometheus']:.1f} "
        f"(+{queries['prometheus_added']:.1f}, without its DB wrappers)"
    )
    ours, default = trivial["ours_added"], trivial["default_added"]
    prometheus = trivial["prometheus_added"]
    bench("middleware_overhead_us", ours, "us", "<=", 15)
    bench("middleware_overhead_ratio", default / prometheus, "ratio", "<=", 1.0)


def measure() -> None:
    """In the benchmark's interpreter: time the handlers, print the medians as JSON."""
    import gc
    import io
    import random
    import statistics
    import time

    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import override_settings, setup_test_environment

    from monitoring.recorder import db_wrapper, recorder

    setup_test_environment()  # no real mail, and the test server name is allowed
    urls = override_settings(ROOT_URLCONF="tests.bench.monitoring_urls")
    urls.enable()
    default = list(settings.MIDDLEWARE)
    bare = [m for m in default if m != OURS and m not in PROMETHEUS]
    stacks = {
        "bare": bare,
        "ours": [OURS, *bare],
        "default": default,
        "prometheus": [PROMETHEUS[0], *bare, PROMETHEUS[1]],
    }
    handlers = {}
    for name, middleware in stacks.items():
        with override_settings(MIDDLEWARE=middleware):
            handlers[name] = WSGIHandler()

    def environ(path):
        return {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
        }

    def start_response(status, headers, exc_info=None):
        return None

    # One connection for the whole run, as PostgreSQL gets with CONN_MAX_AGE: opening
    # SQLite anew for every request would drown what we measure.
    connection.settings_dict["CONN_MAX_AGE"] = None
    connection.ensure_connection()
    wrappers_with_ours = list(connection.execute_wrappers)
    wrappers_without = [w for w in wrappers_with_ours if w is not db_wrapper]

    def run(path):
        """Per-request CPU µs of each handler, each round in a shuffled order.

        CPU time of this thread, not wall time: on a shared machine, time spent
        preempted by other processes is not ours to count.
        """
        samples = {name: [] for name in handlers}
        order = list(handlers)
        for _ in range(ROUNDS):
            random.shuffle(order)
            gc.collect()
            gc.disable()
            for name in order:
                # Bare and django-prometheus runs get no query timing of ours.
                timed = name in ("ours", "default")
                connection.execute_wrappers[:] = wrappers_with_ours if timed else wrappers_without
                handler = handlers[name]
                started = time.thread_time()
                for _ in range(PER_ROUND):
                    handler(environ(path), start_response).close()
                samples[name].append((time.thread_time() - started) / PER_ROUND * 1e6)
            gc.enable()
            recorder.take()  # keep memory flat: flushing is the background thread's job
        medians = {name: statistics.median(values) for name, values in samples.items()}
        # The overheads: medians of the differences within each round (drift cancels out).
        for name in ("ours", "default", "prometheus"):
            medians[f"{name}_added"] = statistics.median(
                a - b for a, b in zip(samples[name], samples["bare"], strict=True)
            )
        return medians

    run("/trivial/")  # warm up
    print(json.dumps({"trivial": run("/trivial/"), "three_queries": run("/three-queries/1/")}))
