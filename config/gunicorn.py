"""gunicorn settings: `gunicorn -c config/gunicorn.py config.wsgi`.

prometheus_client keeps per-worker counters; with PROMETHEUS_MULTIPROC_DIR
they go to files in a shared folder and /metrics sums them, so a scrape is
right whichever worker answers it.
"""

import os
import shutil
from pathlib import Path

_base = Path(__file__).resolve().parent.parent
_var = (_base / os.environ.get("VAR_DIR", "var")).resolve()
_prometheus_dir = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_var / "prometheus")))

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads, and no thread for a connection that has sent nothing (see config/web_worker.py):
# an idle browser socket cannot hold the worker. Each thread serves one request at a time;
# pages and the staff API run at most WEB_PAGE_CONCURRENCY at once per worker (see
# config/page_pool.py), so the other threads stay free for /healthz and beacons.
worker_class = "config.web_worker.ThreadWorker"
threads = int(os.environ.get("WEB_THREADS", "64"))
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
accesslog = os.environ.get("ACCESS_LOG", "-") or None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    # Files left by a previous run would be summed into this run's counters.
    shutil.rmtree(_prometheus_dir, ignore_errors=True)
    _prometheus_dir.mkdir(parents=True, exist_ok=True)


def post_worker_init(worker):
    # Pages run on a few threads of their own in each worker; /healthz and beacons never wait.
    from django.conf import settings

    from config import page_pool

    page_pool.enable(settings.WEB_PAGE_CONCURRENCY)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
