"""What the dashboards, the API and the overview card show: rollups to plain rows.

Queries only: no request, no HTML, no figures. Every function takes a window
[start, end) and answers with lists of dicts or DataFrames.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pandas as pd
from django.db.models import Avg, Count, Max
from django.db.models.functions import TruncDay, TruncHour, TruncMinute

from lib import sketch
from monitoring import rollup_reads, stats
from monitoring.models import QueryFingerprint, RequestSample, SystemSample
from monitoring.series import QUERY, QUEUE, REQUEST, TASK, TIMER, Series

# Targets drawn on the charts and used for statuses.
TARGET_P95_MS = 2000.0
TARGET_DB_P95_MS = 500.0
TARGET_ERROR_RATE = 1.0
# (warning, critical) thresholds, percent used.
SYSTEM_THRESHOLDS = {"cpu": (80.0, 95.0), "memory": (80.0, 90.0), "disk": (80.0, 90.0)}


def minutes_between(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds() / 60.0, 1.0)


# --- requests ---------------------------------------------------------------------------
def overview(start: datetime, end: datetime) -> dict:
    """All routes over the window: requests, rate, percentiles, errors, DB time."""
    found = rollup_reads.load({REQUEST}, start, end, totals=True)
    total = stats.combine(found.values())
    summary = stats.summarize(total)
    summary["throughput"] = total.count / minutes_between(start, end)
    return summary


def queue_time(start: datetime, end: datetime) -> dict:
    """Time requests waited before a worker took them, where a proxy said (X-Request-Start)."""
    return stats.summarize(stats.combine(rollup_reads.load({QUEUE}, start, end).values()))


def timeline(
    start: datetime,
    end: datetime,
    step: int,
    route: str | None = None,
    method: str | None = None,
) -> pd.DataFrame:
    """One row per step: requests, rate, p50/p95/p99, error rate, DB avg/p95 (ms)."""
    if route is None:
        steps = rollup_reads.load_steps({REQUEST}, start, end, step, totals=True)
    else:
        steps = rollup_reads.load_steps({REQUEST}, start, end, step, name=route, method=method)
    rows = []
    for moment, series in steps.items():
        value = stats.combine(series.values())
        if not value.count:
            continue
        p50, p95, p99 = sketch.percentiles(value.buckets, (0.5, 0.95, 0.99))
        rows.append(
            {
                "time": datetime.fromtimestamp(moment, UTC),
                "requests": value.count,
                "throughput": value.count / (step / 60.0),
                "p50": p50,
                "p95": p95,
                "p99": p99,
                "error_rate": 100.0 * value.errors / value.count,
                "db_avg": value.db_ms / value.count,
                "db_p95": sketch.percentile(value.db_buckets, 0.95),
            }
        )
    columns = ["time", "requests", "throughput", "p50", "p95", "p99", "error_rate"]
    return pd.DataFrame(rows, columns=[*columns, "db_avg", "db_p95"])


def endpoints(start: datetime, end: datetime, route: str | None = None) -> list[dict]:
    """Per route and method: the figures of the endpoints table, busiest first."""
    found = rollup_reads.load({REQUEST}, start, end, name=route, db_histograms=False)
    grouped: dict[tuple[str, str], Series] = defaultdict(Series)
    client_errors: dict[tuple[str, str], int] = defaultdict(int)
    for (_, name, method, status), value in found.items():
        grouped[(name, method)].merge(value)
        if status == "4xx":
            client_errors[(name, method)] += value.count
    rows = []
    for (name, method), value in grouped.items():
        summary = stats.summarize(value)
        summary.update(
            route=name,
            method=method,
            throughput=value.count / minutes_between(start, end),
            **stats.client_errors(client_errors[(name, method)], value.count),
        )
        rows.append(summary)
    return sorted(rows, key=lambda r: (-r["requests"], r["route"], r["method"]))


def route_summary(start, end, route: str, method: str | None = None) -> dict:
    """One route (all its methods unless one is given), summed."""
    found = rollup_reads.load({REQUEST}, start, end, name=route, method=method)
    total = stats.combine(found.values())
    return {**stats.summarize(total), "throughput": total.count / minutes_between(start, end)}


def status_breakdown(start, end, route: str, method: str | None = None) -> list[dict]:
    found = rollup_reads.load({REQUEST}, start, end, name=route, method=method)
    rows = []
    for (_, _, series_method, status), value in sorted(found.items()):
        rows.append({"method": series_method, "status_class": status, **stats.summarize(value)})
    return rows


def route_histogram(start, end, route: str, method: str | None = None) -> pd.DataFrame:
    """Latency distribution of a route: representative value (ms) and count per bucket."""
    found = rollup_reads.load({REQUEST}, start, end, name=route, method=method)
    merged = sketch.merge(v.buckets for v in found.values())
    rows = [
        {"ms": sketch.bucket_value(index), "count": count}
        for index, count in sorted(merged.items())
    ]
    return pd.DataFrame(rows, columns=["ms", "count"])


# --- statements, timers, tasks ----------------------------------------------------------
def statements(start: datetime, end: datetime, limit: int = 25) -> list[dict]:
    """Normalised SQL statements by total time, with calls, average and p95."""
    found = rollup_reads.load({QUERY}, start, end, db_histograms=False)
    ranked = sorted(found.items(), key=lambda item: -item[1].sum_ms)[:limit]
    texts = dict(
        QueryFingerprint.objects.filter(fingerprint__in=[k[1] for k, _ in ranked]).values_list(
            "fingerprint", "statement"
        )
    )
    rows = []
    for (_, fingerprint, _, _), value in ranked:
        rows.append(
            {
                "fingerprint": fingerprint,
                "statement": texts.get(fingerprint, "(statement text not recorded)"),
                "calls": value.count,
                "total_ms": value.sum_ms,
                "avg_ms": value.sum_ms / value.count if value.count else None,
                "p95_ms": sketch.percentile(value.buckets, 0.95),
                "max_ms": value.max_ms,
            }
        )
    return rows


def statement_summary(start, end, fingerprint: str) -> dict | None:
    found = rollup_reads.load({QUERY}, start, end, name=fingerprint)
    value = stats.combine(found.values())
    if not value.count:
        return None
    return {
        "calls": value.count,
        "total_ms": value.sum_ms,
        "avg_ms": value.sum_ms / value.count,
        "p50_ms": sketch.percentile(value.buckets, 0.5),
        "p95_ms": sketch.percentile(value.buckets, 0.95),
        "max_ms": value.max_ms,
    }


def statement_timeline(time_range, fingerprint: str) -> pd.DataFrame:
    """Calls and time per chart step of one statement."""
    step = time_range.step_seconds
    steps = rollup_reads.load_steps(
        {QUERY}, time_range.start, time_range.end, step, name=fingerprint
    )
    rows = []
    for moment, series in steps.items():
        value = stats.combine(series.values())
        if value.count:
            rows.append(
                {
                    "time": datetime.fromtimestamp(moment, UTC),
                    "calls": value.count,
                    "total_ms": value.sum_ms,
                    "p95": sketch.percentile(value.buckets, 0.95),
                }
            )
    return pd.DataFrame(rows, columns=["time", "calls", "total_ms", "p95"])


def code_paths(start: datetime, end: datetime) -> list[dict]:
    """Custom timers and Celery tasks: runs, failures, average, p95, max."""
    found = rollup_reads.load({TIMER, TASK}, start, end, db_histograms=False)
    rows = []
    for (kind, name, _, _), value in found.items():
        summary = stats.summarize(value)
        rows.append(
            {
                "kind": "Celery task" if kind == TASK else "timer",
                "name": name,
                "runs": value.count,
                "failures": value.errors,
                "failure_rate": summary["error_rate"],
                "avg_ms": summary["avg_ms"],
                "p95_ms": summary["p95_ms"],
                "max_ms": summary["max_ms"],
            }
        )
    return sorted(rows, key=lambda r: (-r["runs"], r["name"]))


# --- samples and N+1 ----------------------------------------------------------------------
def samples(start, end, route: str, method: str | None = None, limit: int = 50):
    found = RequestSample.objects.filter(route=route, time__gte=start, time__lt=end)
    if method:
        found = found.filter(method=method)
    return list(found.order_by("-time")[:limit])


def n_plus_one_findings(start, end, route: str, method: str | None = None) -> list[dict]:
    """Statements repeated in one request, grouped over the window's samples."""
    findings: dict[str, dict] = {}
    found = RequestSample.objects.filter(
        route=route, n_plus_one=True, time__gte=start, time__lt=end
    )
    if method:
        found = found.filter(method=method)
    for sample in found.order_by("time").iterator():
        for repeated in sample.repeated:
            entry = findings.setdefault(
                repeated["fingerprint"],
                {"fingerprint": repeated["fingerprint"], "sql": repeated["sql"], "requests": 0},
            )
            entry["requests"] += 1
            entry["max_repeats"] = max(entry.get("max_repeats", 0), repeated["count"])
            entry["last_seen"] = sample.time
    return sorted(findings.values(), key=lambda f: -f["requests"])


