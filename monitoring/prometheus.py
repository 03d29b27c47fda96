"""Our request, database, task and timer metrics on /metrics, read at scrape time.

Nothing is observed per request for Prometheus: each flush adds to counters per
host (Redis, or MetricTotal rows), and this collector turns them into counters
and histograms. Every process of this host adds to the same counters, so a
scrape answered by any worker is right; each host exports its own, so summing
over the scraped instances gives the whole site.
"""

from __future__ import annotations

import logging

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

from monitoring import storage
from monitoring.live_store import live_store
from monitoring.recorder import REQUEST, TASK, TIMER

log = logging.getLogger(__name__)


def _le_labels() -> list[str]:
    return [f"{le:g}" for le in storage.LE_SECONDS] + ["+Inf"]


def _histogram_buckets(values: dict[str, int]) -> list[tuple[str, int]]:
    running, out = 0, []
    for position, label in enumerate(_le_labels()):
        running += values.get(f"l{position}", 0)
        out.append((label, running))
    return out


class RequestMetricsCollector:
    def collect(self):
        try:
            totals = live_store().read_totals(storage.HOST)
        except Exception:  # /metrics keeps answering with the rest when the store is away
            log.exception("could not read the request metric totals")
            return
        yield from request_families(totals)
        yield from task_families(totals)
        yield from timer_families(totals)


def _by_labels(totals, kind: str, label_of) -> dict[tuple, dict[str, int]]:
    """Sum counters of series of one kind that share the labels `label_of` picks."""
    grouped: dict[tuple, dict[str, int]] = {}
    for (series_kind, name, method, status), values in totals.items():
        if series_kind != kind:
            continue
        target = grouped.setdefault(label_of(name, method, status), {})
        for code, amount in values.items():
            target[code] = target.get(code, 0) + amount
    return grouped


def request_families(totals):
    requests = CounterMetricFamily(
        "perfmon_http_requests",
        "Requests answered, by route template, method and status class.",
        labels=["route", "method", "status_class"],
    )
    for labels, values in sorted(_by_labels(totals, REQUEST, lambda n, m, s: (n, m, s)).items()):
        requests.add_metric(list(labels), values.get("c", 0))
    yield requests

    duration = HistogramMetricFamily(
        "perfmon_http_request_duration_seconds",
        "Time from the first middleware in to the response out, by route and method.",
        labels=["route", "method"],
    )
    db_time = CounterMetricFamily(
        "perfmon_http_request_db_seconds",
        "Time spent in database queries while answering requests.",
        labels=["route", "method"],
    )
    queries = CounterMetricFamily(
        "perfmon_http_request_db_queries",
        "Database queries run while answering requests.",
        labels=["route", "method"],
    )
    for labels, values in sorted(_by_labels(totals, REQUEST, lambda n, m, s: (n, m)).items()):
        duration.add_metric(list(labels), _histogram_buckets(values), values.get("s", 0) / 1e6)
        db_time.add_metric(list(labels), values.get("d", 0) / 1e6)
        queries.add_metric(list(labels), values.get("q", 0))
    yield duration
    yield db_time
    yield queries


def task_families(totals):
    runs = CounterMetricFamily(
        "perfmon_celery_tasks",
        "Celery task runs, by task name and outcome (success or failure).",
        labels=["task", "outcome"],
    )
    duration = HistogramMetricFamily(
        "perfmon_celery_task_duration_seconds",
        "Celery task run time, by task name.",
        labels=["task"],
    )
    for (task,), values in sorted(_by_labels(totals, TASK, lambda n, m, s: (n,)).items()):
        runs.add_metric([task, "success"], values.get("c", 0) - values.get("e", 0))
        runs.add_metric([task, "failure"], values.get("e", 0))
        duration.add_metric([task], _histogram_buckets(values), values.get("s", 0) / 1e6)
    yield runs
    yield duration


def timer_families(totals):
    duration = HistogramMetricFamily(
        "perfmon_code_timer_duration_seconds",
        "Named code paths timed with monitoring.monitor.timer, by name.",
        labels=["timer"],
    )
    errors = CounterMetricFamily(
        "perfmon_code_timer_errors",
        "Timed code paths that raised, by name.",
        labels=["timer"],
    )
    for (name,), values in sorted(_by_labels(totals, TIMER, lambda n, m, s: (n,)).items()):
        duration.add_metric([name], _histogram_buckets(values), values.get("s", 0) / 1e6)
        errors.add_metric([name], values.get("e", 0))
    yield duration
    yield errors
