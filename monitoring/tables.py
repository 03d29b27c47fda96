"""The tables of the Performance, route and System pages (sortable, CSV export)."""

from __future__ import annotations

from config.tables import Column, Table
from monitoring import queries
from monitoring.formats import (
    bytes_per_second,
    count,
    decimal,
    megabytes,
    ms,
    pct,
    timestamp,
)


def endpoints_table(rows: list[dict]) -> Table:
    return Table(
        "endpoints",
        "Endpoints",
        [
            Column("route", "Route", link="url"),
            Column("method", "Method"),
            Column("requests", "Requests", format=count, numeric=True),
            Column("avg_ms", "Avg", format=ms, numeric=True),
            Column("p95_ms", "p95", format=ms, numeric=True, css="p95_css"),
            Column("p99_ms", "p99", format=ms, numeric=True),
            Column("error_rate", "5xx rate", format=pct, numeric=True, css="error_css"),
            Column("client_error_rate", "4xx rate", format=pct, numeric=True),
            Column("db_share", "DB share", format=pct, numeric=True),
            Column("max_ms", "Max", format=ms, numeric=True),
            Column("n_plus_one_flag", "N+1", css="n_plus_one_css"),
        ],
        rows=[{**r, "n_plus_one_css": "warning" if r["n_plus_one"] else ""} for r in rows],
        empty="No requests recorded in this range.",
    )


def statements_table(rows: list[dict]) -> Table:
    return Table(
        "statements",
        "SQL statements by total time",
        [
            Column("statement", "Statement", format=lambda s: s[:160], link="url"),
            Column("calls", "Calls", format=count, numeric=True),
            Column("total_ms", "Total time", format=ms, numeric=True),
            Column("avg_ms", "Avg", format=ms, numeric=True),
            Column("p95_ms", "p95", format=ms, numeric=True),
            Column("max_ms", "Max", format=ms, numeric=True),
        ],
        rows=rows,
        empty="No SQL recorded in this range.",
    )


def code_paths_table(rows: list[dict]) -> Table:
    return Table(
        "code_paths",
        "Celery tasks and timed code paths",
        [
            Column("kind", "Kind"),
            Column("name", "Name"),
            Column("runs", "Runs", format=count, numeric=True),
            Column("failures", "Failures", format=count, numeric=True),
            Column("failure_rate", "Failure rate", format=pct, numeric=True),
            Column("avg_ms", "Avg", format=ms, numeric=True),
            Column("p95_ms", "p95", format=ms, numeric=True),
            Column("max_ms", "Max", format=ms, numeric=True),
        ],
        rows=rows,
        empty="No Celery tasks or timers recorded in this range.",
    )


def breakdown_table(rows: list[dict]) -> Table:
    return Table(
        "status",
        "By method and status class",
        [
            Column("method", "Method"),
            Column("status_class", "Status"),
            Column("requests", "Requests", format=count, numeric=True),
            Column("avg_ms", "Avg", format=ms, numeric=True),
            Column("p95_ms", "p95", format=ms, numeric=True),
            Column("max_ms", "Max", format=ms, numeric=True),
        ],
        rows=rows,
    )


def samples_table(samples) -> Table:
    rows = [
        {
            "time": s.time,
            "method": s.method,
            "status": s.status,
            "duration_ms": s.duration_ms,
            "db_ms": s.db_ms,
            "queries": s.query_count,
            "why": ", ".join(w for w, on in (("slow", s.slow), ("N+1", s.n_plus_one)) if on),
            "host": s.host,
            "anchor": f"#sample-{s.sample_id}",
        }
        for s in samples
    ]
    return Table(
        "samples",
        "Slow and N+1 request samples",
        [
            Column("time", "Time", format=timestamp, link="anchor"),
            Column("method", "Method"),
            Column("status", "Status", numeric=True),
            Column("duration_ms", "Duration", format=ms, numeric=True),
            Column("db_ms", "DB time", format=ms, numeric=True),
            Column("queries", "Queries", format=count, numeric=True),
            Column("why", "Kept because"),
            Column("host", "Host"),
        ],
        rows=rows,
        empty="No slow or N+1 requests sampled in this range.",
    )


def findings_table(findings: list[dict]) -> Table:
    return Table(
        "n_plus_one",
        "N+1 findings",
        [
            Column("sql", "Repeated statement"),
            Column("requests", "Sampled requests", format=count, numeric=True),
            Column("max_repeats", "Most repeats in one request", format=count, numeric=True),
            Column("last_seen", "Last seen"),
        ],
        rows=findings,
        empty="No N+1 pattern sampled in this range.",
    )


def hosts_table(latest) -> Table:
    rows = [
        {
            "host": s.host,
            "time": s.time,
            "cpu": s.cpu_percent,
            "load": s.load_1,
            "memory": s.memory_percent,
            "swap": s.swap_percent,
            "disks": ", ".join(f"{m} {p:.0f} %" for m, p in sorted(s.disks.items())),
            "net_in": s.net_in_bps,
            "net_out": s.net_out_bps,
            "rss": s.process_rss,
            "open_files": s.process_open_files,
            "db_connections": s.db_connections,
            "cpu_css": queries.level(s.cpu_percent, "cpu"),
            "memory_css": queries.level(s.memory_percent, "memory"),
        }
        for s in latest
    ]
    return Table(
        "hosts",
        "Latest sample per host",
        [
            Column("host", "Host"),
            Column("time", "Sampled", format=timestamp),
            Column("cpu", "CPU", format=pct, numeric=True, css="cpu_css"),
            Column("load", "Load 1 min", format=decimal, numeric=True),
            Column("memory", "Memory", format=pct, numeric=True, css="memory_css"),
            Column("swap", "Swap", format=pct, numeric=True),
            Column("disks", "Disks"),
            Column("net_in", "Net in", format=bytes_per_second, numeric=True),
            Column("net_out", "Net out", format=bytes_per_second, numeric=True),
            Column("rss", "Sampler RSS", format=megabytes, numeric=True),
            Column("open_files", "Open files", numeric=True),
            Column("db_connections", "DB connections", numeric=True),
        ],
        rows=rows,
        empty="No system samples yet: is the worker running?",
    )