# --- system -------------------------------------------------------------------------------
def level(value: float | None, kind: str) -> str:
    if value is None:
        return "nodata"
    warning, critical = SYSTEM_THRESHOLDS[kind]
    return "critical" if value >= critical else "warning" if value >= warning else "good"


def latest_per_host(end: datetime | None = None, host: str | None = None) -> list[SystemSample]:
    """Each host's newest sample (at or before `end`)."""
    found = SystemSample.objects.all()
    if end is not None:
        found = found.filter(time__lte=end)
    if host:
        found = found.filter(host=host)
    newest = found.values("host").annotate(newest=Max("time"))
    latest = []
    for entry in newest.order_by("host"):
        sample = found.filter(host=entry["host"], time=entry["newest"]).first()
        if sample is not None:
            latest.append(sample)
    return latest


def system_timeline(start, end, step: int, host: str | None = None) -> pd.DataFrame:
    """Per host and step: CPU, memory, fullest disk (%), network in/out (bytes/s)."""
    trunc = TruncMinute if step < 3600 else TruncHour if step < 86400 else TruncDay
    found = SystemSample.objects.filter(time__gte=start, time__lt=end)
    if host:
        found = found.filter(host=host)
    rows = (
        found.annotate(bucket=trunc("time", tzinfo=UTC))
        .values("bucket", "host")
        .annotate(
            cpu=Avg("cpu_percent"),
            memory=Avg("memory_percent"),
            disk=Max("disk_percent"),
            net_in=Avg("net_in_bps"),
            net_out=Avg("net_out_bps"),
            samples=Count("id"),
        )
        .order_by("bucket")
    )
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return pd.DataFrame(columns=["time", "host", "cpu", "memory", "disk", "net_in", "net_out"])
    frame["time"] = pd.to_datetime(frame["bucket"], utc=True).dt.floor(f"{step}s")
    values = ["cpu", "memory", "disk", "net_in", "net_out"]
    frame[values] = frame[values].astype(float)
    grouped = frame.groupby(["time", "host"], as_index=False)
    return grouped.agg(
        cpu=("cpu", "mean"),
        memory=("memory", "mean"),
        disk=("disk", "max"),
        net_in=("net_in", "mean"),
        net_out=("net_out", "mean"),
    )


def system_summary(start, end) -> dict:
    """Worst average CPU and memory of any host over the window, and their statuses."""
    per_host = (
        SystemSample.objects.filter(time__gte=start, time__lt=end)
        .values("host")
        .annotate(cpu=Avg("cpu_percent"), memory=Avg("memory_percent"), disk=Max("disk_percent"))
    )
    if not per_host:
        return {}
    worst = {
        kind: max((row[kind] for row in per_host if row[kind] is not None), default=None)
        for kind in ("cpu", "memory", "disk")
    }
    return {**worst, **{f"{kind}_status": level(worst[kind], kind) for kind in worst}}
