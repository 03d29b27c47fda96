"""Performance, route, statement and System pages, and the overview card. Thin views:
queries in monitoring.queries, figures in monitoring.charts, formats in monitoring.formats.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from config import dashboards
from monitoring import charts, explain, queries
from monitoring.formats import (
    count,
    decimal,
    ms,
    pct,
    rate,
    timestamp,
    worst,
)
from monitoring.live_store import live_store
from monitoring.models import QueryFingerprint
from monitoring.tables import (
    breakdown_table,
    code_paths_table,
    endpoints_table,
    findings_table,
    hosts_table,
    samples_table,
    statements_table,
)

PERMISSION = "monitoring.view_dashboard"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def page_url(slug: str, time_range=None, **params) -> str:
    query = dict(time_range.params()) if time_range else {}
    query.update({k: v for k, v in params.items() if v})
    return f"{reverse('admin:dashboard', args=[slug])}?{urlencode(query)}"


def bad_request(ctx, message: str):
    return ctx.render("monitoring/bad_request.html", {"error": message}, status=400)


LIVE_MISSING = (
    "Redis is not answering: the figures of the last minutes kept there are missing "
    "until it is back (requests are recorded in the database meanwhile)."
)


@dashboards.banner
def live_missing_banner(request):
    if not request.user.has_perm(PERMISSION) or not live_store().live_missing():
        return []
    return [dashboards.Banner("warning", LIVE_MISSING)]


# --- Performance ----------------------------------------------------------------------
@dashboards.page("performance", "Performance", permission=PERMISSION, order=10)
def performance(request, ctx):
    tr = ctx.time_range
    summary = queries.overview(tr.start, tr.end)
    frame = queries.timeline(tr.start, tr.end, tr.step_seconds)
    rows = queries.endpoints(tr.start, tr.end)
    for row in rows:
        row["url"] = page_url("performance-route", tr, route=row["route"], method=row["method"])
        row["n_plus_one_flag"] = "N+1" if row["n_plus_one"] else ""
        row["p95_css"] = latency_css(row["p95_ms"])
        row["error_css"] = error_css(row["error_rate"])
    statements = queries.statements(tr.start, tr.end)
    for row in statements:
        row["url"] = page_url("performance-query", tr, fingerprint=row["fingerprint"])
    tables = [
        endpoints_table(rows),
        statements_table(statements),
        code_paths_table(queries.code_paths(tr.start, tr.end)),
    ]
    figures = [
        charts.latency(frame, queries.TARGET_P95_MS),
        charts.throughput(frame),
        charts.error_rate(frame, queries.TARGET_ERROR_RATE),
        charts.db_time(frame, queries.TARGET_DB_P95_MS),
    ]
    cards = [*summary_cards(summary), queue_card(queries.queue_time(tr.start, tr.end))]
    context = {"cards": cards, "figures": figures}
    return ctx.render("monitoring/performance.html", context, tables=tables)


QUEUE_NOTE = (
    "Latency is timed from when a worker takes a request: the time it waited before (in "
    "the listen queue, behind busy workers) is included only when a proxy in front sends "
    "X-Request-Start."
)


def queue_card(queue: dict) -> dashboards.Card:
    """Whether the latency figures include the queue time, and how long requests waited."""
    if not queue["requests"]:
        return dashboards.Card(
            "Queue time", note=f"{QUEUE_NOTE} None received in this range: not included."
        )
    return dashboards.Card(
        "Queue time",
        latency_status(queue["p95_ms"]),
        [
            ("p50", ms(queue["p50_ms"])),
            ("p95", ms(queue["p95_ms"])),
            ("max", ms(queue["max_ms"])),
            ("requests", count(queue["requests"])),
        ],
        note=f"{QUEUE_NOTE} Included in the latency above.",
    )


def latency_css(value) -> str:
    if value is None:
        return ""
    return "critical" if value > queries.TARGET_P95_MS else ""


def error_css(value) -> str:
    if value is None:
        return ""
    return "critical" if value > queries.TARGET_ERROR_RATE else ""


def latency_status(p95) -> str:
    if p95 is None:
        return "nodata"
    target = queries.TARGET_P95_MS
    return "critical" if p95 > target else "warning" if p95 > target / 2 else "good"


def error_status(rate_value) -> str:
    if rate_value is None:
        return "nodata"
    target = queries.TARGET_ERROR_RATE
    return "critical" if rate_value > target else "warning" if rate_value > target / 2 else "good"


def db_status(p95) -> str:
    if p95 is None:
        return "nodata"
    target = queries.TARGET_DB_P95_MS
    return "critical" if p95 > target else "warning" if p95 > target / 2 else "good"


def summary_cards(summary: dict) -> list[dashboards.Card]:
    if not summary["requests"]:
        return [dashboards.Card("Requests", note="No requests recorded in this range.")]
    return [
        dashboards.Card(
            "Traffic",
            "good",
            [("Requests", count(summary["requests"])), ("Throughput", rate(summary["throughput"]))],
        ),
        dashboards.Card(
            "Latency",
            latency_status(summary["p95_ms"]),
            [
                ("p50", ms(summary["p50_ms"])),
                ("p95", ms(summary["p95_ms"])),
                ("p99", ms(summary["p99_ms"])),
                ("max", ms(summary["max_ms"])),
            ],
            note=f"Target: p95 under {ms(queries.TARGET_P95_MS)}.",
        ),
        dashboards.Card(
            "Errors",
            error_status(summary["error_rate"]),
            [("5xx rate", pct(summary["error_rate"])), ("5xx", count(summary["errors"]))],
            note=f"Target: under {pct(queries.TARGET_ERROR_RATE)}.",
        ),
        dashboards.Card(
            "Database",
            db_status(summary["db_p95_ms"]),
            [
                ("avg per request", ms(summary["db_avg_ms"])),
                ("p95 per request", ms(summary["db_p95_ms"])),
                ("share of time", pct(summary["db_share"])),
                ("queries/request", f"{summary['queries_per_request']:.1f}"),
            ],
            note=f"Target: p95 under {ms(queries.TARGET_DB_P95_MS)}.",
        ),
    ]


# --- One route ------------------------------------------------------------------------
@dashboards.page("performance-route", "Route", permission=PERMISSION, nav=False)
def performance_route(request, ctx):
    tr = ctx.time_range
    route = request.GET.get("route", "").strip()
    method = request.GET.get("method", "").strip().upper() or None
    if not route:
        return bad_request(ctx, "Which route? Add ?route=<route template>, e.g. /api/orders/.")
    if method and method not in METHODS:
        return bad_request(ctx, f"Unknown method {method!r}; use one of {', '.join(METHODS)}.")
    summary = queries.route_summary(tr.start, tr.end, route, method)
    frame = queries.timeline(tr.start, tr.end, tr.step_seconds, route=route, method=method)
    samples = queries.samples(tr.start, tr.end, route, method)
    findings = queries.n_plus_one_findings(tr.start, tr.end, route, method)
    tables = [
        breakdown_table(queries.status_breakdown(tr.start, tr.end, route, method)),
        samples_table(samples),
        findings_table(findings),
    ]
    context = {
        "title": f"{method or 'All methods'} {route}",
        "crumbs": [("Performance", page_url("performance", tr))],
        "route": route,
        "method": method,
        "filters_html": method_filter(method),
        "cards": route_cards(summary),
        "figures": [
            charts.latency_histogram(queries.route_histogram(tr.start, tr.end, route, method)),
            charts.latency(frame, queries.TARGET_P95_MS),
            charts.throughput(frame),
            charts.db_time(frame, queries.TARGET_DB_P95_MS),
        ],
        "samples": samples,
        "findings": findings,
    }
    return ctx.render("monitoring/route.html", context, tables=tables)


def method_filter(selected: str | None):
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        [(m, " selected" if m == selected else "", m) for m in METHODS],
    )
    return format_html(
        '<label>Method <select name="method"><option value="">All</option>{}</select></label>',
        options,
    )


def route_cards(summary: dict) -> list[dashboards.Card]:
    if not summary["requests"]:
        return [dashboards.Card("Requests", note="No requests to this route in this range.")]
    cards = summary_cards(summary)
    cards.append(
        dashboards.Card(
            "N+1 queries",
            "warning" if summary["n_plus_one"] else "good",
            [("requests flagged", count(summary["n_plus_one"]))],
            note="The same SQL statement run repeatedly in one request.",
        )
    )
    return cards


# --- One SQL statement ------------------------------------------------------------------
@dashboards.page("performance-query", "SQL statement", permission=PERMISSION, nav=False)
def performance_query(request, ctx):
    tr = ctx.time_range
    fingerprint = request.GET.get("fingerprint", "").strip()
    statement = QueryFingerprint.objects.filter(fingerprint=fingerprint).first()
    if statement is None:
        return bad_request(ctx, "Unknown statement: follow a link from the Performance page.")
    plan, plan_error = None, None
    if request.method == "POST":
        try:
            plan = explain.explain(statement.statement)
        except explain.ExplainError as exc:
            plan_error = str(exc)
    context = {
        "title": "SQL statement",
        "crumbs": [("Performance", page_url("performance", tr))],
        "statement": statement,
        "explainable": explain.can_explain(statement.statement),
        "plan": plan,
        "plan_error": plan_error,
        "cards": statement_cards(queries.statement_summary(tr.start, tr.end, fingerprint)),
        "figures": [charts.statement_time(queries.statement_timeline(tr, fingerprint))],
    }
    return ctx.render("monitoring/query.html", context)


def statement_cards(summary: dict | None) -> list[dashboards.Card]:
    if summary is None:
        return [dashboards.Card("In this range", note="This statement did not run in this range.")]
    return [
        dashboards.Card(
            "In this range",
            "good",
            [
                ("Calls", count(summary["calls"])),
                ("Total time", ms(summary["total_ms"])),
                ("Avg", ms(summary["avg_ms"])),
                ("p95", ms(summary["p95_ms"])),
                ("Max", ms(summary["max_ms"])),
            ],
        )
    ]


# --- System ---------------------------------------------------------------------------
@dashboards.page("system", "System", permission=PERMISSION, order=11)
def system(request, ctx):
    tr = ctx.time_range
    host = request.GET.get("host", "").strip() or None
    latest = queries.latest_per_host(tr.end, host)
    frame = queries.system_timeline(tr.start, tr.end, tr.step_seconds, host)
    limits = {
        kind: ((warning, f"warning {warning:g} %"), (critical, f"critical {critical:g} %"))
        for kind, (warning, critical) in queries.SYSTEM_THRESHOLDS.items()
    }
    context = {
        "cards": [host_card(s) for s in latest],
        "filters_html": host_filter(host),
        "figures": [
            charts.per_host(frame, "cpu", "CPU", "%", limits["cpu"]),
            charts.per_host(frame, "memory", "Memory", "%", limits["memory"]),
            charts.per_host(frame, "disk", "Disk (fullest filesystem)", "%", limits["disk"]),
            charts.network(frame),
        ],
    }
    return ctx.render("monitoring/system.html", context, tables=[hosts_table(latest)])


def host_filter(selected: str | None):
    hosts = queries.latest_per_host()
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        [(s.host, " selected" if s.host == selected else "", s.host) for s in hosts],
    )
    return format_html(
        '<label>Host <select name="host"><option value="">All</option>{}</select></label>', options
    )


def host_card(sample) -> dashboards.Card:
    statuses = {
        "cpu": queries.level(sample.cpu_percent, "cpu"),
        "memory": queries.level(sample.memory_percent, "memory"),
        "disk": queries.level(sample.disk_percent, "disk"),
    }
    fullest = max(sample.disks.items(), key=lambda item: item[1], default=None)
    return dashboards.Card(
        sample.host,
        worst(statuses.values()),
        [
            ("CPU", pct(sample.cpu_percent)),
            ("Memory", pct(sample.memory_percent)),
            (f"Disk ({fullest[0]})" if fullest else "Disk", pct(sample.disk_percent)),
            ("Load (1 min)", decimal(sample.load_1)),
        ],
        note=f"Sampled {timestamp(sample.time)}.",
    )


# --- The overview card ------------------------------------------------------------------
@dashboards.card("monitoring", "Performance", permission="core.view_overview", order=10)
def overview_card(request, time_range):
    summary = queries.overview(time_range.start, time_range.end)
    system_summary = queries.system_summary(time_range.start, time_range.end)
    if not summary["requests"] and not system_summary:
        return None
    statuses = []
    metrics = []
    if summary["requests"]:
        statuses += [latency_status(summary["p95_ms"]), error_status(summary["error_rate"])]
        metrics += [
            ("p95", ms(summary["p95_ms"])),
            ("5xx rate", pct(summary["error_rate"])),
            ("Throughput", rate(summary["throughput"])),
        ]
    if system_summary:
        statuses += [system_summary["cpu_status"], system_summary["memory_status"]]
        metrics += [
            ("CPU", f"{pct(system_summary['cpu'])} ({system_summary['cpu_status']})"),
            ("Memory", f"{pct(system_summary['memory'])} ({system_summary['memory_status']})"),
        ]
    return dashboards.Card(
        "Performance",
        worst(statuses),
        metrics,
        link=page_url("performance", time_range),
        note="" if summary["requests"] else "No requests recorded in this range.",
    )
